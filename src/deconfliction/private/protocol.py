"""One party's side of a pair's private-mode epoch: rounds of commit, blinded set, tags.

A round, the same on both sides::

    1. commit   the SHA-256 commitment to this round's padded blinded set (clear to the
                relay, which logs it in both audit chains, and sealed to the peer)
    2. blinded  the padded, sorted blinded points, in parts of at most PART points;
                the relay hands them on only once the receiver has committed this round
    3. tags     the tags of the peer's points raised to our secret, in the peer's order,
                in parts of at most PART tags

The first round of an epoch sends every cell of the plan; each later round only the
cells the plan gained since (a cell blinded in this epoch is never sent again), padded
to a bucket. Cells a plan lost are simply no longer looked up. Both sides accumulate
the tags of their own cells and the tags of the peer's points; a cell is shared when its
tag is among the peer's. Pure computation; the agent keeps :class:`EpochState` in its
own store between rounds.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from deconfliction.errors import ProtocolViolation
from deconfliction.private import psi
from deconfliction.private.cells import SpaceTimeCell
from deconfliction.private.channel import Channel, ChannelState, Envelope

#: Points in one ``blinded`` message (256 KiB, well under a request body's limit); a
#: bucket of more is sent in several parts.
PART: Final = 8192


def parts_of(bucket: int) -> int:
    return -(-bucket // PART)


def part_size(bucket: int, part: int) -> int:
    """Points in part ``part`` of a bucket."""
    return min(PART, bucket - part * PART)


def blind_cells(dst: bytes, secret: psi.EpochSecret, cells: Iterable[SpaceTimeCell]) -> list[bytes]:
    """Each cell hashed to the group under ``dst`` and raised to ``secret``: what a round
    sends of it, computable as soon as the cell is known (blinding ahead)."""
    return psi.blind(secret, psi.HashToGroup(dst).many(c.encode() for c in cells))


def padded_set(
    dst: bytes,
    secret: psi.EpochSecret,
    round_: int,
    new_cells: Sequence[SpaceTimeCell],
    blinded: Sequence[bytes] | None = None,
) -> Outgoing:
    """A round's set: the cells blinded, padded to the bucket with points derived from the
    epoch secret and the round, sorted (the order says nothing of which cell is which), and
    its commitment. Given the cells and the secret, an arbiter recomputes the same set, so
    a commitment opens to exactly the cells behind it."""
    if blinded is None:
        blinded = blind_cells(dst, secret, new_cells)
    size = psi.bucket(len(blinded))
    pairs: list[tuple[bytes, SpaceTimeCell | None]] = [*zip(blinded, new_cells, strict=True)]
    seed = psi.padding_seed(secret, dst, round_)
    pairs += [(d, None) for d in psi.padding(size - len(blinded), seed)]
    pairs.sort(key=lambda pair: pair[0])
    points = [p for p, _ in pairs]
    return Outgoing([c for _, c in pairs], points, psi.commitment(dst, points))


def reference(tag: bytes) -> str:
    """The reference both sides cite for a shared cell: they hold the same tag."""
    return "PX-" + tag.hex()[:10].upper()


@dataclass(slots=True)
class Outgoing:
    """This round's own set: the cells in the order sent (dummies as None)."""

    cells: list[SpaceTimeCell | None]
    points: list[bytes]
    commitment: str

    @property
    def bucket(self) -> int:
        return len(self.points)


