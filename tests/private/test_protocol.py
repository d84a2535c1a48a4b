"""Two sides of a round, in process: they learn exactly the shared cells, over rounds;
every changed, replayed, reordered or cut message and every false commitment is refused."""

from __future__ import annotations

from dataclasses import replace

import pytest

from deconfliction.errors import ProtocolViolation
from deconfliction.geo.grid import DisclosureGrid
from deconfliction.private import psi
from deconfliction.private.cells import SpaceTimeCell
from deconfliction.private.channel import Channel, ChannelState, new_private_key, public_key
from deconfliction.private.protocol import PART, EpochState, Round, padded_set

KEYS = {"red": new_private_key(), "blue": new_private_key()}
DST = psi.domain_tag("red", "blue", 5, DisclosureGrid())


def _side(me, peer, state=None, number=1):
    state = state or EpochState(5)
    channel = Channel(me, peer, 5, KEYS[me], public_key(KEYS[peer]), state.sent, state.received)
    return Round(state, channel, DST, psi.EpochSecret.derive(me.encode() * 32, DST), number)


def _cells(*ids):
    return [SpaceTimeCell(600000000000000000 + i, 3, 100) for i in ids]


def _run(red, blue, red_cells, blue_cells):
    rc, bc = red.prepare(red_cells), blue.prepare(blue_cells)
    red.take_commit(bc)
    blue.take_commit(rc)
    red_tags, blue_tags = [], []
    for env in blue.blinded_messages():
        red_tags += red.take_blinded(env)
    for env in red.blinded_messages():
        blue_tags += blue.take_blinded(env)
    assert [red.take_tags(t) for t in blue_tags][-1]
    assert [blue.take_tags(t) for t in red_tags][-1]


def test_each_side_learns_exactly_the_shared_cells_and_the_same_reference():
    red, blue = _side("red", "blue"), _side("blue", "red")
    _run(red, blue, _cells(1, 2, 3), _cells(3, 4))
    r = red.state.shared(_cells(1, 2, 3))
    b = blue.state.shared(_cells(3, 4))
    assert set(r) == set(b) == set(_cells(3))
    assert r == b  # both hold the same tag, hence the same reference


def test_a_later_round_sends_only_new_cells_and_still_meets_old_ones():
    red, blue = _side("red", "blue"), _side("blue", "red")
    _run(red, blue, _cells(1, 2), _cells(7))
    red2, blue2 = _side("red", "blue", red.state, 2), _side("blue", "red", blue.state, 2)
    _run(red2, blue2, [], _cells(2, 9))
    assert set(red2.state.shared(_cells(1, 2))) == set(_cells(2))
    assert set(blue2.state.shared(_cells(7, 2, 9))) == set(_cells(2))


def test_a_set_past_one_part_goes_in_several():
    red, blue = _side("red", "blue"), _side("blue", "red")
    many = _cells(*range(PART + 10))
    _run(red, blue, many, _cells(5, PART + 3))
    assert len(red.outgoing.points) == psi.bucket(PART + 10)
    assert set(blue.state.shared(_cells(5, PART + 3))) == set(_cells(5, PART + 3))


def test_state_survives_a_round_trip_through_json():
    red, blue = _side("red", "blue"), _side("blue", "red")
    _run(red, blue, _cells(1, 2), _cells(2))
    again = EpochState.from_json(red.state.to_json())
    assert again.to_json() == red.state.to_json()
    assert again.shared(_cells(1, 2)) == red.state.shared(_cells(1, 2))


def _started():
    red, blue = _side("red", "blue"), _side("blue", "red")
    rc, bc = red.prepare(_cells(1)), blue.prepare(_cells(1))
    return red, blue, rc, bc


def _code(call):
    with pytest.raises(ProtocolViolation) as caught:
        call()
    return caught.value.code


def test_a_changed_message_is_refused_as_tampered():
    red, _, _, bc = _started()
    flipped = replace(bc, box=bytes([bc.box[0] ^ 1]) + bc.box[1:])
    assert _code(lambda: red.take_commit(flipped)) == "tampered"
    relabelled = replace(bc, header=replace(bc.header, bucket=512))
    assert _code(lambda: red.take_commit(relabelled)) == "tampered"


def test_a_replayed_or_reordered_message_is_refused():
    red, blue, rc, bc = _started()
    red.take_commit(bc)
    blue.take_commit(rc)
    assert _code(lambda: red.take_commit(bc)) in ("out_of_turn", "replayed")
    parts = blue.blinded_messages()
    assert _code(lambda: red.channel.open(bc)) == "replayed"
    ahead = replace(parts[0], header=replace(parts[0].header, seq=parts[0].header.seq + 1))
    assert _code(lambda: red.channel.open(ahead)) == "reordered"


def test_a_cut_message_is_refused():
    red, blue, rc, bc = _started()
    red.take_commit(bc)
    blue.take_commit(rc)
    part = blue.blinded_messages()[0]
    assert _code(lambda: red.take_blinded(replace(part, box=part.box[:-32]))) == "tampered"


def test_a_set_that_does_not_match_its_commitment_is_refused():
    red, blue = _side("red", "blue"), _side("blue", "red")
    blue.prepare(_cells(2))
    # blue commits to another set, then sends this one, sealed correctly under the channel
    fake = psi.commitment(DST, psi.padding(256))
    blue.channel.sent = ChannelState()
    red.take_commit(blue.channel.seal(1, "commit", 256, bytes.fromhex(fake), fake))
    part = blue.channel.seal(1, "blinded", 256, b"".join(blue.outgoing.points), fake)
    with pytest.raises(ProtocolViolation) as caught:
        red.take_blinded(part)
    assert (caught.value.code, caught.value.field) == ("commitment_mismatch", "points")


def test_a_commitment_the_relay_swapped_is_refused():
    red, _, _, bc = _started()
    swapped = replace(bc, header=replace(bc.header, commitment="00" * 32))
    assert _code(lambda: red.take_commit(swapped)) == "tampered"


def test_a_round_resumed_from_its_saved_set_seals_the_same_bytes():
    red = _side("red", "blue")
    saved = EpochState.from_json(red.state.to_json())  # before the round
    saved.pending = padded_set(DST, red.secret, 1, _cells(1, 2, 3))
    saved = EpochState.from_json(saved.to_json())
    first = _side("red", "blue", EpochState.from_json(saved.to_json()))
    again = _side("red", "blue", EpochState.from_json(saved.to_json()))
    assert first.resume(saved.pending) == again.resume(saved.pending)
    assert first.blinded_messages() == again.blinded_messages()
    assert {c for c in saved.pending.cells if c is not None} == set(_cells(1, 2, 3))
    assert len(saved.pending.points) == 256


def test_an_arbiter_given_the_cells_and_the_secret_recomputes_the_commitment():
    red, blue = _side("red", "blue"), _side("blue", "red")
    _run(red, blue, _cells(1, 2, 3), _cells(3, 4))
    logged = red.outgoing.commitment
    opened = padded_set(DST, psi.EpochSecret.derive(b"red" * 32, DST), 1, _cells(3, 2, 1))
    assert opened.commitment == logged
    # another cell set, or another round's padding, does not open it
    assert padded_set(DST, red.secret, 1, _cells(1, 2)).commitment != logged
    assert padded_set(DST, red.secret, 2, _cells(1, 2, 3)).commitment != logged
    # and no dummy repeats from one round to the next
    assert not set(padded_set(DST, red.secret, 1, []).points) & set(padded_set(DST, red.secret, 2, []).points)
