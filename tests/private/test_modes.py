"""Modes side by side: a pair in private mode gets no conflict from the service (its
agents find them), while the other pairs of the same store are decided natively."""

from __future__ import annotations

import pytest

from conftest import MINIMA, circle_op
from deconfliction.errors import InvalidInput
from deconfliction.service.admin import AdminService
from deconfliction.service.clock import SystemClock
from deconfliction.service.operations import OperationService
from deconfliction.store import Party


def test_a_private_pair_is_not_decided_natively_while_others_are(store):
    service = OperationService(store)
    for p in ("red", "blue", "civil"):
        service.add_party(Party(p, p))
    AdminService(store, SystemClock(), service).set_policy("red", "blue", MINIMA, mode="private")
    service.file(circle_op("red", "r1", 0.0, 0.0, 2.0))
    blue = service.file(circle_op("blue", "b1", 0.01, 0.01, 2.0))
    civil = service.file(circle_op("civil", "c1", 0.02, 0.02, 2.0))
    assert blue.conflicts == ()
    assert {c.b.party for c in civil.conflicts} == {"red", "blue"}
    assert {c.b.party for c in service.conflicts("red")} == {"civil"}
    # back to native: the pair is decided again at the next filing
    AdminService(store, SystemClock(), service).set_policy("red", "blue", mode="native")
    again = service.file(circle_op("blue", "b2", 0.0, 0.0, 2.0))
    assert "red" in {c.b.party for c in again.conflicts}


def test_private_mode_needs_a_grid_and_a_sane_budget(store):
    service = OperationService(store)
    for p in ("red", "blue"):
        service.add_party(Party(p, p))
    admin = AdminService(store, SystemClock(), service)
    with pytest.raises(InvalidInput, match="mode: private mode finds conflicts on a disclosure grid"):
        admin.set_policy("red", "blue", mode="private", grid=None)
    with pytest.raises(InvalidInput, match="private_budget"):
        admin.set_policy("red", "blue", mode="private", private_budget=10)
    with pytest.raises(InvalidInput, match="mode: unknown mode"):
        admin.set_policy("red", "blue", mode="secret")
    assert admin.terms("red", "blue").to_dict()["mode"] == "native"
