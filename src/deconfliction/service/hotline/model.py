"""Hotline domain values: classes, deadlines, desks, messages, escalations, lines."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from deconfliction.errors import InvalidInput
from deconfliction.geo.timewindow import format_utc

#: Languages with a catalogue; a desk speaks one of them.
LANGUAGES: Final = ("en", "ru", "ar")
#: Scripts written right to left, so a console can set ``dir="rtl"``.
RTL_LANGUAGES: Final = frozenset({"ar"})
#: Longest free-text annex, in characters: the annex is a remark, the content is in fields.
MAX_ANNEX_CHARS: Final = 2000


class MessageClass(StrEnum):
    """How urgent a message is; STOP skips every queue and every refusal."""

    ROUTINE = "ROUTINE"
    PRIORITY = "PRIORITY"
    STOP = "STOP"

    @property
    def rank(self) -> int:
        """Queue position: lower is served first."""
        return _RANK[self]


_RANK: Final = {MessageClass.STOP: 0, MessageClass.PRIORITY: 1, MessageClass.ROUTINE: 2}


def parse_class(value: object, field_name: str = "class") -> MessageClass:
    if not isinstance(value, str):
        raise InvalidInput(field_name, f"expected one of ROUTINE, PRIORITY, STOP, got {value!r}")
    try:
        return MessageClass(value)
    except ValueError:
        raise InvalidInput(field_name, f"unknown class {value!r}; use ROUTINE, PRIORITY or STOP") from None


@dataclass(frozen=True, slots=True)
class Deadline:
    """How long a class may wait for machine receipt and for a person's acknowledgement."""

    delivery_s: float
    ack_s: float

    def __post_init__(self) -> None:
        for name in ("delivery_s", "ack_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise InvalidInput(name, f"must be a number of seconds, got {value!r}")
            if value <= 0:
                raise InvalidInput(name, f"must be positive, got {value}")
        if self.ack_s < self.delivery_s:
            raise InvalidInput("ack_s", "acknowledgement cannot be due before delivery")


@dataclass(frozen=True, slots=True)
class Deadlines:
    """Deadline per class; the defaults follow the design brief (STOP 10 s / 60 s)."""

    per_class: Mapping[MessageClass, Deadline] = field(
        default_factory=lambda: {
            MessageClass.STOP: Deadline(10.0, 60.0),
            MessageClass.PRIORITY: Deadline(30.0, 300.0),
            MessageClass.ROUTINE: Deadline(300.0, 1800.0),
        }
    )

    def __post_init__(self) -> None:
        missing = [c.value for c in MessageClass if c not in self.per_class]
        if missing:
            raise InvalidInput("deadlines", f"no deadline for class {', '.join(missing)}")

    def of(self, cls: MessageClass) -> Deadline:
        return self.per_class[cls]

    @staticmethod
    def parse(text: str) -> Deadlines:
        """``STOP=10/60,PRIORITY=30/300,ROUTINE=300/1800`` (seconds; omitted classes keep
        their defaults), the form of ``$DECONFLICTION_HOTLINE_DEADLINES``."""
        table = dict(Deadlines().per_class)
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, times = part.partition("=")
            delivery, slash, ack = times.partition("/")
            if not sep or not slash:
                raise InvalidInput("deadlines", f"{part!r} is not CLASS=DELIVERY_S/ACK_S")
            cls = parse_class(name.strip(), "deadlines")
            try:
                seconds = float(delivery), float(ack)
            except ValueError:
                raise InvalidInput("deadlines", f"{part!r}: seconds must be numbers") from None
            try:
                table[cls] = Deadline(*seconds)
            except InvalidInput as exc:
                raise exc.within("deadlines") from None
        return Deadlines(table)


@dataclass(frozen=True, slots=True)
class Message:
    """One hotline message as stored."""

    id: str
    sender: str
    recipient: str
    #: The recipient's desk the message went to (its duty desk unless the sender chose one).
    desk: str
    cls: MessageClass
    template: str
    fields: dict[str, Any]
    annex: str | None
    geometry_sha256: str | None
    reply_to: str | None
    created_at: datetime
    deliver_by: datetime
    ack_by: datetime | None
    received_at: datetime | None = None
    acked_at: datetime | None = None
    ack_message: str | None = None
    ack_signature: str | None = None

    @property
    def state(self) -> str:
        """sent -> received -> acknowledged (messages that need no acknowledgement stop at received)."""
        if self.acked_at is not None:
            return "acknowledged"
        return "received" if self.received_at is not None else "sent"

    def involves(self, party: str) -> bool:
        return party in (self.sender, self.recipient)

    def to_dict(self) -> dict[str, Any]:
        """The message as JSON-ready data, no rendering (audit bodies, events, exports)."""

        def t(value: datetime | None) -> str | None:
            return format_utc(value) if value is not None else None

        return {
            "id": self.id,
            "from": self.sender,
            "to": self.recipient,
            "desk": self.desk,
            "class": self.cls.value,
            "template": self.template,
            "fields": self.fields,
            "annex": self.annex,
            "geometry_sha256": self.geometry_sha256,
            "reply_to": self.reply_to,
            "created_at": t(self.created_at),
            "deliver_by": t(self.deliver_by),
            "ack_by": t(self.ack_by),
            "received_at": t(self.received_at),
            "acked_at": t(self.acked_at),
            "ack_message": self.ack_message,
            "state": self.state,
        }


class Stage(StrEnum):
    """Which deadline was missed."""

    DELIVERY = "delivery"
    ACKNOWLEDGEMENT = "acknowledgement"


@dataclass(frozen=True, slots=True)
class Escalation:
    """A missed deadline, and who was told."""

    message_id: str
    stage: Stage
    level: int
    deadline: datetime
    at: datetime
    #: Parties told (the recipient's desk and the sender) and the chain step alerted, if any.
    notify: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "message": self.message_id,
            "stage": self.stage.value,
            "level": self.level,
            "deadline": format_utc(self.deadline),
            "at": format_utc(self.at),
            "notify": self.notify,
        }


@dataclass(frozen=True, slots=True)
class Suspension:
    """``party`` suspended its line with ``other``."""

    party: str
    other: str
    since: datetime
    reason: str | None


@dataclass(frozen=True, slots=True)
class Line:
    """The caller's line with one other party."""

    other: str
    suspended_by_me: Suspension | None
    suspended_by_them: Suspension | None

    @property
    def state(self) -> str:
        return "suspended" if self.suspended_by_me or self.suspended_by_them else "open"


def after(at: datetime, seconds: float) -> datetime:
    return at + timedelta(seconds=seconds)
