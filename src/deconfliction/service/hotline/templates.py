"""The message templates: their codes, typed fields, classes, and English text.

The English strings here are the gettext message ids of the catalogues in
``deconfliction/locale/<lang>/LC_MESSAGES/hotline.po``; every one of them must have a
translation in every catalogue (a test checks it, placeholders included). A summary
names only the sender and required fields, so it always renders completely; optional
fields render as labelled lines below it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from deconfliction.errors import InvalidInput
from deconfliction.service.hotline.fields import FieldKind, FieldSpec, FootprintReader, parse_field
from deconfliction.service.hotline.model import MessageClass

ORDINARY: Final = frozenset({MessageClass.ROUTINE, MessageClass.PRIORITY})
ALL_CLASSES: Final = frozenset(MessageClass)


@dataclass(frozen=True, slots=True)
class Template:
    code: str
    title: str
    summary: str
    fields: tuple[FieldSpec, ...]
    #: Only STOP (and the ACK of a STOP) may use the STOP class: a class that passes a
    #: suspended line must not be available for routine talk.
    classes: frozenset[MessageClass]
    #: Whether a person must acknowledge it (an ACK needs only machine receipt).
    needs_ack: bool = True
    #: At least one of these optional fields must be given.
    one_of: tuple[str, ...] = ()
    #: Its ``conflict`` must be a current conflict between sender and recipient (a request
    #: to deconflict names what is in conflict now; a STOP is never refused for a reference).
    current_conflict: bool = False

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


STOP_REASONS: Final = (
    ("COLLISION-RISK", "Risk of collision"),
    ("FRIENDLY-FORCES", "Friendly forces in the area"),
    ("CIVIL-TRAFFIC", "Civil traffic in the area"),
    ("OTHER", "Other reason (see the annex)"),
)
ACTIONS: Final = (
    ("HOLD", "Hold until further notice"),
    ("DELAY", "Delay the activity"),
    ("REROUTE", "Route around the area"),
    ("CHANGE-ALTITUDE", "Change altitude"),
    ("CANCEL", "Cancel the activity"),
)
DISPUTE_REASONS: Final = (
    ("NOT-IN-CONFLICT", "There is no conflict"),
    ("GEOMETRY-WRONG", "The stated position or area is wrong"),
    ("TIME-WRONG", "The stated time is wrong"),
    ("PRIORITY", "Our activity has priority"),
    ("OTHER", "Other reason (see the annex)"),
)

F = FieldSpec
K = FieldKind

TEMPLATES: Final[Mapping[str, Template]] = {
    t.code: t
    for t in (
        Template(
            "NOTIFY",
            "Notification of activity",
            "%(sender)s notifies its activity %(operation)s from %(start)s to %(end)s.",
            (
                F("operation", K.OPERATION, True),
                F("start", K.TIME, True),
                F("end", K.TIME, True),
                F("area", K.AREA),
                F("altitude", K.ALTITUDE),
            ),
            ORDINARY,
        ),
        Template(
            "REQUEST-DECONFLICT",
            "Request to deconflict",
            "%(sender)s requests deconfliction of conflict %(conflict)s. Requested action: %(action)s.",
            (
                F("conflict", K.CONFLICT, True),
                F("action", K.CHOICE, True, ACTIONS),
                F("operation", K.OPERATION),
                F("area", K.AREA),
                F("altitude", K.ALTITUDE),
                F("respond_by", K.TIME),
            ),
            ORDINARY,
            current_conflict=True,
        ),
        Template(
            "STOP",
            "STOP / ABORT",
            "%(sender)s calls STOP: abort all activity in the stated area now. Reason: %(reason)s.",
            (
                F("area", K.AREA, True),
                F("reason", K.CHOICE, True, STOP_REASONS),
                F("altitude", K.ALTITUDE),
                F("until", K.TIME),
                F("conflict", K.CONFLICT),
            ),
            frozenset({MessageClass.STOP}),
        ),
        Template(
            "QUERY-AFFILIATION",
            "Query: whose aircraft is this?",
            "%(sender)s asks whether the aircraft at %(position)s at %(time)s is yours.",
            (
                F("position", K.POSITION, True),
                F("time", K.TIME, True),
                F("altitude", K.ALTITUDE),
            ),
            ORDINARY,
        ),
        Template(
            "NO-CLAIM",
            "Not ours / no claim",
            "%(sender)s states that the activity in question is not theirs and makes no claim to it.",
            (
                F("in_reply_to", K.MESSAGE),
                F("conflict", K.CONFLICT),
                F("position", K.POSITION),
                F("time", K.TIME),
            ),
            ORDINARY,
            one_of=("in_reply_to", "conflict", "position"),
        ),
        Template(
            "DISPUTE",
            "Dispute",
            "%(sender)s disputes this: %(reason)s.",
            (
                F("reason", K.CHOICE, True, DISPUTE_REASONS),
                F("conflict", K.CONFLICT),
                F("message", K.MESSAGE),
            ),
            ORDINARY,
            one_of=("conflict", "message"),
        ),
        Template(
            "ACK",
            "Acknowledgement",
            "%(sender)s acknowledges message %(message)s.",
            (F("message", K.MESSAGE, True), F("geometry_sha256", K.SHA256)),
            ALL_CLASSES,
            needs_ack=False,
        ),
    )
}

#: Label of each field name, whatever template it is in (catalogue msgids).
FIELD_LABELS: Final[Mapping[str, str]] = {
    "operation": "Operation",
    "start": "Start",
    "end": "End",
    "area": "Area",
    "altitude": "Altitude",
    "conflict": "Conflict",
    "action": "Requested action",
    "respond_by": "Reply by",
    "reason": "Reason",
    "until": "Until",
    "position": "Position",
    "time": "Time",
    "in_reply_to": "In reply to",
    "message": "Message",
    "geometry_sha256": "Geometry hash (SHA-256)",
}


def template(code: Any) -> Template:
    """The template named ``code``; InvalidInput on ``template`` otherwise."""
    if not isinstance(code, str) or code not in TEMPLATES:
        raise InvalidInput("template", f"unknown template {code!r}; use one of {', '.join(TEMPLATES)}")
    return TEMPLATES[code]


@dataclass(frozen=True, slots=True)
class ParsedFields:
    wire: dict[str, Any]
    values: dict[str, Any]


def parse_fields(tpl: Template, raw: Any, footprints: FootprintReader) -> ParsedFields:
    """Check ``raw`` against the template: no unknown field, every required one, each of
    its kind. InvalidInput names ``fields.<name>`` (and deeper)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidInput("fields", "expected an object of the template's fields")
    known = {f.name for f in tpl.fields}
    for name in raw:
        if name not in known:
            raise InvalidInput(
                f"fields.{name}", f"template {tpl.code} has no field {name!r}; its fields: {', '.join(known)}"
            )
    wire: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for spec in tpl.fields:
        if spec.name not in raw or raw[spec.name] is None:
            if spec.required:
                raise InvalidInput(f"fields.{spec.name}", f"template {tpl.code} requires it")
            continue
        wire[spec.name], values[spec.name] = parse_field(
            spec, raw[spec.name], f"fields.{spec.name}", footprints
        )
    if tpl.one_of and not any(name in values for name in tpl.one_of):
        raise InvalidInput(
            f"fields.{tpl.one_of[0]}", f"template {tpl.code} needs at least one of {', '.join(tpl.one_of)}"
        )
    return ParsedFields(wire, values)
