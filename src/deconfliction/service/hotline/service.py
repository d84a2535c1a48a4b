"""Hotline use-cases: send, receipt, acknowledge, read, suspend/resume, sweep.

Each use-case is one store transaction. Everything that happens to a message (sent,
received, acknowledged, escalated, refused) and every suspension is written, in that
same transaction, as an outbox event for the party that must hear of it and as an
audit entry in the chain of every party involved (the same body in both chains, so
their logs can be matched entry for entry).
"""

from __future__ import annotations

import math
import secrets
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from deconfliction.engine.operation import check_identifier
from deconfliction.engine.policy import PairMode
from deconfliction.engine.strategic import conflict_reference
from deconfliction.errors import Conflict, Forbidden, GeometryMismatch, InvalidInput, LineSuspended, NotFound
from deconfliction.geo.timewindow import format_utc, parse_utc
from deconfliction.service.clock import Clock
from deconfliction.service.hotline.fields import SHA256, FootprintReader, geometry_sha256
from deconfliction.service.hotline.model import (
    MAX_ANNEX_CHARS,
    Deadlines,
    Escalation,
    Line,
    Message,
    MessageClass,
    Stage,
    Suspension,
    after,
    parse_class,
)
from deconfliction.service.hotline.render import Renderer, negotiate
from deconfliction.service.hotline.templates import TEMPLATES, Template, parse_fields, template
from deconfliction.service.signing import SIGNATURE_FIELD, acknowledgement_signature
from deconfliction.store.auth import Desk, DesksRepo
from deconfliction.store.base import Store, Transaction
from deconfliction.store.events import AuditRepo, EventsRepo
from deconfliction.store.hotline import HotlineRepo
from deconfliction.store.policy import PoliciesRepo

#: The desk a message goes to when the sender names none.
DUTY_DESK: Final = "duty"
#: Actor of audit entries written by the deadline sweep rather than a party.
SYSTEM: Final = "system"


def duty_desk(tx: Transaction, party: str, desk_id: str | None = None) -> Desk:
    """The desk ``desk_id`` of ``party``, or its duty desk: the desk called ``duty``, else its
    first desk by id, else (no desk configured yet) an English desk with no chain."""
    desks = tx.repo(DesksRepo)
    if desk_id is not None:
        return desks.get(party, desk_id)
    found = desks.list(party)
    named = [d for d in found if d.id == DUTY_DESK]
    if named or found:
        return (named or found)[0]
    return Desk(party, DUTY_DESK)


def check_annex(annex: Any) -> str | None:
    """The annex as stored: None when absent or blank; length and characters checked."""
    if annex is None:
        return None
    if not isinstance(annex, str):
        raise InvalidInput("annex", f"expected text, got {type(annex).__name__}")
    if len(annex) > MAX_ANNEX_CHARS:
        raise InvalidInput("annex", f"{len(annex)} characters; the limit is {MAX_ANNEX_CHARS}")
    check_text(annex, "annex")
    return annex.strip() or None


def check_text(text: str, field: str) -> None:
    """Refuse control characters (they could rewrite what a console shows: terminal escapes)
    and lone surrogates (not text; no store can encode them)."""
    for ch in text:
        if ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cs"):
            raise InvalidInput(field, f"character U+{ord(ch):04X} is not allowed")


def _t(value: str | None) -> datetime | None:
    return parse_utc(value, "time") if value is not None else None


def _message(row: Mapping[str, Any]) -> Message:
    return Message(
        id=row["id"],
        sender=row["sender"],
        recipient=row["recipient"],
        desk=row["desk"],
        cls=MessageClass(row["msg_class"]),
        template=row["template"],
        fields=row["fields"],
        annex=row["annex"],
        geometry_sha256=row["geometry_sha256"],
        reply_to=row["reply_to"],
        created_at=parse_utc(row["created_at"], "created_at"),
        deliver_by=parse_utc(row["deliver_by"], "deliver_by"),
        ack_by=_t(row["ack_by"]),
        received_at=_t(row["received_at"]),
        acked_at=_t(row["acked_at"]),
        ack_message=row["ack_message"],
        ack_signature=row["ack_signature"],
    )


