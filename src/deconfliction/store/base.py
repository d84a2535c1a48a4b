"""The storage interface every backend implements, and the values it stores.

A store keeps parties, operations (with their volumes indexed by H3 cell, altitude
envelope and time), pair minima, and the conflicts found for each operation. It
finds *candidates*; the engine decides what is a conflict. Every write happens in a
:meth:`Store.transaction`, which commits as a whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from deconfliction.engine.minima import Minima
from deconfliction.engine.operation import Operation, OperationState, check_identifier
from deconfliction.engine.strategic import Candidate, StrategicConflict
from deconfliction.errors import InvalidInput
from deconfliction.geo.volume import Volume4D

R = TypeVar("R", bound=Any)


class PartyKind(StrEnum):
    """What sort of organisation a party is."""

    MILITARY = "military"
    CIVIL = "civil"  #: a civil air navigation service provider
    UAS = "uas"  #: a drone operator or its service supplier


@dataclass(frozen=True, slots=True)
class Party:
    """An organisation with its own credentials and duty desk."""

    id: str
    name: str
    kind: PartyKind = PartyKind.MILITARY

    def __post_init__(self) -> None:
        check_identifier(self.id, "party.id")
        if not isinstance(self.name, str) or not self.name.strip() or len(self.name) > 200:
            raise InvalidInput("party.name", "must be 1 to 200 characters")


class Transaction(Protocol):
    """The operations available inside one transaction."""

    def add_party(self, party: Party) -> None:
        """Store a new party; :class:`~deconfliction.errors.AlreadyExists` if the id is taken."""

    def get_party(self, party_id: str) -> Party:
        """The party, or :class:`~deconfliction.errors.NotFound`."""

    def list_parties(self) -> list[Party]:
        """Every party, by id."""

    def set_pair_minima(self, party_a: str, party_b: str, minima: Minima) -> None:
        """Set (or replace) the minima in force between two parties."""

    def pair_minima(self) -> dict[tuple[str, str], Minima]:
        """Every pair's minima, keyed by the ordered pair of party ids."""

    def insert_operation(self, operation: Operation) -> None:
        """Store a new operation and index its volumes; AlreadyExists if (party, id) is taken."""

    def update_operation(self, operation: Operation, expected_version: int) -> None:
        """Replace the stored operation whose current version is ``expected_version`` with
        ``operation`` (whose version must be ``expected_version + 1``), re-indexing its
        volumes. :class:`~deconfliction.errors.StaleVersion` if the stored version differs,
        NotFound if there is no such operation."""

    def get_operation(self, party: str, operation_id: str) -> Operation:
        """The operation, or NotFound."""

    def list_operations(
        self, party: str | None = None, states: frozenset[OperationState] | None = None
    ) -> list[Operation]:
        """Operations, optionally of one party and in some states, by (party, id)."""

    def find_candidates(
        self, volumes: Sequence[Volume4D], reach: Minima, exclude_party: str
    ) -> list[Candidate]:
        """Live operations of other parties with a volume that may be within ``reach`` of
        one of ``volumes``: sharing an H3 cell with the volume's footprint grown by
        ``reach.horizontal_m``, an MSL altitude envelope within ``reach.vertical_m`` and a
        window within ``reach.time_s``. A superset of the true conflicts, by (party, id),
        each with the pairs of volumes that matched."""

    def find_candidates_of_each(
        self, volume_sets: Sequence[Sequence[Volume4D]], reach: Minima, exclude_party: str
    ) -> list[list[Candidate]]:
        """:meth:`find_candidates` of each set of volumes (the operations of one plan,
        say), each stored operation read once however many sets it is a candidate of."""

    def replace_conflicts(
        self, party: str, operation_id: str, conflicts: Sequence[StrategicConflict]
    ) -> None:
        """Drop every stored conflict that involves the operation and store ``conflicts``
        (each has the operation as side ``a``)."""

    def conflicts_of(self, party: str, operation_id: str | None = None) -> list[StrategicConflict]:
        """Stored conflicts involving ``party`` (or one of its operations), each seen by
        ``party`` (its operation as side ``a``), ordered by overlap start."""

    def count_operations(self) -> int:
        """How many operations are stored."""

    def repo(self, kind: type[R]) -> R:
        """A feature repository bound to this transaction (see ``store.sql.SqlRepo``)."""


class Store(Protocol):
    """A storage backend."""

    url: str

    def transaction(self) -> AbstractContextManager[Transaction]:
        """A transaction that commits on normal exit and rolls back on any exception."""

    def close(self) -> None:
        """Release connections."""


def iter_batches(items: Sequence[Operation], size: int) -> Iterator[Sequence[Operation]]:
    """Slices of ``items`` of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
