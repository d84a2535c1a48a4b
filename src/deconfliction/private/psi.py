"""Diffie–Hellman private set intersection over ristretto255 (libsodium, through ``rbcl``).

Each party hashes its cells to the group (RFC 9380 ``hash_to_ristretto255``:
``expand_message_xmd`` with SHA-512, then libsodium's one-way map), with a domain
separation tag that names the pair, the epoch and the grid, so a point of one pair,
epoch or grid is worthless in any other. It raises each point to its epoch secret ``a``
and sends ``H(x)^a``; the peer raises those to its own ``b`` and answers with a short tag
of each ``H(x)^ab`` in the order received. Each side does the same with the other's
points, so both hold the tags of both sets and the cells whose tags meet are exactly the
shared ones. Nothing else is learned: without ``a`` or ``b`` a point is a uniformly
random group element (decisional Diffie–Hellman in ristretto255).

The secret is fixed for a pair's epoch (derived from the party's own master key), so a
cell blinded once is not blinded again in that epoch: a changed plan sends only its new
cells (``protocol``), and the blinding of the whole plan is done ahead, when it is filed.

Pure computation, no I/O. Every point that arrives from the other side is checked before
use: 32 bytes, a canonical encoding, not the identity (libsodium's multiplication refuses
non-canonical encodings and an identity result; the identity itself, which it accepts as
input, is refused here first).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from deconfliction.errors import DeconflictionError, ProtocolViolation
from deconfliction.geo.grid import DisclosureGrid

POINT_BYTES: Final = 32
#: A tag of a doubly blinded point: 128 bits, so a false match among 10^6 × 10^6 cells has
#: probability below 2^-88, at half the bytes of the point.
TAG_BYTES: Final = 16
IDENTITY: Final = bytes(POINT_BYTES)
SUITE: Final = b"ristretto255_XMD:SHA-512_R255MAP_RO_"
_OVERSIZE: Final = b"H2C-OVERSIZE-DST-"


@functools.cache
def _sodium() -> Any:
    """libsodium's ristretto255 functions (``rbcl``), imported on first use: the relay,
    which only counts and forwards, and the rest of the package run without them."""
    try:
        import rbcl
    except ImportError as exc:  # pragma: no cover - the private extra is in every test setup
        raise DeconflictionError(
            "private mode's agent needs libsodium's ristretto255: pip install 'deconfliction[private]'"
        ) from exc
    return rbcl


def domain_tag(party_a: str, party_b: str, epoch: int, grid: DisclosureGrid) -> bytes:
    """The domain separation tag of a pair's epoch on a grid (party ids in order)."""
    a, b = sorted((party_a, party_b))
    text = (
        f"deconfliction-private-v1|pair={a}/{b}|epoch={epoch}"
        f"|grid=r{grid.resolution},b{grid.band_m!r},s{grid.slot_s!r}|"
    ).encode()
    return text + SUITE


