"""The PSI core: RFC 9380 vectors, commutativity, and every bad point refused by name."""

from __future__ import annotations

import pytest
import rbcl

from deconfliction.errors import ProtocolViolation
from deconfliction.geo.grid import DisclosureGrid
from deconfliction.private import psi

RFC_DST = b"QUUX-V01-CS02-with-expander-SHA512-256"


def test_expand_message_xmd_matches_rfc_9380_k3():
    assert psi.expand_message_xmd(b"", RFC_DST, 32).hex() == (
        "6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba"
    )
    assert psi.expand_message_xmd(b"abc", RFC_DST, 32).hex() == (
        "0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc"
    )


def test_the_hasher_is_expand_message_xmd_then_the_one_way_map():
    dst = psi.domain_tag("red", "blue", 7, DisclosureGrid())
    h = psi.HashToGroup(dst)
    for msg in (b"", b"abc", bytes(range(200))):
        assert h.uniform(msg) == psi.expand_message_xmd(msg, dst, 64)
        assert h(msg) == rbcl.crypto_core_ristretto255_from_hash(psi.expand_message_xmd(msg, dst, 64))


def test_the_tag_names_pair_epoch_and_grid_in_either_order():
    grid = DisclosureGrid()
    assert psi.domain_tag("red", "blue", 1, grid) == psi.domain_tag("blue", "red", 1, grid)
    others = {
        psi.domain_tag("red", "blue", 2, grid),
        psi.domain_tag("red", "civil", 1, grid),
        psi.domain_tag("red", "blue", 1, DisclosureGrid(7)),
    }
    assert psi.domain_tag("red", "blue", 1, grid) not in others
    long = psi.domain_tag("a" * 128, "b" * 128, 1, grid)
    assert len(long) > 255  # hashed per RFC 9380 5.3.3
    assert len(psi.HashToGroup(long).dst) == 64


def test_double_blinding_commutes_and_only_shared_cells_meet():
    dst = psi.domain_tag("red", "blue", 1, DisclosureGrid())
    h = psi.HashToGroup(dst)
    a = psi.EpochSecret.derive(b"a" * 32, dst)
    b = psi.EpochSecret.derive(b"b" * 32, dst)
    mine = [b"1", b"2", b"3"]
    theirs = [b"3", b"4"]
    xa = psi.blind(a, h.many(mine))
    yb = psi.blind(b, h.many(theirs))
    mine_tags = psi.reblind_tags(b, xa, "p")
    their_tags = set(psi.reblind_tags(a, yb, "p"))
    assert [m for m, t in zip(mine, mine_tags, strict=True) if t in their_tags] == [b"3"]


def test_secrets_differ_by_epoch_and_key():
    d1 = psi.domain_tag("red", "blue", 1, DisclosureGrid())
    d2 = psi.domain_tag("red", "blue", 2, DisclosureGrid())
    assert psi.EpochSecret.derive(b"k" * 32, d1) != psi.EpochSecret.derive(b"k" * 32, d2)
    assert psi.EpochSecret.derive(b"k" * 32, d1) != psi.EpochSecret.derive(b"j" * 32, d1)
    with pytest.raises(ValueError, match="32 bytes"):
        psi.EpochSecret.derive(b"short", d1)


def _secret():
    return psi.EpochSecret.derive(b"k" * 32, b"dst")


@pytest.mark.parametrize(
    ("point", "code"),
    [
        (bytes(32), "identity"),
        (b"\xff" * 32, "non_canonical"),
        # a canonical point with the sign bit set is not canonical ristretto255
        (bytes([1]) + bytes(31), "non_canonical"),
    ],
)
def test_bad_points_are_refused_with_their_index(point, code):
    good = rbcl.crypto_core_ristretto255_random()
    with pytest.raises(ProtocolViolation) as caught:
        psi.reblind_tags(_secret(), [good, point], "points")
    assert caught.value.code == code
    assert caught.value.field == "points[1]"
    with pytest.raises(ProtocolViolation) as checked:
        psi.check_point(point, "p")
    assert checked.value.code == code


def test_a_ragged_set_is_refused_as_truncated():
    with pytest.raises(ProtocolViolation, match="truncated"):
        psi.split_points(bytes(33), "points")


def test_commitments_bind_the_set_and_not_its_order():
    points = [rbcl.crypto_core_ristretto255_random() for _ in range(3)]
    c = psi.commitment(b"dst", points)
    assert c == psi.commitment(b"dst", points[::-1])
    psi.check_commitment(c, b"dst", points[::-1], "points")
    with pytest.raises(ProtocolViolation, match="commitment_mismatch"):
        psi.check_commitment(c, b"dst", points[:2], "points")
    with pytest.raises(ProtocolViolation, match="commitment_mismatch"):
        psi.check_commitment(c, b"other", points, "points")


def test_buckets_are_powers_of_two_and_half_again():
    assert [psi.bucket(n) for n in (0, 1, 256, 257, 385, 5000, 6145)] == [256, 256, 256, 384, 512, 6144, 8192]
    for n in range(1, 70_000, 97):
        b = psi.bucket(n)
        assert n <= b
        assert psi.bucket(b) == b
        assert b <= max(256, 1.5 * n)
