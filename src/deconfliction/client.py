"""A synchronous Python client for the HTTP API (httpx).

::

    from deconfliction.client import Client

    with Client("http://127.0.0.1:8080", client_id, client_secret) as api:
        filed = api.file_operation({"id": "R1", "volumes": [...]})
        for conflict in api.conflicts():
            api.acknowledge(conflict["reference"])

The client fetches an access token with its credentials on first use and fetches a
new one shortly before it expires (or once, on a 401, if the server says it has).

Given several base URLs (the nodes of one service over one PostgreSQL), it talks to one
and moves to the next when that one cannot be reached: a request that never reached a
node (connection refused, connect timeout) is sent to the next; a read (``GET``,
``PUT``, ``DELETE``, whose repetition changes nothing more) is sent again to the next
whatever the transport error; a ``POST`` whose connection broke after it was sent is
not repeated (it may have been done) and raises ``httpx.TransportError``: the caller
knows best whether to send it again (a filing sent twice answers 409 ``AlreadyExists``).
An event stream reconnects to the next node with ``Last-Event-ID``.
Errors come back as :class:`ApiError` carrying the status and the server's error body,
so a caller can tell 404 from 409 from 429 (``retry_after_s``). Methods return the
decoded JSON, as documented in ``docs/api.md`` and the OpenAPI document.

Other features (hotline, events, audit) add their methods to :class:`Client`.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconfliction.errors import InvalidInput

#: Ask for a new token this long before the current one expires.
REFRESH_MARGIN_S: Final = 30.0
#: Methods that may be sent again to another node after any transport error.
_REPEATABLE: Final = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class ApiError(Exception):
    """An error response: ``status``, and the server's ``type``, ``message``, ``field``, ``details``."""

    def __init__(self, status: int, body: Any, headers: httpx.Headers) -> None:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        self.status = status
        self.type: str = str(error.get("type", "HTTPError"))
        self.message: str = str(error.get("message", body))
        self.field: str | None = error.get("field")
        self.details: list[dict[str, Any]] | None = error.get("details")
        retry = headers.get("retry-after")
        self.retry_after_s: float | None = float(retry) if retry and retry.isdigit() else None
        where = f" ({self.field})" if self.field else ""
        super().__init__(f"{status} {self.type}{where}: {self.message}")


