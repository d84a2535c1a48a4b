"""A party's private-mode agent: runs rounds with one peer through the relay, and turns
the cells the two plans share into conflict notices for its own operations.

The agent's store is the party's own (a SQLite file on its own machine): its operations,
filed there as into any store, and its records (``store.agent``). The relay is reached
through a :class:`RelayLink`, which the command line backs with the HTTP client.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from deconfliction.engine.minima import Minima
from deconfliction.engine.operation import OperationState, check_transition
from deconfliction.errors import AwarenessRequired, NotFound, ProtocolViolation
from deconfliction.geo.grid import DisclosureGrid
from deconfliction.private import psi
from deconfliction.private.cells import SpaceTimeCell, plan_cells
from deconfliction.private.channel import Channel, Envelope, Header
from deconfliction.private.protocol import EpochState, Round, blind_cells, padded_set, reference
from deconfliction.service.clock import Clock
from deconfliction.store import Store
from deconfliction.store.agent import AgentRepo, PrivateNotice, RoundRecord


class RelayLink(Protocol):
    """The relay's routes, as the agent uses them (``api.private``)."""

    def pair(self, peer: str) -> dict[str, Any]: ...

    def post(self, peer: str, message: dict[str, Any]) -> dict[str, Any]: ...

    def fetch(self, peer: str, epoch: int, after: int) -> list[dict[str, Any]]: ...

    def refuse(self, peer: str, epoch: int, round_: int, code: str, field: str) -> None: ...


@dataclass(frozen=True, slots=True)
class AgentKeys:
    """The agent's X25519 key, the peer's public key (exchanged out of band at setup) and
    the master key its blinding secrets are derived from (never leaves the agent)."""

    private_key: bytes
    peer_public_key: bytes
    master_key: bytes


@dataclass(frozen=True, slots=True)
class RoundOutcome:
    record: RoundRecord
    notices: list[PrivateNotice]


def to_wire(envelope: Envelope) -> dict[str, Any]:
    h = envelope.header
    return {
        "epoch": h.epoch,
        "round": h.round,
        "seq": h.seq,
        "kind": h.kind,
        "bucket": h.bucket,
        "commitment": h.commitment,
        "box": base64.b64encode(envelope.box).decode(),
    }


def from_wire(me: str, data: dict[str, Any]) -> Envelope:
    header = Header(
        str(data["sender"]),
        me,
        int(data["epoch"]),
        int(data["round"]),
        int(data["seq"]),
        str(data["kind"]),
        int(data["bucket"]),
        data.get("commitment"),
    )
    return Envelope(header, base64.b64decode(data["box"]))


