"""A private pair cites its shared cells on the hotline by their ``PX-`` reference, which
only its agents can check; a native pair cannot use one."""

from __future__ import annotations

import pytest
from hotlinehelpers import T0, make_service

from deconfliction.errors import InvalidInput
from deconfliction.service.admin import AdminService
from deconfliction.service.clock import ManualClock


def test_a_private_pair_cites_a_shared_cell_on_the_hotline(store):
    hotline = make_service(store)
    fields = {"conflict": "PX-1A2B3C4D5E", "action": "HOLD"}
    with pytest.raises(InvalidInput, match="not private"):
        hotline.send("RED", "BLUE", "ROUTINE", "REQUEST-DECONFLICT", fields)
    AdminService(store, ManualClock(T0)).set_policy("RED", "BLUE", mode="private")
    sent = hotline.send("RED", "BLUE", "ROUTINE", "REQUEST-DECONFLICT", fields)
    assert sent.fields["conflict"] == "PX-1A2B3C4D5E"
    for bad in ("PX-1A2B", "PX-1a2b3c4d5e", "PX-1A2B3C4D5E0"):
        with pytest.raises(InvalidInput, match="expected a reference like"):
            hotline.send("RED", "BLUE", "ROUTINE", "REQUEST-DECONFLICT", {**fields, "conflict": bad})
