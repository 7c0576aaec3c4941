"""The shapes of the queries the connector reads with.

Incremental reads follow the watermark discipline: `SystemModstamp >= watermark −
lookback AND SystemModstamp < run_start ORDER BY SystemModstamp, Id`. The upper bound
is the run's start, never "now at the end", so a record modified while the run reads
is picked up by the next run instead of being skipped by a watermark that moved past
it. Rows on the lower boundary repeat from run to run; callers process by Id.
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
    run_start: datetime,
    lookback: timedelta,
    where: str | None = None,
) -> str:
    upper = format_soql("SystemModstamp < {}", soql_datetime(run_start))
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


def deleted_query(sobject: str, start: datetime, end: datetime) -> str:
    """For queryAll: rows moved to the recycle bin in [start, end)."""
    return select(
        sobject,
        ["Id"],
        where=and_where(
            "IsDeleted = true",
            format_soql("SystemModstamp >= {}", soql_datetime(start)),
            format_soql("SystemModstamp < {}", soql_datetime(end)),
        ),
    )
