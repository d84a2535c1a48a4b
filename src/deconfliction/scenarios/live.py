"""The demo's live phase: real recorded ADS-B flights over the scenario's active operations.

A recording from ``traffic.data.samples`` (``quickstart``: approach and departure traffic
around Paris) is moved rigidly — :class:`~deconfliction.interop.feeds.recorded.Relocation`,
relative geometry kept — so that its centre lies on Deir ez-Zor airport, and in time so
that the replayed stretch starts at the quarter hour of the scenario day when the most
operations near there are under way. Those operations under way during the live window
are activated through the service (proposed → accepted → activated), as the parties would
on the day; the volumes of the activated operations are what the replay tests intrusion
against. Each aircraft belongs to one of the scenario's parties, chosen by its 24-bit
address, and tracks of different parties are separated by the store's pair minima.
Nothing is invented: every position, speed, track and climb rate is a recorded one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from deconfliction.engine.operation import Operation, OperationState
from deconfliction.engine.tactical import ActiveVolume, CycleResult, ReportBatch, TacticalConfig
from deconfliction.engine.tactical.replay import replay
from deconfliction.errors import InvalidInput
from deconfliction.geo.frame import great_circle_m
from deconfliction.interop.feeds import party_by_address
from deconfliction.interop.feeds.recorded import Recording, Relocation, recorded_batches, relocated
from deconfliction.scenarios.euphrates import PLACES, Scenario
from deconfliction.service.operations import OperationService

#: Where the recording's centre is put.
LIVE_CENTRE: Final = PLACES["Deir ez-Zor airport"]
#: Operations whose footprint centre lies this close to :data:`LIVE_CENTRE` count when the
#: live time is chosen.
NEAR_M: Final = 120_000.0
#: The replayed stretch begins this far into the recording (traffic has built up by then),
#: or earlier when the recording is too short for the requested minutes.
RECORDING_OFFSET_S: Final = 3600.0
#: Candidate live start times are this far apart.
SLOT_S: Final = 900.0
#: Seconds between replay cycles.
STEP_S: Final = 5.0


def under_way(operations: Sequence[Operation], start_s: float, end_s: float) -> list[Operation]:
    """Operations with a volume whose time window meets ``[start_s, end_s]`` (UTC epoch s)."""
    return [
        op
        for op in operations
        if any(v.window.start_s <= end_s and v.window.end_s >= start_s for v in op.volumes)
    ]


def choose_start(
    operations: Sequence[Operation],
    day_start: datetime,
    minutes: float,
    centre: tuple[float, float] = LIVE_CENTRE,
    radius_m: float = NEAR_M,
) -> datetime:
    """The quarter hour of the day from ``day_start`` at which the most operations near
    ``centre`` are under way during the next ``minutes`` (the earliest such slot)."""
    near = [
        op
        for op in operations
        if any(great_circle_m(*v.footprint.center, *centre) <= radius_m for v in op.volumes)
    ]
    first = day_start.timestamp()
    last = first + 86_400.0 - 60.0 * minutes
    best, best_count = first, -1
    slot = first
    while slot <= last:
        count = len(under_way(near, slot, slot + 60.0 * minutes))
        if count > best_count:
            best, best_count = slot, count
        slot += SLOT_S
    return day_start + timedelta(seconds=best - first)


def activate(service: OperationService, operations: Sequence[Operation]) -> list[Operation]:
    """Move each operation through proposed → accepted → activated with the service (each
    step one transaction with the current version); returns them as stored."""
    done: list[Operation] = []
    for op in operations:
        current = service.get(op.party, op.id)
        if current.state is OperationState.PROPOSED:
            current = service.transition(op.party, op.id, OperationState.ACCEPTED, current.version).operation
        if current.state is OperationState.ACCEPTED:
            current = service.transition(op.party, op.id, OperationState.ACTIVATED, current.version).operation
        done.append(current)
    return done


def operation_ref(op: Operation) -> str:
    """How an alert cites an operation: its id and version (a new version is a new reference)."""
    return f"{op.id} v{op.version}"


def active_volumes(operations: Sequence[Operation]) -> list[ActiveVolume]:
    """The volumes of activated operations, for intrusion tests."""
    return [
        ActiveVolume(operation_ref(op), op.party, volume)
        for op in operations
        if op.state is OperationState.ACTIVATED
        for volume in op.volumes
    ]


@dataclass(frozen=True, slots=True)
class LivePhase:
    """What the live phase replays, where and when, against which volumes."""

    recording: Recording
    relocation: Relocation
    segment_start_s: float  # recording time the replay begins at
    segment_end_s: float
    start: datetime  # scenario time the replay begins at
    activated: tuple[Operation, ...]
    volumes: tuple[ActiveVolume, ...]
    config: TacticalConfig
    party_of: Callable[[str], str]
    step_s: float = STEP_S

    @property
    def minutes(self) -> float:
        return (self.segment_end_s - self.segment_start_s) / 60.0

    def batches(self) -> Iterator[tuple[float, ReportBatch]]:
        """The recording's timed batches over the stretch, moved into the scenario."""
        recorded = recorded_batches(
            self.recording,
            self.party_of,
            step_s=self.step_s,
            start_s=self.segment_start_s,
            end_s=self.segment_end_s,
        )
        return relocated(recorded, self.relocation)

    def run(self) -> Iterator[CycleResult]:
        """Replay: one cycle per batch, alerts in each result."""
        return replay(self.batches(), volumes=self.volumes, config=self.config)


def prepare(
    service: OperationService,
    scenario: Scenario,
    recording: Recording,
    minutes: float,
    step_s: float = STEP_S,
) -> LivePhase:
    """Choose the live window, activate what is under way in it, and set up the replay."""
    if not minutes > 0:
        raise InvalidInput("live_minutes", f"must be positive, got {minutes!r}")
    if len(recording) == 0:
        raise InvalidInput("recording", f"the recording {recording.name!r} is empty")
    length_s = recording.end_s - recording.start_s
    wanted_s = 60.0 * minutes
    segment_start = recording.start_s + max(0.0, min(RECORDING_OFFSET_S, length_s - wanted_s))
    segment_end = min(segment_start + wanted_s, recording.end_s)
    start = choose_start(scenario.operations, scenario.start, (segment_end - segment_start) / 60.0)
    start_s = start.timestamp()
    window_end_s = start_s + (segment_end - segment_start)
    activated = activate(service, under_way(service.operations(), start_s, window_end_s))
    relocation = Relocation.centred(
        recording.lat_deg, recording.lon_deg, *LIVE_CENTRE, shift_s=start_s - segment_start
    )
    config = TacticalConfig(pair_minima=service.policy())
    return LivePhase(
        recording=recording,
        relocation=relocation,
        segment_start_s=segment_start,
        segment_end_s=segment_end,
        start=start,
        activated=tuple(activated),
        volumes=tuple(active_volumes(activated)),
        config=config,
        party_of=party_by_address([p.id for p in scenario.parties]),
        step_s=step_s,
    )
