"""``deconfliction hotline``: send, read and acknowledge messages; suspend lines; sweep.

Every command but ``sweep`` acts for one party, either against a server (``--url`` with
the party's credentials, ``$DECONFLICTION_URL``, ``$DECONFLICTION_CLIENT_ID``,
``$DECONFLICTION_CLIENT_SECRET``) or directly on a store (``--db`` with ``--as PARTY``,
for the embedded single-site setup and for operators). ``sweep`` works on a store.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import click

from deconfliction.cli.connection import acting_party, connection_options, remote
from deconfliction.cli.errors import reports_errors
from deconfliction.cli.stores import store_url
from deconfliction.client import Client, geometry_hash
from deconfliction.errors import InvalidDocument
from deconfliction.interop.hotline import deadlines_from_env, read_area
from deconfliction.service.clock import SystemClock
from deconfliction.service.hotline import HotlineService, Line
from deconfliction.service.hotline.service import ack_payload
from deconfliction.store import open_store


class Desk(Protocol):
    """What the commands need, from a server or from a store."""

    def send(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def messages(self, box: str, unacked: bool, limit: int, language: str | None) -> dict[str, Any]: ...
    def message(self, message_id: str, language: str | None) -> dict[str, Any]: ...
    def ack(self, message_id: str, echo: str | None, signature: str | None, annex: str | None) -> Any: ...
    def receipt(self, message_id: str) -> dict[str, Any]: ...
    def suspend(self, party: str, reason: str | None) -> dict[str, Any]: ...
    def resume(self, party: str) -> dict[str, Any]: ...
    def lines(self) -> list[dict[str, Any]]: ...
    def party(self) -> str: ...


class _Remote:
    def __init__(self, client: Client) -> None:
        self.client = client

    def send(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.client.send_message(
            body["to"], body["class"], body["template"], body["fields"], body.get("annex"), body.get("desk")
        )

    def messages(self, box: str, unacked: bool, limit: int, language: str | None) -> dict[str, Any]:
        return self.client.messages(box, unacked, limit, language)

    def message(self, message_id: str, language: str | None) -> dict[str, Any]:
        return self.client.message(message_id, language)

    def ack(self, message_id: str, echo: str | None, signature: str | None, annex: str | None) -> Any:
        return self.client.acknowledge_message(message_id, echo, signature, annex)

    def receipt(self, message_id: str) -> dict[str, Any]:
        return self.client.receipt(message_id)

    def suspend(self, party: str, reason: str | None) -> dict[str, Any]:
        return self.client.suspend_line(party, reason)

    def resume(self, party: str) -> dict[str, Any]:
        return self.client.resume_line(party)

    def lines(self) -> list[dict[str, Any]]:
        return self.client.lines()

    def party(self) -> str:
        return str(self.client.whoami()["party"])


def _line(line: Line) -> dict[str, Any]:
    def s(x: Any) -> dict[str, Any] | None:
        return None if x is None else {"party": x.party, "since": x.since.isoformat(), "reason": x.reason}

    return {
        "other": line.other,
        "state": line.state,
        "suspended_by_me": s(line.suspended_by_me),
        "suspended_by_them": s(line.suspended_by_them),
    }


class _Local:
    def __init__(self, service: HotlineService, party: str) -> None:
        self.service = service
        self.me = party
        with service.store.transaction() as tx:
            tx.get_party(party)

    def _lang(self, language: str | None) -> str:
        return self.service.language_of(self.me, language)

    def send(self, body: dict[str, Any]) -> dict[str, Any]:
        m = self.service.send(
            self.me,
            body["to"],
            body["class"],
            body["template"],
            body["fields"],
            body.get("annex"),
            body.get("desk"),
        )
        return self.service.view(m, self._lang(None))

    def messages(self, box: str, unacked: bool, limit: int, language: str | None) -> dict[str, Any]:
        lang = self._lang(language)
        found = (
            self.service.read_inbox(self.me, limit, unacked)  # reading is receiving
            if box == "inbox"
            else self.service.sent(self.me, limit)
        )
        return {"box": box, "language": lang, "messages": [self.service.view(m, lang) for m in found]}

    def message(self, message_id: str, language: str | None) -> dict[str, Any]:
        view = self.service.view(self.service.read(self.me, message_id), self._lang(language))
        view["escalations"] = [e.to_dict() for e in self.service.escalations(self.me, message_id)]
        return view

    def receipt(self, message_id: str) -> dict[str, Any]:
        return self.service.view(self.service.receipt(self.me, message_id), self._lang(None))

    def ack(self, message_id: str, echo: str | None, signature: str | None, annex: str | None) -> Any:
        ack, message = self.service.acknowledge(self.me, message_id, echo, signature, annex)
        lang = self._lang(None)
        return {"ack": self.service.view(ack, lang), "message": self.service.view(message, lang)}

    def suspend(self, party: str, reason: str | None) -> dict[str, Any]:
        return _line(self.service.suspend(self.me, party, reason))

    def resume(self, party: str) -> dict[str, Any]:
        return _line(self.service.resume(self.me, party))

    def lines(self) -> list[dict[str, Any]]:
        return [_line(x) for x in self.service.lines(self.me)]

    def party(self) -> str:
        return self.me


@contextmanager
def _desk(
    url: str | None, client_id: str | None, secret: str | None, db: str | None, party: str | None
) -> Iterator[Desk]:
    if url:
        with remote(url, client_id, secret) as client:
            yield _Remote(client)
        return
    me = acting_party(party)
    store = open_store(store_url(db))
    try:
        yield _Local(HotlineService(store, SystemClock(), read_area, deadlines_from_env()), me)
    finally:
        store.close()


def _out(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _show(message: dict[str, Any]) -> str:
    r = message["rendered"]
    route = f"{message['from']} -> {message['to']}/{message['desk']}"
    lines = [f"{message['id']}  [{r['class']}]  {route}  {r['state']}"]
    lines += [f"  {r['title']}", f"  {r['summary']}"]
    lines += [f"    {f['label']}: {f['value']}" for f in r["fields"]]
    if message.get("annex"):
        lines.append(f"    {r['annex_label']}: {message['annex']}")
    return "\n".join(lines)


def _fields(text: str | None) -> dict[str, Any]:
    """The --fields value: inline JSON, or @FILE holding it."""
    if text is None:
        return {}
    source = text
    if text.startswith("@"):
        try:
            source = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidDocument("--fields", f"cannot read {text[1:]!r}: {exc.strerror}") from exc
    try:
        value = json.loads(source)
    except ValueError as exc:
        raise InvalidDocument("--fields", f"not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidDocument("--fields", "expected a JSON object of the template's fields")
    return value


@click.group("hotline")
def hotline() -> None:
    """Messages between parties' duty desks (docs/hotline.md)."""