@dataclass(slots=True)
class EpochState:
    """What a party holds of one epoch with one peer."""

    epoch: int
    round: int = 0
    sent: ChannelState = field(default_factory=ChannelState)
    received: ChannelState = field(default_factory=ChannelState)
    #: tag of each of our own cells whose tag the peer has returned
    own_tags: dict[SpaceTimeCell, bytes] = field(default_factory=dict)
    #: tags of every peer point we have raised to our secret
    peer_tags: set[bytes] = field(default_factory=set)
    #: cells sent in this epoch (never blinded or sent again)
    sent_cells: set[SpaceTimeCell] = field(default_factory=set)
    #: the set of a round begun and not finished (the relay may hold its messages)
    pending: Outgoing | None = None

    def shared(self, live: Iterable[SpaceTimeCell]) -> dict[SpaceTimeCell, bytes]:
        """Our cells, among ``live``, that the peer also holds, with their tags."""
        return {c: t for c in live if (t := self.own_tags.get(c)) is not None and t in self.peer_tags}

    def to_json(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "round": self.round,
            "sent": [self.sent.seq, b64(self.sent.transcript)],
            "received": [self.received.seq, b64(self.received.transcript)],
            "own_tags": [[*_cell(c), b64(t)] for c, t in sorted(self.own_tags.items())],
            "peer_tags": b64(b"".join(sorted(self.peer_tags))),
            "sent_cells": [_cell(c) for c in sorted(self.sent_cells)],
            "pending": None
            if self.pending is None
            else {
                "cells": [None if c is None else _cell(c) for c in self.pending.cells],
                "points": b64(b"".join(self.pending.points)),
                "commitment": self.pending.commitment,
            },
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> EpochState:
        d64 = base64.b64decode
        peer = d64(data["peer_tags"])
        return EpochState(
            int(data["epoch"]),
            int(data["round"]),
            ChannelState(int(data["sent"][0]), d64(data["sent"][1])),
            ChannelState(int(data["received"][0]), d64(data["received"][1])),
            {SpaceTimeCell(c, b, s): d64(t) for c, b, s, t in data["own_tags"]},
            {peer[k : k + psi.TAG_BYTES] for k in range(0, len(peer), psi.TAG_BYTES)},
            {SpaceTimeCell(*c) for c in data["sent_cells"]},
            _pending(data.get("pending")),
        )


def _pending(data: dict[str, Any] | None) -> Outgoing | None:
    if data is None:
        return None
    points = base64.b64decode(data["points"])
    return Outgoing(
        [None if c is None else SpaceTimeCell(*c) for c in data["cells"]],
        [points[k : k + psi.POINT_BYTES] for k in range(0, len(points), psi.POINT_BYTES)],
        str(data["commitment"]),
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _cell(c: SpaceTimeCell) -> list[int]:
    return [c.cell, c.band, c.slot]


@dataclass(slots=True)
class Round:
    """One round of one side: build our messages, check and answer the peer's."""

    state: EpochState
    channel: Channel
    dst: bytes
    secret: psi.EpochSecret
    number: int
    outgoing: Outgoing | None = None
    peer_commitment: str | None = None
    peer_bucket: int | None = None
    peer_points: list[bytes] = field(default_factory=list)
    parts: list[Envelope] = field(default_factory=list)
    tags: bytes = b""

    # -- our side -------------------------------------------------------------------------

    def prepare(self, new_cells: Sequence[SpaceTimeCell], blinded: Sequence[bytes] | None = None) -> Envelope:
        """Blind ``new_cells`` (``blinded``: their blinded points, if blinded ahead with
        :func:`blind_cells`), pad them to a bucket, sort, commit: the round's commit message."""
        return self.resume(padded_set(self.dst, self.secret, self.number, new_cells, blinded))

    def resume(self, outgoing: Outgoing) -> Envelope:
        """The round with a set made before (:func:`padded_set`): its commit message; the
        same channel state seals the same bytes, so a round an agent began and did not
        finish is sent again exactly."""
        self.outgoing = out = outgoing
        size = out.bucket
        commit = self.channel.seal(self.number, "commit", size, bytes.fromhex(out.commitment), out.commitment)
        # sealed now, in the order they go: the tags this round sends come after them
        self.parts = [
            self.channel.seal(
                self.number,
                "blinded",
                size,
                b"".join(out.points[k * PART : k * PART + part_size(size, k)]),
                out.commitment,
            )
            for k in range(parts_of(size))
        ]
        return commit

    def blinded_messages(self) -> list[Envelope]:
        """The padded set, in parts (sealed by :meth:`prepare`)."""
        self._out()
        return self.parts

    def _out(self) -> Outgoing:
        if self.outgoing is None:
            raise ProtocolViolation("round", "out_of_turn", "the round has no set yet")
        return self.outgoing

    # -- the peer's side ------------------------------------------------------------------

    def take_commit(self, envelope: Envelope) -> None:
        h = self._expect(envelope, "commit")
        body = self.channel.open(envelope)
        if h.commitment is None or body != bytes.fromhex(h.commitment):
            raise ProtocolViolation(
                "commitment", "commitment_mismatch", "the sealed commitment differs from the logged one"
            )
        if psi.bucket(h.bucket) != h.bucket:
            raise ProtocolViolation("bucket", "oversize", f"{h.bucket} is not a bucket size")
        self.peer_commitment, self.peer_bucket = h.commitment, h.bucket

    def take_blinded(self, envelope: Envelope) -> list[Envelope]:
        """One part of the peer's set; after the last, our tags of the whole set, in parts
        of PART tags (none before)."""
        h = self._expect(envelope, "blinded")
        if self.peer_commitment is None or self.peer_bucket is None:
            raise ProtocolViolation("kind", "out_of_turn", "a blinded set before its commitment")
        if h.commitment != self.peer_commitment or h.bucket != self.peer_bucket:
            raise ProtocolViolation(
                "commitment", "commitment_mismatch", "the set names another commitment or bucket"
            )
        body = self.channel.open(envelope)
        part = len(self.peer_points) // PART
        expected = part_size(self.peer_bucket, part)
        points = psi.split_points(body, "points")
        if len(points) != expected:
            raise ProtocolViolation(
                "points",
                "truncated" if len(points) < expected else "oversize",
                f"part {part} of a bucket of {self.peer_bucket} holds {expected} points, got {len(points)}",
            )
        self.peer_points.extend(points)
        if len(self.peer_points) < self.peer_bucket:
            return []
        psi.check_commitment(self.peer_commitment, self.dst, self.peer_points, "points")
        tags = psi.reblind_tags(self.secret, self.peer_points, "points")
        self.state.peer_tags.update(tags)
        size = self.peer_bucket
        return [
            self.channel.seal(
                self.number, "tags", size, b"".join(tags[k * PART : k * PART + part_size(size, k)])
            )
            for k in range(parts_of(size))
        ]

    def take_tags(self, envelope: Envelope) -> bool:
        """One part of the peer's tags of our set; True once all have come, and our cells
        can be looked up by them."""
        out = self._out()
        self._expect(envelope, "tags")
        body = self.channel.open(envelope)
        part = len(self.tags) // (PART * psi.TAG_BYTES)
        expected = part_size(out.bucket, part) * psi.TAG_BYTES
        if len(body) != expected:
            raise ProtocolViolation(
                "tags",
                "truncated" if len(body) < expected else "oversize",
                f"part {part} of {out.bucket} tags holds {expected} bytes, got {len(body)}",
            )
        self.tags += body
        if len(self.tags) < out.bucket * psi.TAG_BYTES:
            return False
        for k, cell in enumerate(out.cells):
            if cell is not None:
                self.state.own_tags[cell] = self.tags[k * psi.TAG_BYTES : (k + 1) * psi.TAG_BYTES]
                self.state.sent_cells.add(cell)
        self.state.round = self.number
        return True

    def _expect(self, envelope: Envelope, kind: str) -> Any:
        h = envelope.header
        if h.kind != kind:
            raise ProtocolViolation("kind", "out_of_turn", f"expected a {kind} message, got {h.kind!r}")
        if h.round != self.number:
            raise ProtocolViolation("round", "out_of_turn", f"expected round {self.number}, got {h.round}")
        return h