class Client:
    """A party's connection to the API: token handling and typed calls."""

    def __init__(
        self,
        base_url: str | Sequence[str],
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        http: httpx.Client | None = None,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``base_url``: one node, or several to fail over between, in order of preference.
        ``http`` lets a caller supply its own httpx client (e.g. an in-process test client)."""
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise InvalidInput("base_url", "at least one base URL is needed")
        self.base_urls = urls
        made = [httpx.Client(base_url=url, timeout=timeout_s) for url in urls] if http is None else []
        self._nodes = [http] if http is not None else made
        self._node = 0
        self._owns_http = http is None
        self.client_id = client_id
        self._secret = client_secret
        self._scope = scope
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_http:
            for node in self._nodes:
                node.close()

    @property
    def _http(self) -> httpx.Client:
        return self._nodes[self._node]

    @property
    def base_url(self) -> str:
        """The node requests go to now."""
        return str(self._http.base_url)

    def _next_node(self, failed: httpx.Client) -> None:
        with self._lock:
            if self._nodes[self._node] is failed:  # another thread may have moved on already
                self._node = (self._node + 1) % len(self._nodes)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """``method path`` to the current node, moving on as the module docstring says."""
        for tried in range(1, len(self._nodes) + 1):
            http = self._http
            try:
                return http.request(method, path, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                if tried == len(self._nodes):
                    raise
            except httpx.TransportError:
                if method not in _REPEATABLE or tried == len(self._nodes):
                    raise
            self._next_node(http)
        raise AssertionError("unreachable")

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch_token(self) -> dict[str, Any]:
        """Exchange the credentials for a new access token (done for you when needed)."""
        body: dict[str, Any] = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret,
        }
        if self._scope:
            body["scope"] = self._scope
        started = self._clock()
        response = self._send("POST", "/v1/auth/token", json=body)
        data = _decoded(response)
        self._token = str(data["access_token"])
        self._expires_at = started + float(data["expires_in"])
        return dict(data)

    def _bearer(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at - REFRESH_MARGIN_S:
                self.fetch_token()
            assert self._token is not None
            return self._token

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send an authenticated request and decode its JSON; ApiError on any error status."""
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._bearer()}", **kwargs.pop("headers", {})}
            response = self._send(method, path, headers=headers, **kwargs)
            if response.status_code == 401 and attempt == 1:
                # The server may have restarted with a new key, or our clock may be off.
                with self._lock:
                    self._token = None
                continue
            return _decoded(response)
        raise AssertionError("unreachable")

    # -- identity and policies ------------------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        return dict(self.request("GET", "/v1/auth/whoami"))

    def policies(self) -> list[dict[str, Any]]:
        """The pair policies between the caller's party and every other party."""
        return list(self.request("GET", "/v1/policies"))

    # -- operations -----------------------------------------------------------------------

    def file_operation(self, operation: dict[str, Any]) -> dict[str, Any]:
        """File ``{"id", "volumes": [...], "priority"?, "affiliation"?, "purpose"?}``;
        returns ``{"operation", "conflicts"}``."""
        return dict(self.request("POST", "/v1/operations", json=operation))

    def file_operations(self, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """File a batch (each as :meth:`file_operation` takes it) in one transaction: all
        or none; returns each one's ``{"operation", "conflicts"}`` in the order sent."""
        return list(self.request("POST", "/v1/operations/batch", json={"operations": operations}))

    def operations(self, states: list[str] | None = None) -> list[dict[str, Any]]:
        params = [("state", s) for s in states or []]
        return list(self.request("GET", "/v1/operations", params=params))

    def operation(self, operation_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/v1/operations/{_seg(operation_id)}"))

    def update_operation(self, operation_id: str, version: int, **changes: Any) -> dict[str, Any]:
        """Change ``volumes``, ``priority`` or ``purpose`` of the operation at ``version``."""
        body = {"version": version, **changes}
        return dict(self.request("PUT", f"/v1/operations/{_seg(operation_id)}", json=body))

    def accept(self, operation_id: str, version: int) -> dict[str, Any]:
        return self._transition(operation_id, "accept", version)

    def activate(self, operation_id: str, version: int) -> dict[str, Any]:
        """Activate; ApiError 409 ``AwarenessRequired`` (conflicts in ``details``) until acknowledged."""
        return self._transition(operation_id, "activate", version)

    def end(self, operation_id: str, version: int) -> dict[str, Any]:
        return self._transition(operation_id, "end", version)

    def cancel(self, operation_id: str, version: int) -> dict[str, Any]:
        return self._transition(operation_id, "cancel", version)

    def _transition(self, operation_id: str, action: str, version: int) -> dict[str, Any]:
        path = f"/v1/operations/{_seg(operation_id)}/{action}"
        return dict(self.request("POST", path, json={"version": version}))

    # -- conflicts ------------------------------------------------------------------------

    def conflicts(self, operation_id: str | None = None) -> list[dict[str, Any]]:
        """The caller's conflicts as it may see them (one operation's, if given)."""
        if operation_id is None:
            return list(self.request("GET", "/v1/conflicts"))
        return list(self.request("GET", f"/v1/operations/{_seg(operation_id)}/conflicts"))

    def acknowledge(self, reference: str, signature: str | None = None) -> dict[str, Any]:
        """Proof of awareness of the other side's current version in conflict ``reference``;
        ``signature``: :func:`sign_payload` over :func:`awareness_payload` (required once the
        party has a registered key)."""
        body = {"signature": signature} if signature is not None else None
        return dict(self.request("POST", f"/v1/conflicts/{_seg(reference)}/acknowledge", json=body))

    # -- disclosures -----------------------------------------------------------------------

    def disclosures(self) -> dict[str, Any]:
        """What each other party has learned of the caller's plans (docs/disclosure.md)."""
        return dict(self.request("GET", "/v1/disclosures"))

    def set_disclosure_budget(self, viewer: str, units: int) -> dict[str, Any]:
        """Allow ``viewer`` to learn ``units`` units of the caller's plans a rolling day."""
        return dict(self.request("PUT", f"/v1/disclosures/budgets/{_seg(viewer)}", json={"units": units}))

    # -- admin (a credential with the admin scope) ----------------------------------------

    def add_party(
        self, party_id: str, name: str, kind: str = "military", language: str = "en"
    ) -> dict[str, Any]:
        body = {"id": party_id, "name": name, "kind": kind, "language": language}
        return dict(self.request("POST", "/v1/admin/parties", json=body))

    def add_desk(
        self, party_id: str, desk_id: str, language: str, escalation: list[str] | None = None
    ) -> dict[str, Any]:
        body = {"id": desk_id, "language": language, "escalation": escalation or []}
        return dict(self.request("POST", f"/v1/admin/parties/{_seg(party_id)}/desks", json=body))

    def create_credential(self, party_id: str, scopes: list[str]) -> dict[str, Any]:
        """A new credential; the response's ``client_secret`` is the only copy."""
        return dict(self.request("POST", "/v1/admin/credentials", json={"party": party_id, "scopes": scopes}))

    def revoke_credential(self, client_id: str) -> dict[str, Any]:
        return dict(self.request("POST", f"/v1/admin/credentials/{_seg(client_id)}/revoke"))

    def set_policy(self, party_a: str, party_b: str, **policy: Any) -> dict[str, Any]:
        """``minima`` (wire form with units), ``min_lead_s``, ``sees`` ({party: level})."""
        path = f"/v1/admin/policies/{_seg(party_a)}/{_seg(party_b)}"
        return dict(self.request("PUT", path, json=policy))

    # -- private mode's relay (docs/private-mode.md) --------------------------------------

    def private_pair(self, peer: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/v1/private/pairs/{_seg(peer)}"))

    def private_post(self, peer: str, message: dict[str, Any]) -> dict[str, Any]:
        return dict(self.request("POST", f"/v1/private/pairs/{_seg(peer)}/messages", json=message))

    def private_messages(self, peer: str, epoch: int, after: int) -> list[dict[str, Any]]:
        params = {"epoch": epoch, "after": after}
        return list(self.request("GET", f"/v1/private/pairs/{_seg(peer)}/messages", params=params))

    def private_refusal(self, peer: str, epoch: int, round_: int, code: str, field: str) -> dict[str, Any]:
        body = {"epoch": epoch, "round": round_, "code": code, "field": field}
        return dict(self.request("POST", f"/v1/private/pairs/{_seg(peer)}/refusals", json=body))

    def private_report(self, peer: str, since_epoch: int = 0) -> dict[str, Any]:
        params = {"since_epoch": since_epoch}
        return dict(self.request("GET", f"/v1/private/pairs/{_seg(peer)}/report", params=params))

    # -- hotline (docs/hotline.md) --------------------------------------------------------

    def send_message(
        self,
        to: str,
        cls: str,
        template: str,
        fields: dict[str, Any],
        annex: str | None = None,
        desk: str | None = None,
        signature: str | None = None,
    ) -> dict[str, Any]:
        """Send ``template`` with its ``fields`` as ``cls`` (ROUTINE, PRIORITY, STOP) to ``to``'s desk."""
        body: dict[str, Any] = {"to": to, "class": cls, "template": template, "fields": fields}
        for key, value in (("annex", annex), ("desk", desk), ("signature", signature)):
            if value is not None:
                body[key] = value
        return dict(self.request("POST", "/v1/messages", json=body))

    def messages(
        self, box: str = "inbox", unacknowledged: bool = False, limit: int = 100, language: str | None = None
    ) -> dict[str, Any]:
        """``{"box", "language", "messages"}``: the inbox (STOP first) or the sent box, rendered."""
        params = {"box": box, "limit": limit, "unacknowledged": str(unacknowledged).lower()}
        return dict(self.request("GET", "/v1/messages", params=params, headers=_language(language)))

    def message(self, message_id: str, language: str | None = None) -> dict[str, Any]:
        return dict(self.request("GET", f"/v1/messages/{_seg(message_id)}", headers=_language(language)))

    def receipt(self, message_id: str) -> dict[str, Any]:
        """Record machine receipt of a message sent to this party."""
        return dict(self.request("POST", f"/v1/messages/{_seg(message_id)}/receipt"))

    def acknowledge_message(
        self,
        message_id: str,
        geometry_sha256: str | None,
        signature: str | None = None,
        annex: str | None = None,
    ) -> dict[str, Any]:
        """Acknowledge, echoing :func:`geometry_hash` of the fields as received; ``{"ack", "message"}``."""
        body = {"geometry_sha256": geometry_sha256, "signature": signature, "annex": annex}
        return dict(self.request("POST", f"/v1/messages/{_seg(message_id)}/ack", json=body))

    def lines(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/v1/lines")["lines"])

    def suspend_line(self, party: str, reason: str | None = None) -> dict[str, Any]:
        return dict(self.request("POST", f"/v1/lines/{_seg(party)}/suspend", json={"reason": reason}))

    def resume_line(self, party: str) -> dict[str, Any]:
        return dict(self.request("POST", f"/v1/lines/{_seg(party)}/resume"))

    # -- events (docs/events.md) ----------------------------------------------------------

    def events(self, after: int = 0, limit: int = 100) -> dict[str, Any]:
        """This party's events with ``seq > after``: ``{"events": [...], "last_seq": n}``."""
        return dict(self.request("GET", "/v1/events", params={"after": after, "limit": limit}))

    def stream_events(
        self, after: int = 0, *, reconnect: bool = True, retry_s: float = 1.0, read_timeout_s: float = 60.0
    ) -> Iterator[dict[str, Any]]:
        """This party's events from ``after`` on, as they commit: ``{"seq", "kind", "at",
        "payload"}`` each, in order, none twice. When the connection drops (or the server
        restarts) it reconnects with ``Last-Event-ID`` and goes on exactly where it was,
        unless ``reconnect`` is false. Stop by leaving the loop."""
        last = after
        while True:
            http = self._http
            try:
                headers = {"Authorization": f"Bearer {self._bearer()}", "Last-Event-ID": str(last)}
                timeout = httpx.Timeout(10.0, read=read_timeout_s)
                with http.stream("GET", "/v1/events/stream", headers=headers, timeout=timeout) as r:
                    if r.status_code >= 400:
                        r.read()
                        if r.status_code == 401:
                            with self._lock:
                                self._token = None
                        _decoded(r)
                    for _, _, data in parse_sse(r.iter_lines()):
                        event: dict[str, Any] = json.loads(data)
                        if event["seq"] <= last:
                            continue
                        last = event["seq"]
                        yield event
            except (httpx.TransportError, ApiError) as exc:
                if not reconnect or (isinstance(exc, ApiError) and exc.status not in (401, 429, 503)):
                    raise
                if isinstance(exc, httpx.TransportError):
                    self._next_node(http)  # resume on the next node, from the same event
            if not reconnect:
                return
            time.sleep(retry_s)

    # -- audit (docs/audit.md) ------------------------------------------------------------

    def audit_keys(self) -> list[dict[str, Any]]:
        """The server's checkpoint signing keys (pin one for ``audit verify --server-key``)."""
        return list(_decoded(self._send("GET", "/v1/audit/keys"))["keys"])

    def audit_export(self) -> dict[str, Any]:
        """This party's audit chain, checkpoints and keys, for ``deconfliction audit verify``."""
        return dict(self.request("GET", "/v1/audit/export"))

    def party_keys(self) -> list[dict[str, Any]]:
        """This party's registered acknowledgement keys."""
        return list(self.request("GET", "/v1/audit/party-keys"))

    def register_party_key(self, party: str, public_key: str) -> dict[str, Any]:
        """(admin) Register ``party``'s Ed25519 public key (base64url raw, or PEM)."""
        body = {"public_key": public_key}
        return dict(self.request("POST", f"/v1/audit/parties/{_seg(party)}/keys", json=body))

    def revoke_party_key(self, party: str, key_id: str) -> None:
        """(admin) Revoke one of ``party``'s acknowledgement keys."""
        self.request("DELETE", f"/v1/audit/parties/{_seg(party)}/keys/{_seg(key_id)}")


#: Names of the hotline fields that say where (their kinds are area, position, altitude).
GEOMETRY_FIELDS: Final = ("area", "position", "altitude")


def geometry_hash(fields: dict[str, Any]) -> str | None:
    """SHA-256 hex of the canonical JSON of a message's geometry fields, as an
    acknowledgement echoes it (None when the message has no geometry)."""
    import hashlib
    import json

    geometry = {k: fields[k] for k in GEOMETRY_FIELDS if k in fields}
    if not geometry:
        return None
    text = json.dumps(geometry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_json(value: Any) -> str:
    """The serialisation every hash and signature is over: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign_payload(private_key: Ed25519PrivateKey, payload: Any) -> str:
    """A party's signature over an acknowledgement payload (unpadded base64url Ed25519
    over its canonical JSON), as the ``signature`` of an acknowledging request."""
    signature = private_key.sign(canonical_json(payload).encode("utf-8"))
    return base64.urlsafe_b64encode(signature).rstrip(b"=").decode("ascii")


def public_key_text(private_key: Ed25519PrivateKey) -> str:
    """The public half of ``private_key`` as the server registers it (base64url raw)."""
    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def awareness_payload(party: str, conflict: dict[str, Any]) -> dict[str, Any]:
    """What ``party`` signs to acknowledge ``conflict`` (an item of :meth:`Client.conflicts`)."""
    return {
        "kind": "conflict.acknowledged",
        "reference": conflict["reference"],
        "by": party,
        "operation_id": conflict["operation_id"],
        "operation_version": conflict["operation_version"],
        "other_party": conflict["other_party"],
    }


def parse_sse(lines: Iterable[str]) -> Iterator[tuple[str | None, str | None, str]]:
    """``(id, event, data)`` for each event of a ``text/event-stream``; comments skipped."""
    ident: str | None = None
    kind: str | None = None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield ident, kind, "\n".join(data)
            ident, kind, data = None, None, []
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "id":
                ident = value
            elif name == "event":
                kind = value
            elif name == "data":
                data.append(value)


def _language(language: str | None) -> dict[str, str]:
    return {"Accept-Language": language} if language else {}


def _seg(value: str) -> str:
    """A path segment, percent-encoded."""
    from urllib.parse import quote

    return quote(value, safe="")


def _decoded(response: httpx.Response) -> Any:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    if response.status_code >= 400:
        raise ApiError(response.status_code, body, response.headers)
    return body
