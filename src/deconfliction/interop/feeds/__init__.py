"""Track feeds: CSV snapshots and replays, SBS-1 (BaseStation) text, recorded ADS-B samples.

Each feed converts at the edge (feet, knots, ft/min, RFC 3339 times) into SI track
reports; validation with reasons happens in :mod:`deconfliction.engine.tactical.ingest`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from deconfliction.errors import InvalidInput


def party_by_address(parties: Sequence[str]) -> Callable[[str], str]:
    """Each aircraft's party from its 24-bit ICAO address (hex): address modulo the number
    of parties, so the assignment is fixed and spread evenly."""
    names = tuple(parties)
    if not names:
        raise InvalidInput("parties", "at least one party is needed")

    def party_of(address: str) -> str:
        try:
            return names[int(address, 16) % len(names)]
        except ValueError:
            return names[sum(address.encode()) % len(names)]

    return party_of
