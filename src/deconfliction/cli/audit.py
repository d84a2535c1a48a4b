"""``deconfliction audit``: export, verify offline, checkpoint, and parties' signing keys."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from deconfliction.cli.errors import EXIT_CONFLICTS_FOUND, reports_errors
from deconfliction.cli.stores import store_url
from deconfliction.errors import InvalidDocument

_DB_HELP = "Store: SQLite path or postgresql:// URL (default $DECONFLICTION_DB)."
_KEY_HELP = (
    "The server's audit signing key file (default $DECONFLICTION_AUDIT_KEY, else <db>.audit-key"
    " beside a SQLite store, else deconfliction-audit.key)."
)


@click.group("audit")
def audit() -> None:
    """The tamper-evident audit log: export, verify offline, sign checkpoints, party keys."""


def _service(db: str | None, key: str | None) -> Any:
    from deconfliction.service.audit import AuditService
    from deconfliction.service.signing import load_server_key
    from deconfliction.store import open_store

    url = store_url(db)
    return AuditService(open_store(url), load_server_key(key, db=url))


def _read_json(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidDocument(path, f"cannot read an audit export: {exc}") from exc


@audit.command("export")
@click.option("--db", default=None, help=_DB_HELP)
@click.option("--party", required=True, help="The party whose chain to export.")
@click.option("--out", "out", default="-", show_default=True, help="File to write ('-' for stdout).")
@click.option("--key", default=None, help=_KEY_HELP)
@reports_errors
def export(db: str | None, party: str, out: str, key: str | None) -> None:
    """Write PARTY's chain, checkpoints (a fresh one over the head) and keys as one JSON document."""
    service = _service(db, key)
    try:
        doc = service.export(party)
    finally:
        service.store.close()
    text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    if out == "-":
        sys.stdout.write(text)
    else:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"{len(doc['entries'])} entries of {party} written to {out}", err=True)


def _trusted(server_key: tuple[str, ...]) -> list[str] | None:
    """Keys given as base64url, or files holding one or GET /v1/audit/keys' JSON."""
    if not server_key:
        return None
    keys: list[str] = []
    for item in server_key:
        path = Path(item)
        if not path.is_file():
            keys.append(item)
            continue
        text = path.read_text(encoding="utf-8").strip()
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:
            keys.append(text)
            continue
        found = doc.get("keys", [doc]) if isinstance(doc, dict) else doc
        keys.extend(k["public_key"] for k in found if isinstance(k, dict) and "public_key" in k)
    return keys


@audit.command("verify")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--against", default=None, type=click.Path(dir_okay=False), help="Another party's export to cross-check."
)
@click.option(
    "--server-key",
    "server_key",
    multiple=True,
    help="Trusted server public key (base64url, or a file from GET /v1/audit/keys); repeatable.",
)
@reports_errors
def verify(file: str, against: str | None, server_key: tuple[str, ...]) -> None:
    """Check an export offline: every hash, link, checkpoint and signature. Exit 1 if anything is wrong."""
    from deconfliction.service.audit_verify import cross_verify, verify_export

    trusted = _trusted(server_key)
    docs = [(file, _read_json(file))]
    if against:
        docs.append((against, _read_json(against)))
    failed = False
    reports = []
    for name, doc in docs:
        report = verify_export(doc, trusted)
        reports.append(report)
        status = "OK" if report.ok else "FAILED"
        click.echo(
            f"{name}: party {report.party}: {report.entries} entries, {report.checkpoints} checkpoints, "
            f"{report.signatures} party signatures: {status}"
        )
        if report.unsigned_acknowledgements:
            seqs = ", ".join(str(s) for s in report.unsigned_acknowledgements)
            click.echo(f"  note: unsigned acknowledgements at seq {seqs} (no key was registered)")
        for finding in report.findings:
            click.echo(f"  {finding}")
        failed = failed or not report.ok
    if against:
        a, b = docs[0][1], docs[1][1]
        findings = cross_verify(a, b) + [f for f in cross_verify(b, a) if f.seq is not None]
        status = "agree" if not findings else "DISAGREE"
        click.echo(f"{reports[0].party} against {reports[1].party}: {status}")
        for finding in findings:
            click.echo(f"  {finding}")
        failed = failed or bool(findings)
    if failed:
        raise SystemExit(EXIT_CONFLICTS_FOUND)


@audit.command("checkpoint")
@click.option("--db", default=None, help=_DB_HELP)
@click.option("--party", default=None, help="Sign only this party's head (default: every chain).")
@click.option("--key", default=None, help=_KEY_HELP)
@reports_errors
def checkpoint(db: str | None, party: str | None, key: str | None) -> None:
    """Sign chain heads now (one party, or every party with entries)."""
    from deconfliction.store.heads import HeadsRepo

    service = _service(db, key)
    try:
        if party is None:
            with service.store.transaction() as tx:
                parties = sorted(tx.repo(HeadsRepo).heads("audit"))
        else:
            parties = [party]
        for name in parties:
            cp = service.checkpoint(name)
            if cp is not None:
                click.echo(f"{name}: seq {cp.seq} hash {cp.hash} signed by {cp.key_id}")
    finally:
        service.store.close()


@audit.command("server-key")
@click.option("--db", default=None, help=_DB_HELP)
@click.option("--key", default=None, help=_KEY_HELP)
@reports_errors
def server_key_cmd(db: str | None, key: str | None) -> None:
    """Print the server's audit public key as JSON (creating the key file if missing)."""
    from deconfliction.service.signing import load_server_key

    click.echo(json.dumps(load_server_key(key, db=store_url(db)).public_dict()))


@audit.command("keygen")
@click.option("--out", required=True, help="File for the new private key (PEM, mode 0600; must not exist).")
@reports_errors
def keygen(out: str) -> None:
    """Make an Ed25519 key pair for a party; print its public key (base64url) to register."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from deconfliction.service.signing import b64u, public_raw

    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise InvalidDocument("--out", f"cannot create {out!r}: {exc}") from exc
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    click.echo(b64u(public_raw(private)))


@audit.command("register-key")
@click.option("--db", default=None, help=_DB_HELP)
@click.option("--party", required=True, help="The party the key belongs to.")
@click.option("--public-key", "public_key", required=True, help="base64url raw key, or a PEM file.")
@reports_errors
def register_key(db: str | None, party: str, public_key: str) -> None:
    """Register PARTY's Ed25519 public key; its acknowledgements must then be signed with it."""
    from deconfliction.service.audit import AuditService
    from deconfliction.store import open_store

    if Path(public_key).is_file():
        public_key = Path(public_key).read_text(encoding="utf-8").strip()
    store = open_store(store_url(db))
    try:
        key = AuditService(store).register_key(party, public_key)
    finally:
        store.close()
    click.echo(f"{party}: key {key.key_id} registered")


@audit.command("revoke-key")
@click.option("--db", default=None, help=_DB_HELP)
@click.option("--party", required=True, help="The party the key belongs to.")
@click.option("--key-id", "key_id", required=True, help="The key's id (as register-key printed it).")
@reports_errors
def revoke_key(db: str | None, party: str, key_id: str) -> None:
    """Revoke one of PARTY's keys: it no longer signs acknowledgements."""
    from deconfliction.service.audit import AuditService
    from deconfliction.store import open_store

    store = open_store(store_url(db))
    try:
        AuditService(store).revoke_key(party, key_id)
    finally:
        store.close()
    click.echo(f"{party}: key {key_id} revoked")