def expand_message_xmd(msg: bytes, dst: bytes, length: int) -> bytes:
    """RFC 9380, section 5.3.1, with SHA-512 (a DST over 255 bytes is hashed first, 5.3.3)."""
    if len(dst) > 255:
        dst = hashlib.sha512(_OVERSIZE + dst).digest()
    ell = -(-length // 64)
    if ell > 255 or length > 65535:
        raise ValueError(f"expand_message_xmd cannot give {length} bytes")
    dst_prime = dst + bytes([len(dst)])
    b0 = hashlib.sha512(bytes(128) + msg + length.to_bytes(2, "big") + b"\x00" + dst_prime).digest()
    out = [hashlib.sha512(b0 + b"\x01" + dst_prime).digest()]
    for i in range(2, ell + 1):
        mixed = bytes(x ^ y for x, y in zip(b0, out[-1], strict=True))
        out.append(hashlib.sha512(mixed + bytes([i]) + dst_prime).digest())
    return b"".join(out)[:length]


class HashToGroup:
    """``hash_to_ristretto255`` under one DST, with the parts every call shares hashed once.

    For 64 output bytes ``expand_message_xmd`` is two SHA-512 calls; the first starts with a
    128-byte block of zeros, whose state is kept and copied per message."""

    def __init__(self, dst: bytes) -> None:
        if len(dst) > 255:
            dst = hashlib.sha512(_OVERSIZE + dst).digest()
        self.dst = dst
        self._prime = dst + bytes([len(dst)])
        self._suffix = (64).to_bytes(2, "big") + b"\x00" + self._prime
        self._zero_block = hashlib.sha512(bytes(128))

    def uniform(self, msg: bytes) -> bytes:
        """``expand_message_xmd(msg, dst, 64)``."""
        h = self._zero_block.copy()
        h.update(msg + self._suffix)
        return hashlib.sha512(h.digest() + b"\x01" + self._prime).digest()

    def __call__(self, msg: bytes) -> bytes:
        return bytes(_sodium().crypto_core_ristretto255_from_hash(self.uniform(msg)))

    def many(self, msgs: Iterable[bytes]) -> list[bytes]:
        from_hash, uniform = _sodium().crypto_core_ristretto255_from_hash, self.uniform
        return [bytes(from_hash(uniform(m))) for m in msgs]


@dataclass(frozen=True, slots=True)
class EpochSecret:
    """A party's blinding scalar for one pair and epoch, derived from its master key so
    that every round of the epoch uses the same one and the key never leaves the agent."""

    scalar: bytes

    @staticmethod
    def derive(master_key: bytes, dst: bytes) -> EpochSecret:
        if len(master_key) < 32:
            raise ValueError("the master key must be at least 32 bytes")
        wide = hmac.new(master_key, b"epoch-secret|" + dst, hashlib.sha512).digest()
        scalar = bytes(_sodium().crypto_core_ristretto255_scalar_reduce(wide))
        if scalar == bytes(32):  # probability 2^-252; never multiply by zero
            raise ValueError("the derived scalar is zero")
        return EpochSecret(scalar)


def check_point(point: bytes, field: str) -> None:
    """Refuse a point that is not 32 bytes, is not a canonical encoding, or is the identity."""
    if len(point) != POINT_BYTES:
        raise ProtocolViolation(field, "oversize", f"a point is {POINT_BYTES} bytes, got {len(point)}")
    if point == IDENTITY:
        raise ProtocolViolation(field, "identity", "the identity element is not a blinded cell")
    if not _sodium().crypto_core_ristretto255_is_valid_point(point):
        raise ProtocolViolation(field, "non_canonical", "not a canonical ristretto255 encoding")


def split_points(blob: bytes, field: str) -> list[bytes]:
    """A concatenation of 32-byte points as a list (each checked when it is used)."""
    if len(blob) % POINT_BYTES:
        raise ProtocolViolation(field, "truncated", f"{len(blob)} bytes is not a whole number of points")
    return [blob[k : k + POINT_BYTES] for k in range(0, len(blob), POINT_BYTES)]


def blind(secret: EpochSecret, points: Iterable[bytes]) -> list[bytes]:
    """Each of our own hashed points raised to our secret."""
    mul, s = _sodium().crypto_scalarmult_ristretto255, secret.scalar
    return [bytes(mul(s, p)) for p in points]


def tag(point: bytes) -> bytes:
    """The short tag of a doubly blinded point: what is sent and compared."""
    return hashlib.blake2b(point, digest_size=TAG_BYTES, person=b"dcf-psi-tag").digest()


def reblind_tags(secret: EpochSecret, points: Sequence[bytes], field: str) -> list[bytes]:
    """The tags of the peer's blinded points raised to our secret, in the order received.

    A point that is the identity, not canonical, or whose product is the identity is
    refused with its index in ``field``."""
    mul, s = _sodium().crypto_scalarmult_ristretto255, secret.scalar
    out = []
    for k, p in enumerate(points):
        if p == IDENTITY:
            raise ProtocolViolation(f"{field}[{k}]", "identity", "the identity element is not a blinded cell")
        try:
            out.append(tag(bytes(mul(s, p))))
        except RuntimeError:
            # libsodium refuses a non-canonical encoding (and an identity product, which a
            # canonical non-identity point times a non-zero scalar cannot give)
            raise ProtocolViolation(
                f"{field}[{k}]", "non_canonical", "not a canonical ristretto255 encoding"
            ) from None
    return out


def padding(count: int, seed: bytes | None = None) -> list[bytes]:
    """``count`` group elements that fill a set up to its bucket, which no cell of the
    peer's can meet: random, or derived from ``seed`` (:func:`padding_seed`) so that an
    arbiter given the epoch secret can recompute them and tell them from cells."""
    if seed is None:
        return [bytes(_sodium().crypto_core_ristretto255_random()) for _ in range(count)]
    from_hash = _sodium().crypto_core_ristretto255_from_hash
    return [bytes(from_hash(hashlib.sha512(seed + k.to_bytes(4, "big")).digest())) for k in range(count)]


def padding_seed(secret: EpochSecret, dst: bytes, round_: int) -> bytes:
    """The seed of a round's padding: a new one each round (a dummy seen twice would be
    known for a dummy), known to no one without the epoch secret."""
    return hmac.new(secret.scalar, b"padding|" + dst + round_.to_bytes(8, "big"), hashlib.sha256).digest()


def bucket(count: int, smallest: int = 256) -> int:
    """The fixed size a set of ``count`` is padded to: the next of 256, 384, 512, 768,
    1024, … (powers of two and one and a half times them), so its size on the wire says
    only which of these steps it is under, and padding costs at most a third of a set."""
    size = smallest
    while True:
        if size >= count:
            return size
        if size * 3 // 2 >= count:
            return size * 3 // 2
        size *= 2


def commitment(dst: bytes, points: Iterable[bytes]) -> str:
    """The commitment to a blinded set: SHA-256 over the DST and the points in sorted
    order, hex. Made before the other side's set is seen, checked when the set arrives,
    and opened to an arbiter with the cells and the secret."""
    h = hashlib.sha256(b"deconfliction-private-commit|" + dst)
    for p in sorted(points):
        h.update(p)
    return h.hexdigest()


def check_commitment(expected: str, dst: bytes, points: Sequence[bytes], field: str) -> None:
    found = commitment(dst, points)
    if not hmac.compare_digest(found, expected):
        raise ProtocolViolation(
            field, "commitment_mismatch", f"the set hashes to {found[:16]}…, committed {expected[:16]}…"
        )
