"""What comes back from a query: records without `attributes`, ids, timestamps."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def strip_attributes(record: dict[str, Any]) -> dict[str, Any]:
    """Drop `attributes` in place, through nested relationships and sub-query results."""
    record.pop("attributes", None)
    for value in record.values():
        if isinstance(value, dict):
            if "records" in value and "totalSize" in value:  # a parent-to-child sub-query
                for child in value["records"]:
                    strip_attributes(child)
            else:
                strip_attributes(value)
    return record


def id18(value: str) -> str:
    """The 18-character, case-insensitive-safe form of a Salesforce id."""
    if len(value) == 18:
        return value
    if len(value) != 15:
        raise ValueError(f"{value!r} is not a Salesforce id (15 or 18 characters)")
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(value[start : start + 5]) if "A" <= ch <= "Z")
        suffix += _CHECKSUM_ALPHABET[bits]
    return value + suffix


def parse_sf_datetime(value: str | datetime | None) -> datetime | None:
    """Salesforce's JSON datetime (`2024-05-01T10:00:00.000+0000`) as an aware datetime."""
    if value is None or isinstance(value, datetime):
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError(f"datetime {value.isoformat()} has no timezone")
        return value
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
