"""Salesforce ids: 15 chars case-sensitive, or 18 with a 3-char case checksum.

Ids are compared in their 18-char form; this tiny checksum is kept here rather than
imported from the sandbox, which mappings must not depend on.
"""
from __future__ import annotations

import string

_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ALNUM = frozenset(string.ascii_letters + string.digits)
# one bit per char, upper-case = 1; str.translate keeps the per-char work in C
_BITS = str.maketrans({c: ("1" if c in string.ascii_uppercase else "0") for c in _ALNUM})
# owner, partner and account ids repeat across a batch: remember the answers
_known: dict[str, str | None] = {}
_KNOWN_MAX = 200_000


# 5 flags as written left to right (first char = lowest bit) → the suffix char
_CHUNK = {f"{n:05b}"[::-1]: _SUFFIX[n] for n in range(32)}


def checksum(id15: str) -> str:
    bits = id15.translate(_BITS)
    return _CHUNK[bits[:5]] + _CHUNK[bits[5:10]] + _CHUNK[bits[10:15]]


def _compute(value: str) -> str | None:
    n = len(value)
    if (n != 15 and n != 18) or not _ALNUM.issuperset(value):
        return None
    suffix = checksum(value[:15])
    if n == 15:
        return value + suffix
    # a suffix that disagrees means someone typed or truncated the id
    return value if suffix == value[15:] else None


def to18_uncached(value: str) -> str | None:
    """to18 for values that never repeat (a record's own Id): no cache churn."""
    return _compute(value)


def to18(value: str) -> str | None:
    """The 18-char form of a 15/18-char id; None when `value` is not an id."""
    hit = _known.get(value, _known)
    if hit is not _known:
        return hit  # type: ignore[return-value]
    result = _compute(value)
    if len(_known) >= _KNOWN_MAX:
        _known.clear()
    _known[value] = result
    return result
