"""Building SOQL without ever concatenating data into it.

Values go through simple-salesforce's `format_soql` (quotes, backslashes, newlines,
Unicode); LIKE patterns through its `:like` spec (also `%` and `_`). Identifiers —
object and field names — cannot be escaped, so they are checked against a strict
pattern instead and anything else is refused.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from enum import Enum
from typing import Any, Iterable, Iterator, Sequence
from urllib.parse import urlencode

from simple_salesforce.format import format_soql

__all__ = [
    "format_soql",
    "ident",
    "select",
    "soql_datetime",
    "sf_json_value",
    "id_chunks",
    "check_id",
]

IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(__c|__r)?(\.[A-Za-z][A-Za-z0-9_]*(__c|__r)?)*$")
SF_ID = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")

# Salesforce refuses a request whose URI plus headers exceed 16,384 bytes (431/414);
# the q parameter is kept to 12,000 encoded characters, leaving room for the path and
# the bearer token. With a handful of fields that is ~440 ids per query.
MAX_QUERY_PARAM_CHARS = 12_000
MAX_IDS_PER_QUERY = 800


def ident(name: str, *, what: str = "field") -> str:
    """An object or field name, validated (identifiers cannot be escaped)."""
    if not isinstance(name, str) or not IDENT.fullmatch(name):
        raise ValueError(
            f"{what} name {name!r} is not a valid Salesforce API name "
            "(letters, digits and single underscores, optional __c/__r suffix, dots for relationships)"
        )
    return name


def check_id(value: str) -> str:
    if not isinstance(value, str) or not SF_ID.fullmatch(value):
        shown = repr(value) if not isinstance(value, str) or len(value) <= 40 else \
            f"{value[:24]!r}… ({len(value)} characters)"
        raise ValueError(f"{shown} is not a Salesforce id (15 or 18 letters and digits)")
    return value


def soql_datetime(value: datetime) -> datetime:
    """A tz-aware datetime for format_soql; naive datetimes are ambiguous and refused."""
    if value.tzinfo is None:
        raise ValueError(f"datetime {value.isoformat()} has no timezone; pass an aware (UTC) datetime")
    return value.astimezone(timezone.utc)


def select(
    sobject: str,
    fields: Sequence[str],
    *,
    where: str | None = None,
    order_by: Sequence[str] = (),
    limit: int | None = None,
) -> str:
    """SELECT … FROM … [WHERE (where)] [ORDER BY …] [LIMIT n].

    `where` must itself have been built with `format_soql`; it is parenthesised so
    that an OR inside cannot escape the clauses it is combined with.
    """
    if not fields:
        raise ValueError(f"no fields to select from {sobject}")
    cols = ", ".join(dict.fromkeys(ident(f) for f in fields))
    soql = f"SELECT {cols} FROM {ident(sobject, what='object')}"
    if where:
        soql += f" WHERE {where}"
    if order_by:
        soql += " ORDER BY " + ", ".join(ident(f) for f in order_by)
    if limit is not None:
        soql += format_soql(" LIMIT {}", int(limit))
    return soql


def and_where(*clauses: str | None) -> str | None:
    parts = [f"({c})" for c in clauses if c]
    return " AND ".join(parts) if parts else None


def id_chunks(
    ids: Iterable[str],
    render: Any,
    *,
    max_chars: int = MAX_QUERY_PARAM_CHARS,
    max_ids: int = MAX_IDS_PER_QUERY,
) -> Iterator[list[str]]:
    """Group ids so that each rendered query, URL-encoded, stays under `max_chars`.

    `render(chunk) -> soql` builds the query for a chunk; its encoded length is
    measured rather than estimated so that long field lists shrink the chunks.
    """
    base = len(urlencode({"q": render([])}))
    per_id = len(urlencode({"q": format_soql("{},", "0" * 18)})) - len("q=")  # quotes and comma, encoded
    chunk: list[str] = []
    size = base
    for raw in ids:
        check_id(raw)
        step = per_id + (len(raw) - 18)
        if chunk and (size + step > max_chars or len(chunk) >= max_ids):
            yield chunk
            chunk, size = [], base
        chunk.append(raw)
        size += step
    if chunk:
        yield chunk


def sf_json_value(value: Any) -> Any:
    """A Python value as Salesforce's JSON expects it in a write."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"datetime {value.isoformat()} has no timezone; pass an aware (UTC) datetime")
        v = value.astimezone(timezone.utc)
        return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}+0000"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):  # multi-select picklist
        return ";".join(sorted(value))
    if isinstance(value, Enum):  # RoutingStatus and friends
        return value.value
    return value


def queried_object(soql: str) -> str | None:
    """The object a query reads: the name after its own FROM (not a subquery's, not one
    inside a string literal), or None when there is none."""
    depth, i, n = 0, 0, len(soql)
    while i < n:
        ch = soql[i]
        if ch == "'":  # a string literal: skipped whole, escaped quotes included
            i += 1
            while i < n and soql[i] != "'":
                i += 2 if soql[i] == "\\" else 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif (depth == 0 and soql[i:i + 4].upper() == "FROM" and (i == 0 or not soql[i - 1].isalnum())
              and i + 4 < n and soql[i + 4].isspace()):
            name = soql[i + 4:].split(None, 1)
            return name[0].rstrip(",") if name else None
        i += 1
    return None


def of_object(soql: str) -> str:
    """" of Account" for an error's context (which read failed), "" when unknown."""
    name = queried_object(soql)
    return f" of {name}" if name else ""
