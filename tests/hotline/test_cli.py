"""`deconfliction hotline` on a store (both backends) and against a live server over a socket."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from hotlinehelpers import NOTIFY_FIELDS, STOP_FIELDS, setup_parties

from deconfliction.cli import cli
from deconfliction.cli.errors import EXIT_INVALID_INPUT, EXIT_NOT_FOUND, EXIT_STATE_CONFLICT
from deconfliction.store import Store

BIN = str(Path(sys.executable).parent / "deconfliction")


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_send_inbox_ack_suspend_resume_sweep_on_a_store(store: Store, store_url: str) -> None:
    setup_parties(store)
    db = ("--db", store_url)
    code, out, _ = _run(
        "hotline", "send", *db, "--as", "RED", "--to", "BLUE", "--class", "STOP", "--template", "STOP",
        "--fields", json.dumps(STOP_FIELDS), "--json",
    )  # fmt: skip
    assert code == 0, out
    sent = json.loads(out)
    assert sent["rendered"]["language"] == "en"
    code, out, _ = _run("hotline", "inbox", *db, "--as", "BLUE")
    assert code == 0
    assert sent["id"] in out
    assert "СТОП / ПРЕКРАТИТЬ" in out  # BLUE's desk reads Russian
    code, out, _ = _run("hotline", "inbox", *db, "--as", "BLUE", "--lang", "ar", "--json")
    assert json.loads(out)["messages"][0]["rendered"]["direction"] == "rtl"
    code, out, err = _run("hotline", "ack", sent["id"], *db, "--as", "BLUE")
    assert code == 0, err
    assert f"acknowledged {sent['id']}" in out
    assert sent["geometry_sha256"] in out
    assert "RED calls STOP" not in err  # shown in BLUE's language
    assert "RED объявляет СТОП" in err
    code, out, _ = _run("hotline", "inbox", *db, "--as", "RED", "--json")
    assert json.loads(out)["messages"][0]["template"] == "ACK"
    code, out, _ = _run("hotline", "suspend", "RED", *db, "--as", "BLUE", "--reason", "protest")
    assert json.loads(out)["state"] == "suspended"
    code, _, err = _run(
        "hotline", "send", *db, "--as", "RED", "--to", "BLUE", "--template", "NOTIFY",
        "--fields", json.dumps(NOTIFY_FIELDS),
    )  # fmt: skip
    assert code == EXIT_STATE_CONFLICT
    assert "suspended by BLUE" in err
    code, out, _ = _run("hotline", "lines", *db, "--as", "RED")
    assert {ln["other"]: ln["state"] for ln in json.loads(out)} == {"BLUE": "suspended", "CIVIL": "open"}
    code, out, _ = _run("hotline", "resume", "RED", *db, "--as", "BLUE")
    assert json.loads(out)["state"] == "open"
    code, out, _ = _run(
        "hotline", "send", *db, "--as", "RED", "--to", "CIVIL", "--class", "PRIORITY", "--template", "NOTIFY",
        "--fields", json.dumps(NOTIFY_FIELDS),
    )  # fmt: skip
    assert code == 0
    code, out, _ = _run("hotline", "sweep", *db)  # wall clock: the 2026 messages' deadlines lie ahead
    assert code == 0
    assert out.strip().endswith("escalations")


def test_the_cli_records_receipt_on_reading_and_on_request(store: Store, store_url: str) -> None:
    setup_parties(store)
    db = ("--db", store_url)
    sends = []
    for _ in range(2):
        code, out, _ = _run(
            "hotline", "send", *db, "--as", "RED", "--to", "BLUE", "--class", "PRIORITY",
            "--template", "NOTIFY", "--fields", json.dumps(NOTIFY_FIELDS), "--json",
        )  # fmt: skip
        assert code == 0, out
        sends.append(json.loads(out)["id"])
    code, out, _ = _run("hotline", "inbox", *db, "--as", "BLUE", "--json", "--limit", "1")
    assert code == 0
    (listed,) = json.loads(out)["messages"]
    assert listed["received_at"] is not None  # read is received
    unread = next(m for m in sends if m != listed["id"])
    code, out, _ = _run("hotline", "inbox", *db, "--as", "RED", "--sent", "--json")
    states = {m["id"]: m["state"] for m in json.loads(out)["messages"]}
    assert states == {listed["id"]: "received", unread: "sent"}
    code, out, _ = _run("hotline", "receipt", unread, *db, "--as", "BLUE")
    assert code == 0, out
    assert out.startswith(f"received {unread} at ")
    code, _, err = _run("hotline", "receipt", unread, *db, "--as", "RED")  # only the recipient
    assert code != 0
    assert "recipient" in err


def test_cli_bad_input_exits_3_or_4_with_the_field(store: Store, store_url: str, tmp_path: Path) -> None:
    setup_parties(store)
    db = ("--db", store_url, "--as", "RED")
    code, _, err = _run("hotline", "send", *db, "--to", "BLUE", "--template", "NOTIFY", "--fields", "{")
    assert code == EXIT_INVALID_INPUT
    assert "--fields" in err
    bad = tmp_path / "f.json"
    bad.write_text(json.dumps({**NOTIFY_FIELDS, "colour": 1}))
    code, _, err = _run("hotline", "send", *db, "--to", "BLUE", "--template", "NOTIFY", "--fields", f"@{bad}")
    assert code == EXIT_INVALID_INPUT
    assert "fields.colour" in err
    code, _, err = _run("hotline", "ack", "M-0000000000000000", *db)
    assert code == EXIT_NOT_FOUND
    code, _, err = _run("hotline", "inbox", "--db", store_url)
    assert code == EXIT_INVALID_INPUT
    assert "--as" in err
    code, _, err = _run("hotline", "inbox", "--db", store_url, "--as", "GREEN")
    assert code == EXIT_NOT_FOUND


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    db = str(tmp_path / "live.sqlite")
    for party, language in (("RED", "en"), ("BLUE", "ru")):
        subprocess.run(
            [BIN, "admin", "party", "add", party, "--name", party, "--language", language, "--db", db],
            check=True, capture_output=True,
        )  # fmt: skip
    port = _free_port()
    proc = subprocess.Popen(
        [BIN, "serve", "--db", db, "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield url, db
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _credential(db: str, party: str) -> dict[str, str]:
    out = subprocess.run(
        [BIN, "admin", "credential", "create", party, "--scopes", "read,message", "--db", db],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    fields = dict(line.split(":", 1) for line in out.splitlines())
    return {
        **os.environ,
        "DECONFLICTION_CLIENT_ID": fields["client_id"].strip(),
        "DECONFLICTION_CLIENT_SECRET": fields["client_secret"].strip(),
    }


def test_the_cli_against_a_live_server(server: tuple[str, str]) -> None:
    url, db = server
    red, blue = _credential(db, "RED"), _credential(db, "BLUE")

    def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([BIN, "hotline", *args, "--url", url], env=env, capture_output=True, text=True)

    sent = run(red, "send", "--to", "BLUE", "--class", "STOP", "--template", "STOP",
               "--fields", json.dumps(STOP_FIELDS), "--json")  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    message = json.loads(sent.stdout)
    inbox = run(blue, "inbox", "--json")
    assert json.loads(inbox.stdout)["messages"][0]["rendered"]["title"] == "СТОП / ПРЕКРАТИТЬ"
    acked = run(blue, "ack", message["id"])
    assert acked.returncode == 0, acked.stderr
    assert message["geometry_sha256"] in acked.stdout
    again = run(blue, "ack", message["id"])
    assert again.returncode == EXIT_STATE_CONFLICT
    assert "already acknowledged" in again.stderr
    hidden = run(red, "ack", "M-0000000000000000")
    assert hidden.returncode == EXIT_NOT_FOUND
    bad = run(red, "send", "--to", "BLUE", "--template", "SITREP")
    assert bad.returncode == EXIT_INVALID_INPUT
    assert "template" in bad.stderr
