"""Partner sets as Python ints: bit i is the partner at position i (partners sorted by id).

AND/OR of two 10,000-partner sets costs well under a microsecond, whatever their size,
which keeps a decision's cost flat as the partner count grows.
"""
from __future__ import annotations

from typing import Iterable, Iterator


def from_positions(positions: Iterable[int]) -> int:
    mask = 0
    for p in positions:
        mask |= 1 << p
    return mask


def positions(mask: int) -> Iterator[int]:
    """Set bits, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def rotation(mask: int, pos: int) -> Iterator[int]:
    """Set bits in round-robin order starting after `pos`."""
    start = pos + 1 if pos >= 0 else 0
    high = mask >> start << start
    yield from positions(high)
    yield from positions(mask ^ high)