@hotline.command("send")
@click.option("--to", "to", required=True, help="The recipient party.")
@click.option(
    "--class",
    "cls",
    type=click.Choice(["ROUTINE", "PRIORITY", "STOP"]),
    default="ROUTINE",
    show_default=True,
    help="STOP passes suspended lines and rate limits; only the STOP (and ACK) templates use it.",
)
@click.option("--template", required=True, help="NOTIFY, REQUEST-DECONFLICT, STOP, QUERY-AFFILIATION, ...")
@click.option("--fields", "fields_text", default=None, help="The template's fields: JSON, or @FILE.")
@click.option("--annex", default=None, help="Optional free text (not translated; at most 2000 characters).")
@click.option("--desk", default=None, help="A desk of the recipient other than its duty desk.")
@click.option("--json", "as_json", is_flag=True, help="Print the stored message as JSON.")
@connection_options
@reports_errors
def send(
    to: str,
    cls: str,
    template: str,
    fields_text: str | None,
    annex: str | None,
    desk: str | None,
    as_json: bool,
    url: str | None,
    client_id: str | None,
    client_secret: str | None,
    db: str | None,
    party: str | None,
) -> None:
    """Send a message to a party's duty desk; prints its id and deadlines."""
    body = {"to": to, "class": cls, "template": template, "fields": _fields(fields_text), "annex": annex}
    if desk:
        body["desk"] = desk
    with _desk(url, client_id, client_secret, db, party) as d:
        sent = d.send(body)
    if as_json:
        _out(sent)
    else:
        click.echo(_show(sent))
        click.echo(
            f"  deliver by {sent['deliver_by']}; acknowledge by {sent['ack_by'] or '(no acknowledgement)'}"
        )