@dataclass
class Agent:
    store: Store
    link: RelayLink
    party: str
    peer: str
    keys: AgentKeys
    clock: Clock
    #: how long to wait for the peer's next message before calling its round truncated
    timeout_s: float = 600.0
    poll_s: float = 0.05
    sleep: Callable[[float], None] = time.sleep
    _inbox: list[dict[str, Any]] = field(default_factory=list)
    _relay_has: int = -1

    def run_round(self) -> RoundOutcome:
        """One round with the peer: send the plan's cells not yet sent this epoch, answer
        the peer's, and record what is now shared."""
        started = time.perf_counter()
        epoch, grid, minima, self._relay_has = self._terms()
        with self.store.transaction() as tx:
            operations = [op for op in tx.list_operations(party=self.party) if op.live]
            repo = tx.repo(AgentRepo)
            saved = repo.state(self.peer, epoch)
            ahead = repo.ahead(self.peer, epoch)
        state = EpochState.from_json(saved) if saved else EpochState(epoch)
        cells = plan_cells(operations, minima, grid)
        dst = psi.domain_tag(self.party, self.peer, epoch, grid)
        secret = psi.EpochSecret.derive(self.keys.master_key, dst)
        if state.pending is None:
            new = sorted(cells.cells - state.sent_cells)
            missing = [c for c in new if (c.cell, c.band, c.slot) not in ahead]
            fresh = dict(zip(missing, blind_cells(dst, secret, missing), strict=True))
            blinded = [fresh[c] if c in fresh else ahead[(c.cell, c.band, c.slot)] for c in new]
            state.pending = padded_set(dst, secret, state.round + 1, new, blinded)
            # kept before anything is posted: an agent stopped in the round resumes it
            with self.store.transaction() as tx:
                tx.repo(AgentRepo).save_state(self.peer, epoch, state.to_json())
        new = [c for c in state.pending.cells if c is not None]
        channel = Channel(
            self.party,
            self.peer,
            epoch,
            self.keys.private_key,
            self.keys.peer_public_key,
            state.sent,
            state.received,
        )
        number = state.round + 1
        rnd = Round(state, channel, dst, secret, number)
        sent_bytes = received_bytes = 0
        self._inbox = []
        try:
            commit = rnd.resume(state.pending)
            sent_bytes += self._post(commit)
            envelope = self._next(epoch, state, number)
            received_bytes += len(envelope.box)
            rnd.take_commit(envelope)
            for part in rnd.blinded_messages():
                sent_bytes += self._post(part)
            tags: list[Envelope] = []
            while not tags:
                envelope = self._next(epoch, state, number)
                received_bytes += len(envelope.box)
                tags = rnd.take_blinded(envelope)
            for part in tags:
                sent_bytes += self._post(part)
            done = False
            while not done:
                envelope = self._next(epoch, state, number)
                received_bytes += len(envelope.box)
                done = rnd.take_tags(envelope)
        except ProtocolViolation as exc:
            self.link.refuse(self.peer, epoch, number, exc.code, exc.field)
            raise
        state.pending = None
        now = self.clock.now().timestamp()
        shared = state.shared(cells.cells)
        notices = self._notices(epoch, operations, cells.owners, shared, now)
        assert rnd.outgoing is not None
        assert rnd.peer_bucket is not None
        record = RoundRecord(
            self.peer,
            epoch,
            number,
            len(new),
            rnd.outgoing.bucket,
            rnd.peer_bucket,
            len(shared),
            sent_bytes,
            received_bytes,
            time.perf_counter() - started,
            now,
        )
        with self.store.transaction() as tx:
            repo = tx.repo(AgentRepo)
            repo.drop_ahead(self.peer, epoch)
            repo.save_state(self.peer, epoch, state.to_json())
            repo.add_round(record)
            repo.add_notices(notices)
        return RoundOutcome(record, notices)

    def _terms(self) -> tuple[int, DisclosureGrid, Minima, int]:
        """The epoch, grid and minima, and the last sequence number of ours the relay holds."""
        terms = self.link.pair(self.peer)
        grid, minima = DisclosureGrid(**terms["grid"]), Minima(**terms["minima"])
        return int(terms["epoch"]), grid, minima, int(terms["sent_seq"])

    def blind_ahead(self, epochs: int = 2) -> int:
        """Blind, for this epoch and the next ``epochs - 1``, the plan's cells that no
        round of the epoch has sent and no earlier call has blinded: a round then only
        re-blinds the peer's set. Returns how many cells were blinded."""
        current, grid, minima, _ = self._terms()
        with self.store.transaction() as tx:
            operations = [op for op in tx.list_operations(party=self.party) if op.live]
        cells = plan_cells(operations, minima, grid).cells
        done = 0
        for epoch in range(current, current + epochs):
            with self.store.transaction() as tx:
                repo = tx.repo(AgentRepo)
                saved = repo.state(self.peer, epoch)
                have = repo.ahead(self.peer, epoch)
            sent = EpochState.from_json(saved).sent_cells if saved else set()
            todo = sorted(c for c in cells - sent if (c.cell, c.band, c.slot) not in have)
            dst = psi.domain_tag(self.party, self.peer, epoch, grid)
            points = blind_cells(dst, psi.EpochSecret.derive(self.keys.master_key, dst), todo)
            with self.store.transaction() as tx:
                tx.repo(AgentRepo).save_ahead(
                    self.peer, epoch, {(c.cell, c.band, c.slot): p for c, p in zip(todo, points, strict=True)}
                )
            done += len(todo)
        return done

    def _post(self, envelope: Envelope) -> int:
        if envelope.header.seq > self._relay_has:  # a resumed round skips what the relay holds
            self.link.post(self.peer, to_wire(envelope))
        return len(envelope.box)

    def _next(self, epoch: int, state: EpochState, number: int) -> Envelope:
        """The peer's next message, waiting for it up to ``timeout_s``."""
        deadline = time.monotonic() + self.timeout_s
        while not self._inbox:
            self._inbox = self.link.fetch(self.peer, epoch, state.received.seq - 1)
            if self._inbox:
                break
            if time.monotonic() > deadline:
                raise ProtocolViolation(
                    "round",
                    "truncated",
                    f"the peer's round {number} stopped after its message {state.received.seq - 1}",
                )
            self.sleep(self.poll_s)
        return from_wire(self.party, self._inbox.pop(0))

    def _notices(
        self,
        epoch: int,
        operations: list[Any],
        owners: dict[SpaceTimeCell, tuple[tuple[str, int], ...]],
        shared: dict[SpaceTimeCell, bytes],
        now: float,
    ) -> list[PrivateNotice]:
        versions = {op.id: op.version for op in operations}
        return [
            PrivateNotice(
                self.peer, epoch, reference(tag), op_id, versions[op_id], c.cell, c.band, c.slot, now, None
            )
            for c, tag in sorted(shared.items())
            for op_id in sorted({o for o, _ in owners[c]})
        ]


# -- proof of awareness -------------------------------------------------------------------


def acknowledge(store: Store, clock: Clock, reference_: str) -> int:
    """Acknowledge every notice of a shared cell's reference; NotFound if there is none."""
    with store.transaction() as tx:
        count = tx.repo(AgentRepo).acknowledge(reference_, clock.now().timestamp())
        if not count and not any(n.reference == reference_ for n in tx.repo(AgentRepo).notices()):
            raise NotFound(f"no notice {reference_!r}")
    return count


def activate(store: Store, party: str, operation_id: str) -> None:
    """Activate one of the party's own operations in its store, as in native mode only
    once every shared cell found for it has been acknowledged."""
    with store.transaction() as tx:
        operation = tx.get_operation(party, operation_id)
        # every version's: a version filed since the last round has no notices of its own yet
        pending = [n for n in tx.repo(AgentRepo).notices(operation_id) if n.acknowledged_at_s is None]
        if pending:
            refs = sorted({n.reference for n in pending})
            raise AwarenessRequired(
                f"{operation_id} shares cells with {pending[0].peer}'s plans;"
                f" acknowledge {', '.join(refs)} first",
                [{"reference": r, "peer": pending[0].peer} for r in refs],
            )
        check_transition(operation.state, OperationState.ACTIVATED)
        tx.update_operation(
            replace(operation, state=OperationState.ACTIVATED, version=operation.version + 1),
            operation.version,
        )
