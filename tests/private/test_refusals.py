"""Tampering and replay fail loudly: each bad message is refused with a precise error
naming the rule it broke, and recorded (in the relay's refusals and both audit chains).

The relay refuses what it can see without opening a message (sequence, step, sizes,
budget); the agent refuses what only it can see (a point that is not canonical or is the
identity, a set that does not match its commitment) and reports it to the relay."""

from __future__ import annotations

import base64
import subprocess

import httpx
import pytest

from conftest import BIN, GRID, MINIMA, plan_of
from deconfliction.cli.private import read_keys
from deconfliction.client import ApiError, Client
from deconfliction.private import psi
from deconfliction.private.cells import plan_cells
from deconfliction.private.channel import Channel
from deconfliction.service.admin import AdminService
from deconfliction.service.agent import to_wire
from deconfliction.service.clock import SystemClock
from deconfliction.store import open_store
from deconfliction.store.agent import AgentRepo
from deconfliction.store.events import AuditRepo


def _client(pair, party):
    return Client(pair.relay.url, *pair.creds[party])


def _box(n):
    return base64.b64encode(bytes(n)).decode()


def _message(epoch, seq, kind, bucket=256, round_=1, commitment="ab" * 32, box_bytes=None):
    size = {"commit": 32, "blinded": bucket * 32, "tags": bucket * 16}[kind] + 16
    return {
        "epoch": epoch,
        "round": round_,
        "seq": seq,
        "kind": kind,
        "bucket": bucket,
        "commitment": commitment if kind != "tags" else None,
        "box": _box(size if box_bytes is None else box_bytes),
    }


def _refused(client, message, code, field):
    with pytest.raises(ApiError) as caught:
        client.private_post("blue", message)
    assert caught.value.status == 422
    assert caught.value.field == field
    assert caught.value.message.startswith(f"{code}:")


def test_the_relay_refuses_and_records_each_bad_header(private_pair):
    with _client(private_pair, "red") as red:
        epoch = red.private_pair("blue")["epoch"]
        _refused(red, _message(epoch, 1, "commit"), "reordered", "seq")
        _refused(red, _message(epoch, 0, "blinded"), "out_of_turn", "round")
        _refused(red, _message(epoch, 0, "commit", bucket=300), "oversize", "bucket")
        _refused(red, _message(epoch, 0, "commit", bucket=1 << 17), "over_budget", "bucket")
        _refused(red, _message(epoch, 0, "commit", box_bytes=20), "truncated", "box")
        _refused(red, _message(epoch + 5, 0, "commit"), "out_of_turn", "epoch")
        _refused(red, _message(epoch + 1, 0, "commit"), "out_of_turn", "epoch")  # tomorrow's budget
        _refused(red, _message(epoch - 1, 0, "commit"), "out_of_turn", "epoch")
        red.private_post("blue", _message(epoch, 0, "commit"))
        _refused(red, _message(epoch, 0, "commit"), "replayed", "seq")
        _refused(red, _message(epoch, 1, "blinded", box_bytes=256 * 32 + 17), "oversize", "box")
        _refused(
            red, _message(epoch, 1, "blinded", commitment="cd" * 32), "commitment_mismatch", "commitment"
        )
        _refused(red, _message(epoch, 1, "tags"), "out_of_turn", "kind")
        red.private_post("blue", _message(epoch, 1, "blinded"))
        _refused(red, _message(epoch, 2, "blinded"), "out_of_turn", "kind")
        report = red.private_report("blue")
    codes = [(r["code"], r["reporter"], r["party"]) for r in report["refusals"]]
    assert [c for c, _, _ in codes] == [
        "reordered",
        "out_of_turn",
        "oversize",
        "over_budget",
        "truncated",
        "out_of_turn",
        "out_of_turn",
        "out_of_turn",
        "replayed",
        "oversize",
        "commitment_mismatch",
        "out_of_turn",
        "out_of_turn",
    ]
    assert {(r, p) for _, r, p in codes} == {("relay", "red")}
    # the commitment is in both audit chains, and so is each refusal
    store = open_store(private_pair.relay.db)
    try:
        with store.transaction() as tx:
            for party in ("red", "blue"):
                kinds = [e.kind for e in tx.repo(AuditRepo).entries(party)]
                assert kinds.count("private.commit") == 1
                assert kinds.count("private.refused") == len(codes)
    finally:
        store.close()


