"""The private-mode relay: stores and hands on sealed messages between two agents.

It cannot open a message, and checks everything it can without opening it: the pair is in
private mode; each direction's sequence has no gap and no repeat; each round goes
commit → blinded parts → tags; sizes are exactly what the bucket says (so padding is
real); the cells each side commits to per epoch stay within the pair's budget. A party
receives the other's blinded set only once it has committed to its own for that round,
so neither can choose its set after seeing the other's. Each commitment goes into both
parties' audit chains; each refusal is recorded, and also goes into both chains.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any, Final

from deconfliction.engine.minima import MinimaPolicy, pair_key
from deconfliction.engine.policy import PairMode, PairPolicy
from deconfliction.errors import Conflict, InvalidInput, NotFound, ProtocolViolation
from deconfliction.private import psi
from deconfliction.private.channel import KINDS, OVERHEAD, Header
from deconfliction.private.protocol import part_size, parts_of
from deconfliction.service.clock import Clock
from deconfliction.service.operations import OperationService
from deconfliction.store import Store, Transaction
from deconfliction.store.events import AuditRepo
from deconfliction.store.policy import PoliciesRepo
from deconfliction.store.relay import Refusal, RelayRepo, StoredMessage

#: An epoch is a UTC day: blinding secrets change daily, so a tag of one day never meets
#: another day's.
EPOCH_S: Final = 86_400
#: Messages handed over per request at most.
FETCH_LIMIT: Final = 64


class RelayService:
    def __init__(self, store: Store, clock: Clock, operations: OperationService | None = None) -> None:
        self.store = store
        self.clock = clock
        self.operations = operations or OperationService(store)

    def epoch(self) -> int:
        return math.floor(self.clock.now().timestamp() / EPOCH_S)

    def _policy(self, tx: Transaction, me: str, peer: str) -> PairPolicy:
        if me == peer:
            raise InvalidInput("peer", "a party has no private pair with itself")
        try:
            tx.get_party(peer)
        except NotFound:
            raise NotFound(f"no party {peer!r}") from None
        policy = tx.repo(PoliciesRepo).get(me, peer)
        if policy.mode is not PairMode.PRIVATE:
            raise Conflict(
                f"the pair {policy.party_a}/{policy.party_b} is in {policy.mode.value} mode, not private"
            )
        return policy

    def pair(self, me: str, peer: str) -> dict[str, Any]:
        """What both agents must agree on: minima, grid, budget and the current epoch."""
        with self.store.transaction() as tx:
            policy = self._policy(tx, me, peer)
            minima = MinimaPolicy(self.operations.default_minima, tx.pair_minima()).for_pair(me, peer)
            used = tx.repo(RelayRepo).submitted(me, peer, self.epoch())
            last = tx.repo(RelayRepo).last(me, peer, self.epoch())
        grid = policy.grid
        assert grid is not None  # a private pair has a grid (PairPolicy)
        return {
            "parties": [policy.party_a, policy.party_b],
            "minima": {
                "horizontal_m": minima.horizontal_m,
                "vertical_m": minima.vertical_m,
                "time_s": minima.time_s,
            },
            "grid": {"resolution": grid.resolution, "band_m": grid.band_m, "slot_s": grid.slot_s},
            "budget": policy.private_budget,
            "submitted": used,
            "sent_seq": -1 if last is None else last.seq,
            "epoch": self.epoch(),
            "epoch_s": EPOCH_S,
        }

    # -- posting --------------------------------------------------------------------------

    def post(self, m: Header, box: str) -> dict[str, Any]:
        """Store the message (``box``: its sealed bytes in base64) for its receiver, or
        refuse it (recorded) with the rule it broke."""
        now, sender = self.clock.now(), m.sender
        try:
            with self.store.transaction() as tx:
                policy = self._policy(tx, sender, m.receiver)
                size = self._check(tx, m, box, policy)
                stored = StoredMessage(
                    sender,
                    m.receiver,
                    m.epoch,
                    m.seq,
                    m.round,
                    m.kind,
                    m.bucket,
                    m.commitment,
                    box,
                    size,
                    now.timestamp(),
                )
                tx.repo(RelayRepo).add(stored)
                if m.kind == "commit":
                    body = {
                        "pair": list(pair_key(sender, m.receiver)),
                        "by": sender,
                        "epoch": m.epoch,
                        "round": m.round,
                        "bucket": m.bucket,
                        "commitment": m.commitment,
                    }
                    for party in pair_key(sender, m.receiver):
                        tx.repo(AuditRepo).append(party, "private.commit", sender, body, now)
        except ProtocolViolation as exc:
            self._refused(sender, m.receiver, m.epoch, m.round, "relay", exc)
            raise
        return {"seq": m.seq, "size": size}

    def _check(self, tx: Transaction, m: Header, box: str, policy: PairPolicy) -> int:
        sender = m.sender
        if m.kind not in KINDS:
            raise ProtocolViolation(
                "kind", "out_of_turn", f"unknown step {m.kind!r}; one of {', '.join(KINDS)}"
            )
        # A round starts (commits) only in the current epoch, so a party has one budget a
        # day; one begun just before midnight may finish in the next.
        current = self.epoch()
        if m.epoch != current and not (m.kind != "commit" and m.epoch == current - 1):
            raise ProtocolViolation("epoch", "out_of_turn", f"epoch {m.epoch} is not open (now {current})")
        if m.bucket < 1 or psi.bucket(m.bucket) != m.bucket:
            raise ProtocolViolation(
                "bucket", "oversize", f"{m.bucket} is not a bucket size (a power of two >= 256)"
            )
        relay = tx.repo(RelayRepo)
        last = relay.last(sender, m.receiver, m.epoch)
        expected = 0 if last is None else last.seq + 1
        if m.seq < expected:
            raise ProtocolViolation(
                "seq", "replayed", f"message {m.seq} was already sent; next is {expected}"
            )
        if m.seq > expected:
            raise ProtocolViolation("seq", "reordered", f"message {m.seq} skips message {expected}")
        try:
            size = len(base64.b64decode(box, validate=True))
        except (binascii.Error, ValueError):
            raise InvalidInput("box", "must be base64") from None
        if m.kind == "commit":
            if m.commitment is None or len(m.commitment) != 64:
                raise ProtocolViolation(
                    "commitment", "commitment_mismatch", "a commit carries a SHA-256 hex digest"
                )
            if last is not None and (
                last.kind != "tags"
                or m.round <= last.round
                or len(relay.of_round(sender, m.receiver, m.epoch, last.round, "tags"))
                < parts_of(last.bucket)
            ):
                raise ProtocolViolation("round", "out_of_turn", f"round {last.round} is not finished")
            used = relay.submitted(sender, m.receiver, m.epoch)
            if used + m.bucket > policy.private_budget:
                raise ProtocolViolation(
                    "bucket",
                    "over_budget",
                    f"{used} + {m.bucket} cells is over the budget of {policy.private_budget} an epoch",
                )
            _size(size, 32, "box")
            return size
        if last is None or last.round != m.round:
            raise ProtocolViolation("round", "out_of_turn", f"round {m.round} has no commitment")
        commit = relay.of_round(sender, m.receiver, m.epoch, m.round, "commit")[0]
        if m.kind == "blinded":
            sent = len(relay.of_round(sender, m.receiver, m.epoch, m.round, "blinded"))
            if last.kind not in ("commit", "blinded") or sent >= parts_of(commit.bucket):
                raise ProtocolViolation("kind", "out_of_turn", "every part of the set was already sent")
            if (m.bucket, m.commitment) != (commit.bucket, commit.commitment):
                raise ProtocolViolation(
                    "commitment", "commitment_mismatch", "the part names another commitment or bucket"
                )
            _size(size, part_size(commit.bucket, sent) * psi.POINT_BYTES, "box")
            return size
        # tags: after our whole set, and the peer's whole set of the round
        sent = len(relay.of_round(sender, m.receiver, m.epoch, m.round, "blinded"))
        theirs = relay.of_round(m.receiver, sender, m.epoch, m.round, "blinded")
        done = len(relay.of_round(sender, m.receiver, m.epoch, m.round, "tags"))
        if last.kind not in ("blinded", "tags") or sent < parts_of(commit.bucket):
            raise ProtocolViolation("kind", "out_of_turn", "tags before the whole set was sent")
        if not theirs or len(theirs) < parts_of(theirs[0].bucket):
            raise ProtocolViolation("kind", "out_of_turn", "tags before the peer's set arrived")
        if m.bucket != theirs[0].bucket:
            raise ProtocolViolation(
                "bucket", "oversize", f"the peer's set is of {theirs[0].bucket}, not {m.bucket}"
            )
        if done >= parts_of(m.bucket):
            raise ProtocolViolation("kind", "out_of_turn", "every part of the tags was already sent")
        _size(size, part_size(m.bucket, done) * psi.TAG_BYTES, "box")
        return size

    def _refused(
        self, party: str, peer: str, epoch: int, round_: int, reporter: str, exc: ProtocolViolation
    ) -> None:
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.repo(RelayRepo).refuse(
                Refusal(party, peer, epoch, round_, reporter, exc.code, exc.field, now.timestamp())
            )
            body = {
                "party": party,
                "peer": peer,
                "epoch": epoch,
                "round": round_,
                "code": exc.code,
                "field": exc.field,
            }
            for p in pair_key(party, peer):
                tx.repo(AuditRepo).append(p, "private.refused", reporter, body, now)

    def report_refusal(
        self, reporter: str, peer: str, epoch: int, round_: int, code: str, field: str
    ) -> None:
        """An agent refused a message of ``peer`` (tampered, bad point, false commitment…)."""
        with self.store.transaction() as tx:
            self._policy(tx, reporter, peer)
        self._refused(peer, reporter, epoch, round_, reporter, ProtocolViolation(field, code, "reported"))

    # -- fetching -------------------------------------------------------------------------

    def fetch(self, receiver: str, sender: str, epoch: int, after_seq: int) -> list[StoredMessage]:
        """The sender's messages after ``after_seq``, in order, up to the first blinded part
        of a round the receiver has not committed to yet."""
        with self.store.transaction() as tx:
            self._policy(tx, receiver, sender)
            relay = tx.repo(RelayRepo)
            found = relay.after(sender, receiver, epoch, after_seq, FETCH_LIMIT)
            out = []
            committed: dict[int, bool] = {}
            for message in found:
                if message.kind == "blinded":
                    if message.round not in committed:
                        committed[message.round] = bool(
                            relay.of_round(receiver, sender, epoch, message.round, "commit")
                        )
                    if not committed[message.round]:
                        break
                out.append(message)
            return out

    # -- the leak report ------------------------------------------------------------------

    def report(self, party: str, peer: str, since_epoch: int) -> dict[str, Any]:
        """Everything the relay holds of the pair: what it learned, and nothing more."""
        with self.store.transaction() as tx:
            self._policy(tx, party, peer)
            relay = tx.repo(RelayRepo)
            messages = relay.between(party, peer, since_epoch)
            refusals = relay.refusals(party, peer, since_epoch)
        rounds: dict[tuple[int, int], dict[str, Any]] = {}
        for m in messages:
            r = rounds.setdefault((m.epoch, m.round), {"epoch": m.epoch, "round": m.round, "sides": {}})
            side = r["sides"].setdefault(
                m.sender,
                {
                    "bucket": None,
                    "commitment": None,
                    "messages": 0,
                    "bytes": 0,
                    "first_at_s": m.at_s,
                    "last_at_s": m.at_s,
                },
            )
            side["messages"] += 1
            side["bytes"] += m.size + OVERHEAD
            side["last_at_s"] = m.at_s
            if m.kind == "commit":
                side["bucket"], side["commitment"] = m.bucket, m.commitment
        return {
            "pair": list(pair_key(party, peer)),
            "relay_learned": [
                "who talks to whom, and when",
                "each round's bucket (the padded set size, a power of two) and bytes",
                "each commitment (a hash of blinded points)",
            ],
            "rounds": [rounds[k] for k in sorted(rounds)],
            "refusals": [
                {
                    "party": r.party,
                    "epoch": r.epoch,
                    "round": r.round,
                    "reporter": r.reporter,
                    "code": r.code,
                    "field": r.field,
                    "at_s": r.at_s,
                }
                for r in refusals
            ],
        }


def _size(found: int, body: int, field: str) -> None:
    expected = body + OVERHEAD
    if found != expected:
        code = "truncated" if found < expected else "oversize"
        raise ProtocolViolation(field, code, f"{found} bytes where the bucket says {expected}")