def ack_payload(message_id: str, party: str, geometry: str | None) -> dict[str, Any]:
    """What an acknowledging party signs: the message, who acknowledges, the geometry seen."""
    return {"kind": "hotline.ack", "message": message_id, "by": party, "geometry_sha256": geometry}


class HotlineService:
    """The hotline over one store."""

    def __init__(
        self, store: Store, clock: Clock, footprints: FootprintReader, deadlines: Deadlines | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        self.footprints = footprints
        self.deadlines = deadlines or Deadlines()

    # -- sending ---------------------------------------------------------------------------

    def send(
        self,
        sender: str,
        to: Any,
        cls: Any,
        template_code: Any,
        fields: Any,
        annex: Any = None,
        desk: Any = None,
        signature: str | None = None,
    ) -> Message:
        """Send a message to ``to``'s desk. Everything is checked before anything is written;
        an ACK template acknowledges the message it names (see :meth:`acknowledge`)."""
        tpl = template(template_code)
        klass = parse_class(cls)
        if klass not in tpl.classes:
            allowed = ", ".join(sorted(c.value for c in tpl.classes))
            raise InvalidInput("class", f"template {tpl.code} is sent as {allowed}, not {klass.value}")
        check_identifier(to, "to")
        if desk is not None:
            check_identifier(desk, "desk")
        if to == sender:
            raise InvalidInput("to", "a party does not message itself")
        parsed = parse_fields(tpl, fields, self.footprints)
        annex_text = check_annex(annex)
        if tpl.code == "ACK":
            message, _ = self._acknowledge(
                sender,
                parsed.wire["message"],
                parsed.wire.get("geometry_sha256"),
                signature,
                annex_text,
                expect=(to, klass),
            )
            return message
        if signature is not None:
            raise InvalidInput("signature", "only acknowledgements are signed")
        now = self.clock.now()
        refusal: str | None = None
        with self.store.transaction() as tx:
            tx.get_party(sender)
            tx.get_party(to)
            target = duty_desk(tx, to, desk)
            if tpl.current_conflict:
                self._require_current_conflict(tx, sender, to, parsed.wire["conflict"])
            hot = tx.repo(HotlineRepo)
            blocking = hot.suspended_between(sender, to)
            if blocking and klass is not MessageClass.STOP:
                refusal = self._refuse(tx, sender, to, klass, tpl, blocking, now)
            else:
                message = self._insert(tx, sender, to, target, klass, tpl, parsed.wire, annex_text, None, now)
        if refusal is not None:
            raise LineSuspended(refusal)
        return message

    def _insert(
        self,
        tx: Transaction,
        sender: str,
        to: str,
        desk: Desk,
        klass: MessageClass,
        tpl: Template,
        wire: dict[str, Any],
        annex: str | None,
        reply_to: str | None,
        now: datetime,
    ) -> Message:
        deadline = self.deadlines.of(klass)
        deliver_by = after(now, deadline.delivery_s)
        ack_by = after(now, deadline.ack_s) if tpl.needs_ack else None
        message = Message(
            id=f"M-{secrets.token_hex(8)}",
            sender=sender,
            recipient=to,
            desk=desk.id,
            cls=klass,
            template=tpl.code,
            fields=wire,
            annex=annex,
            geometry_sha256=geometry_sha256(wire, tpl.fields),
            reply_to=reply_to,
            created_at=now,
            deliver_by=deliver_by,
            ack_by=ack_by,
        )
        tx.repo(HotlineRepo).insert_message(
            {
                **{k: v for k, v in message.to_dict().items() if k not in ("from", "to", "class", "state")},
                "sender": sender,
                "recipient": to,
                "msg_class": klass.value,
                "rank": klass.rank,
                "deliver_by_s": deliver_by.timestamp(),
                "ack_by_s": ack_by.timestamp() if ack_by else None,
                "ack_window_s": deadline.ack_s - deadline.delivery_s if ack_by else None,
                "sweep_delivery_s": deliver_by.timestamp(),
                "sweep_ack_s": ack_by.timestamp() if ack_by else None,
            }
        )
        body = message.to_dict()
        # Rendered for the desk it went to, so a console can show it straight from the stream.
        rendered = self.view(message, desk.language)["rendered"]
        tx.repo(EventsRepo).append(to, "hotline.message", {"message": body, "rendered": rendered}, now)
        self._audit(tx, (sender, to), "hotline.message", sender, {"message": body}, now)
        return message

    def _refuse(
        self,
        tx: Transaction,
        sender: str,
        to: str,
        klass: MessageClass,
        tpl: Template,
        blocking: list[tuple[str, str, str, str | None]],
        now: datetime,
    ) -> str:
        """Record a refusal (the other side hears of it) and return the notice for the sender."""
        by = ", ".join(
            f"{p} since {since}" + (f" ({reason})" if reason else "") for p, _, since, reason in blocking
        )
        notice = (
            f"the line between {sender} and {to} is suspended by {by}: this {klass.value} {tpl.code} "
            "message was refused and not delivered; only STOP messages pass a suspended line"
        )
        body = {
            "from": sender,
            "to": to,
            "class": klass.value,
            "template": tpl.code,
            "at": format_utc(now),
            "suspended_by": [p for p, _, _, _ in blocking],
            "notice": notice,
        }
        tx.repo(EventsRepo).append(to, "hotline.refused", body, now)
        self._audit(tx, (sender, to), "hotline.refused", sender, body, now)
        return notice

    @staticmethod
    def _require_current_conflict(tx: Transaction, sender: str, to: str, reference: str) -> None:
        if reference.startswith("PX-"):
            # a shared cell of a private pair: only the two agents hold it, so the service
            # checks only that the pair is private (each agent checks the reference itself)
            if tx.repo(PoliciesRepo).get(sender, to).mode is not PairMode.PRIVATE:
                raise InvalidInput(
                    "fields.conflict",
                    f"{reference} names a private-mode cell; {sender} and {to} are not private",
                )
            return
        current = {conflict_reference(c) for c in tx.conflicts_of(sender) if c.b.party == to}
        if reference not in current:
            raise InvalidInput(
                "fields.conflict",
                f"{reference} is not a current conflict between {sender} and {to}"
                + (f"; current: {', '.join(sorted(current))}" if current else "; they have none"),
            )

    # -- receipt and acknowledgement ---------------------------------------------------------

    def receipt(self, party: str, message_id: str) -> Message:
        """Record machine receipt by the recipient (idempotent: the first time counts)."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            message = self._visible(tx, party, message_id, lock=True)
            self._require_recipient(message, party, "receipt")
            if tx.repo(HotlineRepo).mark_received(message.id, format_utc(now)):
                self._received(tx, message, now)
            return _message(tx.repo(HotlineRepo).message(message.id))

    def read_inbox(self, party: str, limit: int = 100, unacked_only: bool = False) -> list[Message]:
        """:meth:`inbox`, recording machine receipt of every listed message that had none:
        a desk that has read a message has received it, so a PRIORITY message (or the
        ACK sent back for one) read in a client does not escalate for want of a receipt."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            repo = tx.repo(HotlineRepo)
            read = []
            for row in repo.inbox(party, limit, unacked_only):
                message = _message(row)
                if message.received_at is None and repo.mark_received(message.id, format_utc(now)):
                    self._received(tx, message, now)
                    message = _message(repo.message(message.id))
                read.append(message)
            return read

    def read(self, party: str, message_id: str) -> Message:
        """:meth:`get`, recording machine receipt when ``party`` is the recipient."""
        message = self.get(party, message_id)
        if message.recipient == party and message.received_at is None:
            return self.receipt(party, message_id)
        return message

    def _received(self, tx: Transaction, message: Message, now: datetime) -> None:
        body = {"message": message.id, "by": message.recipient, "at": format_utc(now)}
        tx.repo(EventsRepo).append(message.sender, "hotline.receipt", body, now)
        self._audit(tx, (message.sender, message.recipient), "hotline.receipt", message.recipient, body, now)

    def acknowledge(
        self,
        party: str,
        message_id: str,
        geometry: str | None,
        signature: str | None = None,
        annex: str | None = None,
    ) -> tuple[Message, Message]:
        """A person at ``party``'s desk acknowledges ``message_id``, echoing the hash of the
        geometry they saw. Returns (the ACK message sent back, the acknowledged message)."""
        return self._acknowledge(party, message_id, geometry, signature, check_annex(annex), None)

    def _acknowledge(
        self,
        party: str,
        message_id: Any,
        geometry: Any,
        signature: str | None,
        annex: str | None,
        expect: tuple[str, MessageClass] | None,
    ) -> tuple[Message, Message]:
        if geometry is not None and not (isinstance(geometry, str) and SHA256.fullmatch(geometry)):
            raise InvalidInput("geometry_sha256", "expected 64 lowercase hex digits")
        now = self.clock.now()
        with self.store.transaction() as tx:
            hot = tx.repo(HotlineRepo)
            message = self._visible(tx, party, message_id, lock=True)
            self._require_recipient(message, party, "acknowledgement")
            if expect is not None and expect != (message.sender, message.cls):
                if expect[0] != message.sender:
                    raise InvalidInput("to", f"an ACK of {message.id} goes to its sender {message.sender}")
                raise InvalidInput("class", f"an ACK of {message.id} has its class {message.cls.value}")
            if not TEMPLATES[message.template].needs_ack:
                raise Conflict(f"message {message.id} is an acknowledgement: it is not acknowledged in turn")
            if message.acked_at is not None:
                raise Conflict(f"message {message.id} was already acknowledged by {message.ack_message}")
            if geometry != message.geometry_sha256:
                if message.geometry_sha256 is None:
                    raise GeometryMismatch(
                        f"message {message.id} carries no geometry: send no geometry_sha256"
                    )
                raise GeometryMismatch(
                    f"the geometry you acknowledge hashes to {geometry or 'nothing'}, but message "
                    f"{message.id} carries geometry {message.geometry_sha256}: fetch it again, check "
                    "what you read, and acknowledge the hash of what you were sent"
                )
            signed = acknowledgement_signature(tx, party, ack_payload(message.id, party, geometry), signature)
            if message.received_at is None and hot.mark_received(message.id, format_utc(now)):
                self._received(tx, message, now)
            wire: dict[str, Any] = {"message": message.id}
            if geometry is not None:
                wire["geometry_sha256"] = geometry
            ack = self._insert(
                tx, party, message.sender, duty_desk(tx, message.sender), message.cls,
                TEMPLATES["ACK"], wire, annex, message.id, now,
            )  # fmt: skip
            if not hot.mark_acked(
                message.id, format_utc(now), ack.id, signed["signature"] if signed else None
            ):
                # Lost a race with another acknowledgement: roll back this one's ACK message.
                raise Conflict(f"message {message.id} was already acknowledged")
            body: dict[str, Any] = {
                "message": message.id,
                "ack": ack.id,
                "by": party,
                "at": format_utc(now),
                "geometry_sha256": geometry,
            }
            if signed is not None:
                body[SIGNATURE_FIELD] = signed
            tx.repo(EventsRepo).append(message.sender, "hotline.ack", body, now)
            self._audit(tx, (message.sender, party), "hotline.ack", party, body, now)
            return ack, _message(hot.message(message.id))

    # -- reading ---------------------------------------------------------------------------

    def get(self, party: str, message_id: str) -> Message:
        """A message ``party`` sent or received; NotFound otherwise (whether or not it exists)."""
        with self.store.transaction() as tx:
            return self._visible(tx, party, message_id)

    def inbox(self, party: str, limit: int = 100, unacked_only: bool = False) -> list[Message]:
        """Messages to ``party``: STOP first, then PRIORITY, then ROUTINE, newest first in each."""
        with self.store.transaction() as tx:
            return [_message(r) for r in tx.repo(HotlineRepo).inbox(party, limit, unacked_only)]

    def sent(self, party: str, limit: int = 100) -> list[Message]:
        with self.store.transaction() as tx:
            return [_message(r) for r in tx.repo(HotlineRepo).sent(party, limit)]

    def escalations(self, party: str, message_id: str) -> list[Escalation]:
        with self.store.transaction() as tx:
            message = self._visible(tx, party, message_id)
            return [
                Escalation(
                    message.id,
                    Stage(r["stage"]),
                    int(r["level"]),
                    parse_utc(r["deadline"], "deadline"),
                    parse_utc(r["at"], "at"),
                    r["notify"],
                )
                for r in tx.repo(HotlineRepo).escalations(message.id)
            ]

    def language_of(self, party: str, accept_language: str | None = None) -> str:
        """The language ``party`` reads in: Accept-Language if it names a catalogue, else
        the language of the party's duty desk."""
        with self.store.transaction() as tx:
            desk_language = duty_desk(tx, party).language
        return negotiate(accept_language, desk_language)

    def view(self, message: Message, language: str) -> dict[str, Any]:
        """The message as data plus its rendering in ``language``."""
        tpl = TEMPLATES[message.template]
        values = parse_fields(tpl, message.fields, self.footprints).values
        rendered = Renderer(language).message(tpl, message.sender, message.cls, message.state, values)
        return {**message.to_dict(), "rendered": rendered}

    # -- lines -----------------------------------------------------------------------------

    def suspend(self, party: str, other: Any, reason: Any = None) -> Line:
        """``party`` suspends its line with ``other``: only STOP passes until it resumes."""
        check_identifier(other, "party")
        if other == party:
            raise InvalidInput("party", "a party has no line with itself")
        if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
            raise InvalidInput("reason", "must be text of at most 500 characters")
        if reason is not None:
            check_text(reason, "reason")
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.get_party(other)
            if not tx.repo(HotlineRepo).suspend(party, other, format_utc(now), reason):
                raise Conflict(f"{party} has already suspended its line with {other}")
            body = {
                "by": party,
                "other": other,
                "state": "suspended",
                "reason": reason,
                "at": format_utc(now),
            }
            tx.repo(EventsRepo).append(other, "hotline.line", body, now)
            self._audit(tx, (party, other), "hotline.suspend", party, body, now)
            return self._line(tx, party, other)

    def resume(self, party: str, other: Any) -> Line:
        """Lift ``party``'s own suspension (the other side's, if any, stays)."""
        check_identifier(other, "party")
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.get_party(other)
            if not tx.repo(HotlineRepo).resume(party, other):
                raise Conflict(f"{party} has not suspended its line with {other}")
            line = self._line(tx, party, other)
            body = {"by": party, "other": other, "state": line.state, "at": format_utc(now)}
            tx.repo(EventsRepo).append(other, "hotline.line", body, now)
            self._audit(tx, (party, other), "hotline.resume", party, body, now)
            return line

    def lines(self, party: str) -> list[Line]:
        """``party``'s line with every other party."""
        with self.store.transaction() as tx:
            others = [p.id for p in tx.list_parties() if p.id != party]
            return [self._line(tx, party, o) for o in others]

    @staticmethod
    def _line(tx: Transaction, party: str, other: str) -> Line:
        mine = theirs = None
        for p, o, since, reason in tx.repo(HotlineRepo).suspended_between(party, other):
            s = Suspension(p, o, parse_utc(since, "since"), reason)
            if p == party:
                mine = s
            else:
                theirs = s
        return Line(other, mine, theirs)

    # -- deadlines -------------------------------------------------------------------------

    def sweep(self, now: datetime | None = None) -> list[Escalation]:
        """Escalate every deadline missed by ``now`` (default: the clock), once each.

        A missed delivery escalates once. A missed acknowledgement escalates to the first
        desk of the recipient desk's chain, then one step further up for every further
        acknowledgement window that passes, until acknowledged or the chain ends. Each
        escalation goes to the recipient and back to the sender."""
        now = now or self.clock.now()
        now_s = now.timestamp()
        with self.store.transaction() as tx:
            hot = tx.repo(HotlineRepo)
            due_rows = [("sweep_delivery_s", r) for r in hot.overdue_delivery(now_s)]
            due_rows += [("sweep_ack_s", r) for r in hot.overdue_ack(now_s)]
        late = [(c, r["id"]) for c, r in sorted(due_rows, key=lambda cr: (cr[1]["rank"], cr[1][cr[0]]))]
        done: list[Escalation] = []
        # One transaction per message (STOP first): a long sweep never holds the parties'
        # outbox counters for more than one message's escalations.
        for column, message_id in late:
            with self.store.transaction() as tx:
                hot = tx.repo(HotlineRepo)
                row = hot.message(message_id, lock=True)
                if row[column] is None or row[column] > now_s:
                    continue  # received, acknowledged or escalated meanwhile
                message = _message(row)
                if column == "sweep_delivery_s":
                    done += self._escalate(tx, message, Stage.DELIVERY, 1, message.deliver_by, None, now)
                    hot.next_sweep(message.id, column, None)
                    continue
                chain = self._desk_or_default(tx, message).escalation
                levels = max(1, len(chain))
                ack_by_s, window = float(row["ack_by_s"]), float(row["ack_window_s"] or 0.0) or 1.0
                due = min(levels, 1 + math.floor((now_s - ack_by_s) / window))
                for level in range(hot.ack_escalations(message.id) + 1, due + 1):
                    deadline = after(message.ack_by or now, (level - 1) * window)
                    step = chain[level - 1] if level <= len(chain) else None
                    done += self._escalate(tx, message, Stage.ACKNOWLEDGEMENT, level, deadline, step, now)
                # The next level falls due one window later; after the chain's end, nothing does.
                hot.next_sweep(message.id, column, ack_by_s + due * window if due < levels else None)
        return done

    @staticmethod
    def _desk_or_default(tx: Transaction, message: Message) -> Desk:
        try:
            return duty_desk(tx, message.recipient, message.desk)
        except NotFound:  # the desk was removed since: its party's duty desk takes over
            return duty_desk(tx, message.recipient)

    def _escalate(
        self,
        tx: Transaction,
        message: Message,
        stage: Stage,
        level: int,
        deadline: datetime,
        step: str | None,
        now: datetime,
    ) -> list[Escalation]:
        notify = {"parties": [message.recipient, message.sender], "desk": message.desk, "escalate_to": step}
        if not tx.repo(HotlineRepo).insert_escalation(
            message.id, stage.value, level, format_utc(deadline), format_utc(now), notify
        ):
            return []
        escalation = Escalation(message.id, stage, level, deadline, now, notify)
        body = {
            **escalation.to_dict(),
            "from": message.sender,
            "to": message.recipient,
            "class": message.cls.value,
            "template": message.template,
        }
        events = tx.repo(EventsRepo)
        events.append(message.recipient, "hotline.escalation", body, now)
        events.append(message.sender, "hotline.escalation", body, now)
        self._audit(tx, (message.sender, message.recipient), "hotline.escalation", SYSTEM, body, now)
        return [escalation]

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _visible(tx: Transaction, party: str, message_id: Any, lock: bool = False) -> Message:
        if not isinstance(message_id, str):
            raise NotFound(f"no message {message_id!r}")
        try:
            message = _message(tx.repo(HotlineRepo).message(message_id, lock))
        except NotFound:
            raise NotFound(f"no message {message_id!r}") from None
        if not message.involves(party):
            raise NotFound(f"no message {message_id!r}")  # the same words: existence does not leak
        return message

    @staticmethod
    def _require_recipient(message: Message, party: str, what: str) -> None:
        if message.recipient != party:
            raise Forbidden(f"only the recipient {message.recipient} records {what} of {message.id}")

    @staticmethod
    def _audit(
        tx: Transaction, parties: tuple[str, str], kind: str, actor: str, body: dict[str, Any], now: datetime
    ) -> None:
        audit = tx.repo(AuditRepo)
        for party in dict.fromkeys(parties):
            audit.append(party, kind, actor, body, now)
