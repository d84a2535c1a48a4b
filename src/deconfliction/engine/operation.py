"""Operations: one party's planned activity, made of Volume4Ds, with a version and a state."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from deconfliction.errors import InvalidInput, InvalidTransition
from deconfliction.geo.volume import Volume4D

#: Most volumes one operation may hold.
MAX_VOLUMES: Final = 64
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


class OperationState(StrEnum):
    """Lifecycle: proposed -> accepted -> activated -> ended, or cancelled before it ends."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    ACTIVATED = "activated"
    ENDED = "ended"
    CANCELLED = "cancelled"


#: Allowed state changes.
TRANSITIONS: Final[dict[OperationState, frozenset[OperationState]]] = {
    OperationState.PROPOSED: frozenset({OperationState.ACCEPTED, OperationState.CANCELLED}),
    OperationState.ACCEPTED: frozenset({OperationState.ACTIVATED, OperationState.CANCELLED}),
    OperationState.ACTIVATED: frozenset({OperationState.ENDED, OperationState.CANCELLED}),
    OperationState.ENDED: frozenset(),
    OperationState.CANCELLED: frozenset(),
}

#: States whose volumes still claim airspace and so take part in conflict detection.
LIVE_STATES: Final = frozenset({OperationState.PROPOSED, OperationState.ACCEPTED, OperationState.ACTIVATED})


def check_identifier(value: str, field: str) -> str:
    """An id of letters, digits and ``._:-``, 1 to 128 characters, starting alphanumeric."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidInput(field, f"{value!r} is not a valid id (letters, digits, . _ : -; at most 128)")
    return value


def check_transition(current: OperationState, target: OperationState) -> None:
    """Raise :class:`InvalidTransition` unless ``current`` may become ``target``."""
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final state)"
        raise InvalidTransition(f"cannot go from {current} to {target}; allowed: {allowed}")


@dataclass(frozen=True, slots=True)
class Operation:
    """A party's operation. ``version`` starts at 1 and every change bumps it."""

    party: str
    id: str
    volumes: tuple[Volume4D, ...]
    state: OperationState = OperationState.PROPOSED
    version: int = 1
    priority: int = 0
    affiliation: str | None = None

    def __post_init__(self) -> None:
        check_identifier(self.party, "party")
        check_identifier(self.id, "id")
        volumes = tuple(self.volumes)
        if not volumes:
            raise InvalidInput("volumes", "an operation needs at least one volume")
        if len(volumes) > MAX_VOLUMES:
            raise InvalidInput("volumes", f"{len(volumes)} volumes; the limit is {MAX_VOLUMES}")
        for i, volume in enumerate(volumes):
            if not isinstance(volume, Volume4D):
                raise InvalidInput(f"volumes[{i}]", f"expected a Volume4D, got {type(volume).__name__}")
        object.__setattr__(self, "volumes", volumes)
        if not isinstance(self.state, OperationState):
            raise InvalidInput("state", f"unknown state {self.state!r}")
        if (
            isinstance(self.priority, bool)
            or not isinstance(self.priority, int)
            or not 0 <= self.priority <= 100
        ):
            raise InvalidInput("priority", f"must be an integer 0 .. 100, got {self.priority!r}")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise InvalidInput("version", f"must be an integer >= 1, got {self.version!r}")

    @property
    def key(self) -> tuple[str, str]:
        """(party, id): operation ids are unique within a party."""
        return (self.party, self.id)

    @property
    def live(self) -> bool:
        """Whether the operation still claims airspace."""
        return self.state in LIVE_STATES
