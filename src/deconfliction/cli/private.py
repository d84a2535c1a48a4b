"""``deconfliction private``: a party's own agent for pairs in private mode.

``keys`` makes the party's keys; ``agent`` runs rounds with a peer through the relay;
``notices``, ``ack`` and ``activate`` work on the agent's own store; ``report`` says, round
by round, what each side and the relay learned (docs/private-mode.md).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from deconfliction.cli.connection import remote
from deconfliction.cli.errors import reports_errors
from deconfliction.client import ApiError, Client
from deconfliction.errors import InvalidInput
from deconfliction.geo.grid import cell_token
from deconfliction.private.channel import decode_key, encode_key, new_private_key, public_key
from deconfliction.service.agent import Agent, AgentKeys, acknowledge, activate
from deconfliction.service.clock import SystemClock
from deconfliction.store import open_store
from deconfliction.store.agent import AgentRepo

R = TypeVar("R")


class ClientLink:
    """The relay's routes through the HTTP client. A request refused for rate (429) is
    sent again after the wait the relay names: a round's polling must not fail on it."""

    def __init__(self, client: Client, sleep: Callable[[float], None] = time.sleep, tries: int = 20) -> None:
        self.client = client
        self.sleep = sleep
        self.tries = tries

    def _call(self, call: Callable[[], R]) -> R:
        for _ in range(self.tries - 1):
            try:
                return call()
            except ApiError as exc:
                if exc.status != 429:
                    raise
                self.sleep(exc.retry_after_s or 1.0)
        return call()

    def pair(self, peer: str) -> dict[str, Any]:
        return self._call(lambda: self.client.private_pair(peer))

    def post(self, peer: str, message: dict[str, Any]) -> dict[str, Any]:
        return self._call(lambda: self.client.private_post(peer, message))

    def fetch(self, peer: str, epoch: int, after: int) -> list[dict[str, Any]]:
        return self._call(lambda: self.client.private_messages(peer, epoch, after))

    def refuse(self, peer: str, epoch: int, round_: int, code: str, field: str) -> None:
        self._call(lambda: self.client.private_refusal(peer, epoch, round_, code, field))


def write_keys(path: Path) -> str:
    """Write a new key file (0600) and return the public key to hand to the peer."""
    key = new_private_key()
    data = {"x25519": encode_key(key), "master": encode_key(os.urandom(32))}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(orjson.dumps(data))
    return encode_key(public_key(key))


def read_keys(path: Path, peer_key: str) -> AgentKeys:
    try:
        data = orjson.loads(path.read_bytes())
        private, master = decode_key(data["x25519"], "--key-file"), decode_key(data["master"], "--key-file")
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise InvalidInput("--key-file", f"cannot read a key file from {path}: {exc}") from None
    return AgentKeys(private, decode_key(peer_key, "--peer-key"), master)


@click.group("private")
def private() -> None:
    """Private mode: find shared cells with a rival by private set intersection."""


@private.command("keys")
@click.argument("key_file", type=click.Path(path_type=Path, dir_okay=False))
@reports_errors
def keys(key_file: Path) -> None:
    """Make the party's private-mode keys in KEY_FILE (0600, never overwritten) and print
    the public key to hand to the peer out of band."""
    if key_file.exists():
        raise InvalidInput("KEY_FILE", f"{key_file} exists; keys are never overwritten")
    click.echo(write_keys(key_file))


_STORE = click.option("--store", "store_url", required=True, help="The agent's own store (SQLite path).")
_PARTY = click.option("--as", "party", required=True, help="The party this agent acts for.")


def _relay_options(command: Any) -> Any:
    for option in reversed(
        [
            click.option("--relay", envvar="DECONFLICTION_URL", required=True, help="Relay base URL."),
            click.option("--client-id", envvar="DECONFLICTION_CLIENT_ID", help="Credential id at the relay."),
            click.option("--client-secret", envvar="DECONFLICTION_CLIENT_SECRET", help="Its secret."),
            click.option("--peer", required=True, help="The other party of the private pair."),
        ]
    ):
        command = option(command)
    return command


def _agent_options(command: Any) -> Any:
    """The options of a command that acts as the party's agent towards one peer."""
    for option in reversed(
        [
            _STORE,
            _PARTY,
            click.option("--relay", envvar="DECONFLICTION_URL", required=True, help="Relay base URL."),
            click.option("--client-id", envvar="DECONFLICTION_CLIENT_ID", help="Credential id at the relay."),
            click.option("--client-secret", envvar="DECONFLICTION_CLIENT_SECRET", help="Its secret."),
            click.option("--peer", required=True, help="The other party of the private pair."),
            click.option(
                "--key-file",
                type=click.Path(path_type=Path, dir_okay=False),
                required=True,
                help="From `keys`.",
            ),
            click.option("--peer-key", required=True, help="The peer's public key, received out of band."),
            click.option(
                "--timeout-s",
                default=600.0,
                show_default=True,
                help="Wait this long for the peer's next message (its agent may start later).",
            ),
        ]
    ):
        command = option(command)
    return command


@contextmanager
def _agent(options: dict[str, Any]) -> Iterator[Agent]:
    keys_ = read_keys(options["key_file"], options["peer_key"])
    store = open_store(options["store_url"])
    try:
        with remote(options["relay"], options["client_id"], options["client_secret"]) as client:
            yield Agent(
                store,
                ClientLink(client),
                options["party"],
                options["peer"],
                keys_,
                SystemClock(),
                timeout_s=options["timeout_s"],
            )
    finally:
        store.close()


