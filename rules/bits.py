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


_CHUNK = 1024
_CHUNK_MASK = (1 << _CHUNK) - 1


def rotation(mask: int, pos: int) -> Iterator[int]:
    """Set bits in round-robin order starting after `pos`.

    Readers usually stop after a handful of bits, so the bits are taken from small
    1,024-bit chunks: finding each costs operations on a small int, not on the whole set."""
    start = pos + 1 if pos >= 0 else 0
    rest = mask >> start
    base = start
    while rest:
        chunk = rest & _CHUNK_MASK
        while chunk:
            low = chunk & -chunk
            yield base + low.bit_length() - 1
            chunk ^= low
        rest >>= _CHUNK
        base += _CHUNK
    if start:
        yield from rotation(mask & ((1 << start) - 1), -1)


def lowest(mask: int, n: int) -> list[int]:
    """The first `n` set bits, lowest first.

    Dense sets usually hold them in their first 1,024 bits, read as a small int; past that,
    each bit costs one `rest & -rest` on the whole set (sparse sets: a few such steps)."""
    out: list[int] = []
    first = mask & _CHUNK_MASK
    chunk = first
    while chunk and n:
        low = chunk & -chunk
        out.append(low.bit_length() - 1)
        chunk ^= low
        n -= 1
    if n:
        rest = mask ^ first
        while rest and n:
            low = rest & -rest
            out.append(low.bit_length() - 1)
            rest ^= low
            n -= 1
    return out
