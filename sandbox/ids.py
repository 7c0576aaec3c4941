"""Salesforce record ids: 15-char case-sensitive, 18-char with a case-checksum suffix.

Every id the sandbox hands out is 18 chars; 15-char ids are accepted on input and
compared in their 18-char form, as Salesforce does.
"""
from __future__ import annotations

import re

_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ALNUM = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# key prefixes of the objects the sandbox knows
PREFIXES = {
    "Lead": "00Q",
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Group": "00G",
    "Opportunity": "006",
    "GroupMember": "011",
    "QueueSobject": "03g",
    "LeadHistory": "017",
    "CustomNotificationType": "0ML",
    "Organization": "00D",
    "Task": "00T",
    "FiscalYearSettings": "022",
    "Period": "026",
    "CurrencyType": "02c",
    "DatedConversionRate": "04w",
}


def checksum(id15: str) -> str:
    """The 3-char suffix: one char per 5-char chunk, a bit per upper-case letter."""
    out = []
    for chunk in range(3):
        flags = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                flags |= 1 << i
        out.append(_SUFFIX[flags])
    return "".join(out)


def is_valid(value: object) -> bool:
    if not isinstance(value, str) or not _ALNUM.match(value):
        return False
    return len(value) == 15 or checksum(value[:15]) == value[15:]


def to18(value: str) -> str:
    """Normalise a 15- or 18-char id to 18 chars; raises ValueError on anything else."""
    if not is_valid(value):
        raise ValueError(f"malformed id: {value!r}")
    return value if len(value) == 18 else value + checksum(value)


def make_id(prefix: str, number: int, pod: str = "5g") -> str:
    """A well-formed 18-char id: 3-char prefix, 2-char pod, 10-char base62 serial."""
    digits = []
    n = number
    for _ in range(10):
        n, r = divmod(n, 62)
        digits.append(_BASE62[r])
    id15 = prefix + pod + "".join(reversed(digits))
    return id15 + checksum(id15)
