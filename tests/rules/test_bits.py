"""Partner sets as int bitsets: rotation order is round robin, whatever the set's size."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from rules.bits import from_positions, lowest, positions, rotation


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(0, 5000), max_size=300), st.integers(-1, 5001))
def test_rotation_visits_every_member_once_starting_after_the_last_one(members, last):
    mask = from_positions(members)
    ordered = sorted(members)
    expected = [p for p in ordered if p > last] + [p for p in ordered if p <= last]
    assert list(rotation(mask, last)) == expected
    assert list(positions(mask)) == ordered


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(0, 5000), max_size=300), st.integers(0, 30))
def test_lowest_names_the_first_members_in_order_across_chunks(members, n):
    assert lowest(from_positions(members), n) == sorted(members)[:n]
