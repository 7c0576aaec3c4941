"""The shapes of the queries the connector reads with.

Incremental reads follow the watermark discipline: `SystemModstamp >= watermark −
lookback ORDER BY SystemModstamp, Id`. There is no upper bound unless a caller names
one (`until`): a bound taken from the connector host's clock made every lead stamped
after it invisible when that clock ran fast (ten minutes fast lost 50 of 50 new
leads), and Salesforce's own clock is only known to the second. Records modified
while the run reads come back in it and again in the next (the watermark never passes
the run's server-time start); rows on the lower boundary repeat too; callers process
by Id.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, Iterator, Sequence

from .records import id18
from .soql import and_where, format_soql, id_chunks, select, soql_datetime


def with_fields(fields: Sequence[str], *required: str) -> list[str]:
    """`fields` plus any of `required` it lacks (case-insensitively)."""
    have = {f.lower() for f in fields}
    return list(fields) + [r for r in required if r.lower() not in have]


def incremental_query(
    sobject: str,
    fields: Sequence[str],
    *,
    watermark: datetime | None,
    lookback: timedelta,
    until: datetime | None = None,
    where: str | None = None,
) -> str:
    upper = format_soql("SystemModstamp < {}", soql_datetime(until)) if until is not None else None
    lower = (
        format_soql("SystemModstamp >= {}", soql_datetime(watermark - lookback))
        if watermark is not None
        else None
    )
    return select(
        sobject,
        with_fields(fields, "Id", "SystemModstamp"),
        where=and_where(lower, upper, where),
        order_by=("SystemModstamp", "Id"),
    )


def by_ids_queries(sobject: str, fields: Sequence[str], ids: Iterable[str]) -> Iterator[str]:
    """One query per chunk of ids, each as long as a request URI may be (see soql.id_chunks)."""
    cols = with_fields(fields, "Id")
    unique = list(dict.fromkeys(id18(i) for i in ids))

    def render(chunk: list[str]) -> str:
        return select(sobject, cols, where=format_soql("Id IN {}", chunk))

    for chunk in id_chunks(unique, render):
        yield render(chunk)


def deleted_query(sobject: str, start: datetime, end: datetime | None = None) -> str:
    """For queryAll: rows moved to the recycle bin in [start, end) (no end: from start on)."""
    return select(
        sobject,
        ["Id"],
        where=and_where(
            "IsDeleted = true",
            format_soql("SystemModstamp >= {}", soql_datetime(start)),
            format_soql("SystemModstamp < {}", soql_datetime(end)) if end is not None else None,
        ),
    )
