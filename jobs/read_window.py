"""The lead stream's read window: where a read starts, and how far a finished read moves it.

One window for every way the lead stream reads (REST pages, a Bulk API 2.0 query job):

- a read starts at the watermark — on a first run `[routing] backfill_hours` back, not
  at the beginning of the org's history — and its query one lookback before that;
- the moment it starts is recorded (READ_START): anything changed after it is not in
  this read, and the outbox guard asks Salesforce about exactly that window;
- a read that was not stopped moves the watermark to its own start, in whole seconds
  (SOQL datetimes carry no fraction): the whole window up to then was read. Moving it
  only to the newest change would read an idle org's last few minutes again on every
  run, for ever. A stopped read leaves the watermark where the last committed page put
  it, and the next run reads on from there.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobs import withdraw
from jobs.state import store as st

if TYPE_CHECKING:
    from jobs.context import Context

WATERMARK, READ_START = "leads", "leads:read_start"


def saved(cx: Context) -> datetime | None:
    with cx.store.connect() as conn:
        return st.get_watermark(conn, WATERMARK)


def start(cx: Context, now: datetime, watermark: datetime | None) -> datetime:
    """Where a read from this watermark starts (before the lookback)."""
    if watermark is not None:
        return watermark
    return now - timedelta(hours=cx.settings.routing.backfill_hours) + cx.lookback


def begin(cx: Context, now: datetime) -> datetime:
    """A read begins now: record its start for the outbox guard; where it starts."""
    with cx.store.begin() as conn:
        wm = st.get_watermark(conn, WATERMARK)
        st.set_watermark(conn, READ_START, now, now)
    return start(cx, now, wm)


def mark_start(cx: Context, now: datetime) -> None:
    """A read of named leads (the change-event stream's) begins now: the outbox guard
    asks only about what changed after it. The watermark is the polled read's own."""
    with cx.store.begin() as conn:
        st.set_watermark(conn, READ_START, now, now)


def read_start(conn: Any) -> datetime | None:
    """When the last read of leads began."""
    return st.get_watermark(conn, READ_START)


def finish(cx: Context, now: datetime, counts: dict[str, int]) -> None:
    """The read is over: unless it was stopped, the window up to its start was read, and
    the leads it no longer lets in are withdrawn."""
    if cx.stop.is_set():
        return
    read_to = now.replace(microsecond=0)
    with cx.store.begin() as conn:
        old = st.get_watermark(conn, WATERMARK)
        if old is None or read_to > old:
            st.set_watermark(conn, WATERMARK, read_to, now)
    if withdrawn := withdraw.run(cx, now):
        counts["withdrawn"] = withdrawn