@hotline.command("inbox")
@click.option("--sent", "sent_box", is_flag=True, help="Show the messages this party sent instead.")
@click.option("--unacknowledged", is_flag=True, help="Only messages not yet acknowledged.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000), help="How many.")
@click.option("--lang", default=None, help="Render in en, ru or ar (default: the desk's language).")
@click.option("--json", "as_json", is_flag=True, help="Print the messages as JSON.")
@connection_options
@reports_errors
def inbox(
    sent_box: bool,
    unacknowledged: bool,
    limit: int,
    lang: str | None,
    as_json: bool,
    url: str | None,
    client_id: str | None,
    client_secret: str | None,
    db: str | None,
    party: str | None,
) -> None:
    """Messages received (STOP first, then PRIORITY, then ROUTINE), rendered in your language."""
    with _desk(url, client_id, client_secret, db, party) as d:
        found = d.messages("sent" if sent_box else "inbox", unacknowledged, limit, lang)
    if as_json:
        _out(found)
        return
    for message in found["messages"]:
        click.echo(_show(message))
    if not found["messages"]:
        click.echo("no messages")


@hotline.command("receipt")
@click.argument("message_id")
@click.option("--json", "as_json", is_flag=True, help="Print the message as JSON.")
@connection_options
@reports_errors
def receipt(
    message_id: str,
    as_json: bool,
    url: str | None,
    client_id: str | None,
    client_secret: str | None,
    db: str | None,
    party: str | None,
) -> None:
    """Record machine receipt of MESSAGE_ID, sent to this party (idempotent).

    `hotline inbox` already records the receipt of every message it lists; this is for a
    message received some other way (e.g. an event stream read by another program)."""
    with _desk(url, client_id, client_secret, db, party) as d:
        message = d.receipt(message_id)
    if as_json:
        _out(message)
    else:
        click.echo(f"received {message_id} at {message['received_at']}")


@hotline.command("ack")
@click.argument("message_id")
@click.option("--key", "key_file", default=None, help="The party's Ed25519 private key (PEM) to sign with.")
@click.option("--annex", default=None, help="Optional free text sent back with the acknowledgement.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@connection_options
@reports_errors
def ack(
    message_id: str,
    key_file: str | None,
    annex: str | None,
    as_json: bool,
    url: str | None,
    client_id: str | None,
    client_secret: str | None,
    db: str | None,
    party: str | None,
) -> None:
    """Acknowledge MESSAGE_ID: fetch it, show it, echo the hash of the geometry shown."""
    with _desk(url, client_id, client_secret, db, party) as d:
        message = d.message(message_id, None)
        # The hash is of the fields this command received and displays, not the server's claim.
        echo = geometry_hash(message["fields"])
        print(_show(message), file=sys.stderr)
        signature = None
        if key_file is not None:
            signature = _sign(key_file, ack_payload(message_id, d.party(), echo))
        result = d.ack(message_id, echo, signature, annex)
    if as_json:
        _out(result)
    else:
        click.echo(f"acknowledged {message_id} with {result['ack']['id']} (geometry {echo or 'none'})")


def _sign(key_file: str, payload: dict[str, Any]) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from deconfliction.service.signing import sign_payload

    try:
        key = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise InvalidDocument("--key", f"cannot read a PEM private key from {key_file!r}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidDocument("--key", "must be an Ed25519 private key")
    return sign_payload(key, payload)


@hotline.command("suspend")
@click.argument("other")
@click.option("--reason", default=None, help="Why; the other side is told.")
@connection_options
@reports_errors
def suspend(
    other: str,
    reason: str | None,
    url: str | None,
    client_id: str | None,
    client_secret: str | None,
    db: str | None,
    party: str | None,
) -> None:
    """Suspend this party's line with OTHER: only STOP messages pass until resumed."""
    with _desk(url, client_id, client_secret, db, party) as d:
        _out(d.suspend(other, reason))


@hotline.command("resume")
@click.argument("other")
@connection_options
@reports_errors
def resume(
    other: str,
    url: str | None,
    client_id: str | None,
    client_secret: str | None,
    db: str | None,
    party: str | None,
) -> None:
    """Lift this party's own suspension of its line with OTHER."""
    with _desk(url, client_id, client_secret, db, party) as d:
        _out(d.resume(other))


@hotline.command("lines")
@connection_options
@reports_errors
def lines(
    url: str | None, client_id: str | None, client_secret: str | None, db: str | None, party: str | None
) -> None:
    """This party's line with every other party: open, or suspended by whom."""
    with _desk(url, client_id, client_secret, db, party) as d:
        _out(d.lines())


@hotline.command("sweep")
@click.option(
    "--db", default=None, help="Store: SQLite path or postgresql:// URL (default $DECONFLICTION_DB)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the escalations as JSON.")
@reports_errors
def sweep(db: str | None, as_json: bool) -> None:
    """Escalate every missed delivery or acknowledgement deadline, once (a server does this every second)."""
    store = open_store(store_url(db))
    try:
        found = HotlineService(store, SystemClock(), read_area, deadlines_from_env()).sweep()
    finally:
        store.close()
    if as_json:
        _out([e.to_dict() for e in found])
        return
    for e in found:
        to = f" -> {e.notify['escalate_to']}" if e.notify.get("escalate_to") else ""
        click.echo(
            f"{e.message_id}: {e.stage.value} deadline {e.deadline.isoformat()} missed (level {e.level}){to}"
        )
    click.echo(f"{len(found)} escalations")
