"""Our own write-backs as they come back through the lead stream ("echoes").

Every write of ours moves the lead's SystemModstamp, so the incremental read brings
it back. The lead stream reads each echo once; the outbox's staleness guard never
counts one as a change by someone else.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from connector.soql import format_soql, ident, soql_datetime

if TYPE_CHECKING:
    from jobs.context import Context


def not_our_echo(cx: Context) -> str | None:
    """A SOQL condition leaving out leads whose last change is our own write-back.

    The outbox guard uses it: it looks for someone else's change, and without it every
    chunk of a large flush re-read the leads written by the chunks before (quadratic).
    The lead stream uses it only for the lookback before its watermark (see
    `echoes_once`): leaving echoes out altogether stranded leads under faults, whose
    partner answered an offer late while its redistribution was still pending
    (tests/reliability/test_faults.py).
    (LastModifiedById is ours and a routing status is set only after our own
    write-back; unrouted leads have no status.)"""
    me = getattr(cx.client, "user_id", None)
    status = cx.mappings.writeback_fields().get("routing_status")
    if not me or not status:
        return None
    return format_soql("NOT (LastModifiedById = {} AND ", me) + ident(status) + " != null)"


def echoes_once(cx: Context, watermark: datetime) -> str | None:
    """Our own write-backs are read once, not once per run within the lookback.

    Changes since the last read (from the watermark on) are all read, our echoes
    included: the echo is the lead as it now is, and the stream takes it in. The
    lookback before the watermark is there for other people's late commits; our echoes
    in it were read by the previous run, so there they are left out."""
    echo = not_our_echo(cx)
    if echo is None:
        return None
    return format_soql("SystemModstamp >= {} OR ", soql_datetime(watermark)) + f"({echo})"


def our_echoes(cx: Context, records: list[dict]) -> int:
    """How many of these records are our own write-backs read back, by `not_our_echo`'s
    test: we saved the lead last, and it has a routing status."""
    me = getattr(cx.client, "user_id", None)
    status = cx.mappings.writeback_fields().get("routing_status")
    if not me or not status:
        return 0
    return sum(1 for r in records if (r.get("LastModifiedById") or "")[:15] == me[:15] and r.get(status))