def test_a_party_without_credentials_or_in_a_native_pair_gets_nothing(private_pair):
    r = httpx.get(f"{private_pair.relay.url}/v1/private/pairs/blue")
    assert r.status_code == 401
    with _client(private_pair, "red") as red:
        with pytest.raises(ApiError) as caught:
            red.private_pair("nobody")
        assert caught.value.status == 404
        with pytest.raises(ApiError) as caught:
            red.private_post("blue", {**_message(0, 0, "commit"), "box": "x" * 400_000})
        assert caught.value.status == 422
        assert caught.value.field == "box"
        store = open_store(private_pair.relay.db)
        try:
            AdminService(store, SystemClock()).set_policy("red", "blue", mode="native")
        finally:
            store.close()
        with pytest.raises(ApiError) as caught:
            red.private_pair("blue")
        assert caught.value.status == 409
        assert "native mode" in caught.value.message


def _cheat(pair, how):
    """Act as blue for one round against red's real agent, sending a bad set."""
    keys = read_keys(pair.keys["blue"], pair.public["red"])
    with _client(pair, "blue") as blue:
        epoch = blue.private_pair("red")["epoch"]
        dst = psi.domain_tag("red", "blue", epoch, GRID)
        channel = Channel("blue", "red", epoch, keys.private_key, keys.peer_public_key)
        points = psi.padding(256)
        if how == "identity":
            points[7] = psi.IDENTITY
        elif how == "non_canonical":
            points[7] = b"\xff" * 32
        commitment = psi.commitment(dst, points)
        if how == "commitment_mismatch":
            points[7] = psi.padding(1)[0]  # committed to one set, sends another
        red = subprocess.Popen(
            [BIN, *pair.agent_args("red", "blue")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        blue.private_post(
            "red", to_wire(channel.seal(1, "commit", 256, bytes.fromhex(commitment), commitment))
        )
        blue.private_post("red", to_wire(channel.seal(1, "blinded", 256, b"".join(points), commitment)))
        _, err = red.communicate(timeout=120)
        return red.returncode, err, blue.private_report("red")


@pytest.mark.parametrize("how", ["identity", "non_canonical", "commitment_mismatch"])
def test_the_agent_refuses_a_bad_set_and_the_refusal_is_recorded(private_pair, how):
    code, err, report = _cheat(private_pair, how)
    assert code == 3, err  # invalid input: the peer's message
    assert how in err
    field = "points" if how == "commitment_mismatch" else "points[7]"
    assert field in err
    assert [(r["code"], r["reporter"], r["party"], r["field"]) for r in report["refusals"]] == [
        (how, "red", "blue", field)
    ]


def test_a_round_the_peer_never_finishes_is_refused_as_truncated(private_pair):
    red = subprocess.run(
        [BIN, *private_pair.agent_args("red", "blue")[:-2], "--timeout-s", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert red.returncode == 3
    assert "truncated" in red.stderr
    with _client(private_pair, "red") as client:
        report = client.private_report("blue")
    assert [(r["code"], r["reporter"]) for r in report["refusals"]] == [("truncated", "red")]
    # the round is not lost: run again with the peer, red resumes it where it stopped
    # (its commitment and set, already at the relay, are not sent twice)
    done = private_pair.both_rounds()
    assert all(r.returncode == 0 for r in done.values()), done
    red_ops, blue_ops = (
        plan_of(private_pair.stores["red"], "red"),
        plan_of(private_pair.stores["blue"], "blue"),
    )
    expected = plan_cells(red_ops, MINIMA, GRID).cells & plan_cells(blue_ops, MINIMA, GRID).cells
    for party in ("red", "blue"):
        store = open_store(private_pair.stores[party])
        try:
            with store.transaction() as tx:
                found = {(n.cell, n.band, n.slot) for n in tx.repo(AgentRepo).notices()}
                [record] = tx.repo(AgentRepo).rounds("blue" if party == "red" else "red")
        finally:
            store.close()
        assert found == {(c.cell, c.band, c.slot) for c in expected}
        assert record.round == 1
    with _client(private_pair, "red") as client:
        [round_] = client.private_report("blue")["rounds"]
    assert round_["sides"]["red"]["messages"] == round_["sides"]["blue"]["messages"]


def test_a_set_is_handed_on_only_once_the_receiver_has_committed(private_pair):
    with _client(private_pair, "red") as red, _client(private_pair, "blue") as blue:
        epoch = red.private_pair("blue")["epoch"]
        red.private_post("blue", _message(epoch, 0, "commit"))
        red.private_post("blue", _message(epoch, 1, "blinded"))
        seen = blue.private_messages("red", epoch, -1)
        assert [m["kind"] for m in seen] == ["commit"]  # red's set waits for blue's commitment
        blue.private_post("red", {**_message(epoch, 0, "commit"), "commitment": "cd" * 32})
        seen = blue.private_messages("red", epoch, -1)
        assert [m["kind"] for m in seen] == ["commit", "blinded"]
        assert [m["kind"] for m in red.private_messages("blue", epoch, -1)] == ["commit"]
        assert blue.private_messages("red", epoch, 1) == []
