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


def checksum(id15: str) -> str:
    bits = id15.translate(_BITS)
    return _SUFFIX[int(bits[4::-1], 2)] + _SUFFIX[int(bits[9:4:-1], 2)] + _SUFFIX[int(bits[14:9:-1], 2)]


def _compute(value: str) -> str | None:
    n = len(value)
    if (n != 15 and n != 18) or not _ALNUM.issuperset(value):
        return None
    suffix = checksum(value[:15])
    if n == 15:
        return value + suffix
    # a suffix that disagrees means someone typed or truncated the id
    return value if suffix == value[15:] else None


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
