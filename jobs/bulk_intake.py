"""The lead stream's first run, or a large backlog, read through one Bulk API 2.0 query job.

When the lead stream's read starts more than an hour back (no watermark yet, or the
connector was stopped) one COUNT() asks how many leads that read would bring; from
`[salesforce] bulk_threshold` on (10,000) the read is ONE Bulk API 2.0 query job — the
same SOQL, the same window, oldest first — instead of a REST page per 2,000. Everything
after the read is the lead stream's own: the records go through `jobs.leads.handle_page`
(same classification, decisions, budget accounting, state rows; the watermark moves
page by page as each transaction commits), and the decided writes go out through
`jobs.bulk_writeback` (Bulk API 2.0 ingest jobs, crash-safe), the few left over through
the REST flush. A kill in the middle costs nothing but time: the next run reads from the
last committed page's watermark (by REST or bulk as its size says) and handles the
repeated records by Id, as the REST read does.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterator

from connector.reads import incremental_query
from connector.soql import and_where, format_soql, ident, soql_datetime
from jobs import bulk_writeback, outbox, poll, read_window
from jobs.echoes import echoes_once

if TYPE_CHECKING:
    from jobs.context import Context

PAGE = 2_000  # records per transaction: a REST page's worth
BEHIND = timedelta(hours=1)  # a read starting closer to now than this is never a backlog worth counting

HandlePage = Callable[["Context", list[dict[str, Any]], datetime, dict[str, int]], None]


def wanted(cx: Context, now: datetime) -> int:
    """How many leads the lead stream's read would bring, when that reaches the bulk
    threshold; else 0. No API call unless the read starts over an hour back."""
    wm = read_window.saved(cx)
    if wm is not None and now - wm < BEHIND:
        return 0
    start = read_window.start(cx, now, wm)
    ms = cx.mappings
    where = and_where(format_soql("SystemModstamp >= {}", soql_datetime(start - cx.lookback)),
                      ms.filter("lead"), echoes_once(cx, start))  # fmt: skip
    backlog = cx.client.count(f"SELECT COUNT() FROM {ident(ms.sobject('lead'), what='object')} WHERE {where}")
    return backlog if backlog >= bulk_writeback.threshold(cx) else 0


def run(cx: Context, now: datetime, backlog: int, handle_page: HandlePage) -> dict[str, int]:
    """`jobs.leads.run` with the read through a Bulk API 2.0 query job."""
    with few_collections():
        return _run(cx, now, backlog, handle_page)


@contextmanager
def few_collections() -> Iterator[None]:
    """A backlog allocates millions of short-lived dicts (records, decisions, rows), freed
    by reference counting as each page ends; the cyclic collector, run every 700 of
    them, found little but still walked every object the process holds (the partner
    index, the routing state) at each full collection: about a tenth of a backfill's CPU.
    What exists before the read is set aside from collection (gc.freeze); the young
    generations are collected once a page is done (`page_done`: what is left of it is
    then little), automatically only past 200,000 allocations (a page's live objects,
    walked again and again at every 20,000, cost ~4 µs a lead). All put back afterwards."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], 200_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def page_done() -> None:
    """A page's garbage cycles, if any, go now, while few of its objects are still alive."""
    gc.collect(1)


def _run(cx: Context, now: datetime, backlog: int, handle_page: HandlePage) -> dict[str, int]:
    ms = cx.mappings
    counts: dict[str, int] = {"read": 0}
    flushed = bulk_writeback.resume(cx, now, settle=outbox.settle)  # a killed run's ingest job first
    start = read_window.begin(cx, now)
    where = and_where(ms.filter("lead"), echoes_once(cx, start))
    # the REST read's fields, who saved the lead last included: an outsider's answer read
    # through a bulk job must not count as the offered partner's
    soql = incremental_query(ms.sobject("lead"), poll.read_fields(ms), watermark=start, lookback=cx.lookback,
                             where=where)  # fmt: skip
    cx.log(component="bulk_intake").info("bulk_read_started", backlog=backlog)
    page: list[dict[str, Any]] = []
    for record in bulk_writeback.bulk_client(cx).query(soql, expected=backlog):
        page.append(record)
        if len(page) >= PAGE:
            handle_page(cx, page, now, counts)
            page = []
            page_done()
            if cx.stop.is_set():
                break  # graceful stop: this page is done, the rest is read next time
    if page:
        handle_page(cx, page, now, counts)
    counts["bulk_read"] = counts["read"]
    read_window.finish(cx, now, counts)
    # what is left (rows to send again, fewer than the threshold) goes through REST
    for part in (bulk_writeback.flush(cx, now, settle=outbox.settle, fence=outbox.fence), outbox.flush(cx, now)):
        for k, v in part.items():
            flushed[k] = flushed.get(k, 0) + v
    counts.update({f"flush_{k}": v for k, v in flushed.items()})
    return counts
