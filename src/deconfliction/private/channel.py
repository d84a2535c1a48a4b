"""The authenticated channel between two agents, through a relay that may not read it.

Each party makes an X25519 key pair at setup and hands its public key to the other out of
band (the same way the pair agrees its policy). From the two keys each direction of each
epoch gets its own ChaCha20-Poly1305 key (HKDF-SHA256 over the Diffie–Hellman secret,
naming the pair, the direction and the epoch), and every message:

- carries a sequence number from 0 within its direction and epoch, which is also its
  nonce (a key never sees a nonce twice);
- authenticates, as associated data, its clear header (what the relay reads to route and
  to count) and the running hash of the direction's transcript before it, so a changed,
  replayed, reordered or dropped message fails to open, naming how;
- is opened only in order: the receiver expects exactly the next sequence number.

A message cut short fails its tag; a round that stops early is seen by the agent as a
missing message and reported as ``truncated`` (``protocol``). Pure computation, no I/O:
the agent keeps a :class:`ChannelState` in its own store between rounds.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Final

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from deconfliction.errors import ProtocolViolation

VERSION: Final = 1
KINDS: Final = ("commit", "blinded", "tags")
OVERHEAD: Final = 16  #: Poly1305 tag bytes per message
_START: Final = bytes(32)


def new_private_key() -> bytes:
    """A fresh X25519 private key, raw 32 bytes."""
    return X25519PrivateKey.generate().private_bytes_raw()


def public_key(private_key: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private_key).public_key().public_bytes_raw()


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


def decode_key(text: str, field: str) -> bytes:
    """A raw 32-byte key from its unpadded url-safe base64 text."""
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ProtocolViolation(field, "oversize", "a key is 32 bytes in unpadded url-safe base64")
    return key


@dataclass(frozen=True, slots=True)
class Header:
    """What the relay reads of a message: who, which epoch and round, which step, how big."""

    sender: str
    receiver: str
    epoch: int
    round: int
    seq: int
    kind: str
    bucket: int
    commitment: str | None = None

    def aad(self, transcript: bytes) -> bytes:
        body = orjson.dumps(
            [
                VERSION,
                self.sender,
                self.receiver,
                self.epoch,
                self.round,
                self.seq,
                self.kind,
                self.bucket,
                self.commitment,
            ]
        )
        return body + transcript


@dataclass(frozen=True, slots=True)
class Envelope:
    header: Header
    box: bytes


@dataclass(slots=True)
class ChannelState:
    """One direction's progress in one epoch: the next sequence number and the hash of
    the transcript so far."""

    seq: int = 0
    transcript: bytes = _START

    def advance(self, header: Header, box: bytes) -> None:
        self.transcript = hashlib.sha256(self.transcript + header.aad(b"") + box).digest()
        self.seq += 1


@dataclass(slots=True)
class Channel:
    """Both directions between ``me`` and ``peer`` for one epoch."""

    me: str
    peer: str
    epoch: int
    my_private_key: bytes
    peer_public_key: bytes
    sent: ChannelState = field(default_factory=ChannelState)
    received: ChannelState = field(default_factory=ChannelState)
    _keys: dict[str, ChaCha20Poly1305] = field(default_factory=dict)

    def _key(self, sender: str, receiver: str) -> ChaCha20Poly1305:
        name = f"{sender}>{receiver}"
        if name not in self._keys:
            mine = X25519PrivateKey.from_private_bytes(self.my_private_key)
            try:
                shared = mine.exchange(X25519PublicKey.from_public_bytes(self.peer_public_key))
            except ValueError as exc:  # a low-order public key gives the all-zero secret
                raise ProtocolViolation("peer_public_key", "identity", str(exc)) from None
            a, b = sorted((self.me, self.peer))
            info = f"deconfliction-private-channel-v1|{a}/{b}|{name}|epoch={self.epoch}".encode()
            key = HKDF(SHA256(), 32, None, info).derive(shared)
            self._keys[name] = ChaCha20Poly1305(key)
        return self._keys[name]

    def seal(
        self, round_: int, kind: str, bucket: int, body: bytes, commitment: str | None = None
    ) -> Envelope:
        """The next message to the peer."""
        header = Header(self.me, self.peer, self.epoch, round_, self.sent.seq, kind, bucket, commitment)
        box = self._key(self.me, self.peer).encrypt(
            _nonce(header.seq), body, header.aad(self.sent.transcript)
        )
        self.sent.advance(header, box)
        return Envelope(header, box)

    def open(self, envelope: Envelope) -> bytes:
        """The body of the peer's next message; ProtocolViolation naming how it is wrong."""
        h = envelope.header
        if (h.sender, h.receiver, h.epoch) != (self.peer, self.me, self.epoch):
            raise ProtocolViolation("header", "tampered", "the message is not for this channel")
        expected = self.received.seq
        if h.seq < expected:
            raise ProtocolViolation("header.seq", "replayed", f"message {h.seq} was already opened")
        if h.seq > expected:
            raise ProtocolViolation(
                "header.seq", "reordered", f"message {h.seq} arrived before message {expected}"
            )
        try:
            body = self._key(self.peer, self.me).decrypt(
                _nonce(h.seq), envelope.box, h.aad(self.received.transcript)
            )
        except InvalidTag:
            raise ProtocolViolation(
                "box", "tampered", f"message {h.seq} fails its authentication (changed, cut or misplaced)"
            ) from None
        self.received.advance(h, envelope.box)
        return body


def _nonce(seq: int) -> bytes:
    return seq.to_bytes(12, "big")


def private_key_pem(key: bytes) -> bytes:
    """The key as PKCS#8 PEM, to keep in a 0600 file."""
    return X25519PrivateKey.from_private_bytes(key).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def private_key_from_pem(data: bytes) -> bytes:
    key = serialization.load_pem_private_key(data, None)
    if not isinstance(key, X25519PrivateKey):
        raise ProtocolViolation("key_file", "tampered", "the key file does not hold an X25519 key")
    return key.private_bytes_raw()