@private.command("agent")
@_agent_options
@click.option(
    "--rounds", default=1, show_default=True, type=click.IntRange(min=0), help="Rounds to run (0: forever)."
)
@click.option("--every-s", default=60.0, show_default=True, help="Seconds between rounds.")
@click.option(
    "--ahead", is_flag=True, help="Between rounds, blind the plan's cells for this epoch and the next ahead."
)
@click.option("--json", "as_json", is_flag=True, help="Print each round as JSON.")
@reports_errors
def agent(rounds: int, every_s: float, ahead: bool, as_json: bool, **options: Any) -> None:
    """Run rounds with PEER through the relay, from the plans in the agent's own store."""
    with _agent(options) as runner:
        done = 0
        while rounds == 0 or done < rounds:
            if done:
                time.sleep(every_s)
            outcome = runner.run_round()
            done += 1
            r = outcome.record
            refs = sorted({n.reference for n in outcome.notices})
            if as_json:
                click.echo(orjson.dumps({"round": asdict(r), "references": refs}).decode())
            else:
                click.echo(
                    f"epoch {r.epoch} round {r.round}: sent {r.cells_sent} new cells (bucket {r.bucket}),"
                    f" peer bucket {r.peer_bucket}; {r.shared} cells shared in {r.seconds:.2f} s"
                )
                for n in outcome.notices:
                    click.echo(
                        f"  {n.reference} {n.operation_id}@{n.version} cell {cell_token(n.cell)}"
                        f" band {n.band} slot {n.slot}"
                    )
            if ahead and (rounds == 0 or done < rounds):
                runner.blind_ahead()


@private.command("ahead")
@_agent_options
@click.option(
    "--epochs", default=2, show_default=True, type=click.IntRange(1, 7), help="This epoch and the next N-1."
)
@reports_errors
def ahead_command(epochs: int, **options: Any) -> None:
    """Blind the plan's cells ahead of their rounds (after filing, or before midnight), so
    that a round only re-blinds the peer's set."""
    with _agent(options) as runner:
        count = runner.blind_ahead(epochs)
    click.echo(f"{count} cells blinded ahead")


@private.command("notices")
@_STORE
@click.option("--operation", default=None, help="Only this operation's notices.")
@reports_errors
def notices(store_url: str, operation: str | None) -> None:
    """The agent's conflict notices: one shared cell of one operation version each."""
    store = open_store(store_url)
    try:
        with store.transaction() as tx:
            found = tx.repo(AgentRepo).notices(operation)
    finally:
        store.close()
    for n in found:
        state = "acknowledged" if n.acknowledged_at_s is not None else "to acknowledge"
        click.echo(
            f"{n.reference} {n.peer} {n.operation_id}@{n.version} {cell_token(n.cell)} "
            f"band {n.band} slot {n.slot} {state}"
        )


@private.command("ack")
@click.argument("reference")
@_STORE
@reports_errors
def ack(reference: str, store_url: str) -> None:
    """Acknowledge a shared cell's REFERENCE (proof of awareness, as in native mode)."""
    store = open_store(store_url)
    try:
        count = acknowledge(store, SystemClock(), reference)
    finally:
        store.close()
    click.echo(f"{reference}: {count} notices acknowledged")


@private.command("activate")
@click.argument("operation_id")
@_STORE
@_PARTY
@reports_errors
def activate_command(operation_id: str, store_url: str, party: str) -> None:
    """Activate an operation of the agent's store once its shared cells are acknowledged."""
    store = open_store(store_url)
    try:
        activate(store, party, operation_id)
    finally:
        store.close()
    click.echo(f"{operation_id} activated")


@private.command("report")
@_STORE
@_relay_options
@click.option("--since-epoch", default=0, show_default=True, help="Rounds from this epoch on.")
@reports_errors
def report(
    store_url: str, relay: str, client_id: str | None, client_secret: str | None, peer: str, since_epoch: int
) -> None:
    """The leak report: per round, what this side learned, what the peer learned of it,
    and what the relay holds (JSON)."""
    store = open_store(store_url)
    try:
        with store.transaction() as tx:
            repo = tx.repo(AgentRepo)
            rounds = [r for r in repo.rounds(peer) if r.epoch >= since_epoch]
            learned = [n for n in repo.notices() if n.peer == peer and n.epoch >= since_epoch]
    finally:
        store.close()
    with remote(relay, client_id, client_secret) as client:
        relay_view = client.private_report(peer, since_epoch)
    out = {
        "rounds": [
            {
                "epoch": r.epoch,
                "round": r.round,
                "we_sent": {"cells": r.cells_sent, "bucket": r.bucket, "bytes": r.bytes_sent},
                "peer_sent": {"bucket": r.peer_bucket, "bytes": r.bytes_received},
                "shared_cells": r.shared,
                "seconds": round(r.seconds, 3),
                "peer_learned": "our cells among its own (the same shared cells), and our bucket",
            }
            for r in rounds
        ],
        "we_learned": sorted({(n.reference, cell_token(n.cell), n.band, n.slot) for n in learned}),
        "relay": relay_view,
    }
    click.echo(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())
