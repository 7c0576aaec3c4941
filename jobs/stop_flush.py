"""A leader told to stop (SIGTERM, Ctrl-C) writes what it has decided before it lets go.

A decision is committed to the state with its write in the outbox, and the write goes
to Salesforce after: the lead stream flushes at the end of its run, the outbox job every
interval. A stop between the two (the job in flight ends after its batch, and its own
flush, seeing the stop, writes nothing) left leads Accepted, Escalated or offered on in
the state while the org still showed them Offered to the partner before, until another
leader flushed them; with no standby running, or a pair stopped together (a rollout, a
node drained), until the next start.

So once the job in flight has finished, the outbox's pending writes go out, for at most
`[schedule] stop_flush` seconds. The batch on the wire at the deadline is finished and
settled (a batch is never cut: its entries would be left `sent`, unknown); what is left
stays pending and is said (`stop_flush_left`): the next leader writes it first, in its
settle before any job runs (jobs/commands.py `_first_as_leader`), guarded against a
lead changed meanwhile as every pending write is. Nothing is lost either way: the
outbox is in the state database, not in this process.

Only the REST flush: a Bulk API job (a backlog over `bulk_threshold`) takes minutes and
is the next leader's to start.
"""
from __future__ import annotations

import threading
from contextlib import nullcontext
from typing import Any, ContextManager

from jobs import outbox
from jobs.logging import get_logger
from jobs.state import outbox as ob

log = get_logger(component="outbox")


def pending(cx: Any) -> int:
    with cx.store.connect() as conn:
        return ob.status_counts(conn).get("pending", 0)


def flush_before_stopping(cx: Any, seconds: float, *, hold: ContextManager[Any] | None = None) -> int:
    """Write the outbox's pending entries for at most `seconds` (0: none), as an outbox job
    run; how many are left pending. `hold`: taken first, so that no batch of the change
    event stream decides leads meanwhile (jobs/stream.py Streams.lock)."""
    with hold or nullcontext():
        waiting = pending(cx)
        if not waiting:
            return 0
        written = 0
        if seconds > 0:
            log.info("stop_flush", pending=waiting, seconds=seconds, instance=cx.instance,
                     note="stopping: the writes already decided go to Salesforce before the leader lock is released")
            deadline = threading.Event()  # the flush ends after the batch on the wire when this is set
            timer = threading.Timer(seconds, deadline.set)
            timer.daemon = True
            job_stop, cx.stop = cx.stop, deadline
            timer.start()
            try:
                # a job run like any other: recorded, its errors said as any job's are
                written = cx.run_job("outbox", run=outbox.flush).counts.get("confirmed", 0)
            finally:
                timer.cancel()
                cx.stop = job_stop
        left = pending(cx)
    if left:
        log.warning("stop_flush_left", pending=left, confirmed=written, seconds=seconds, instance=cx.instance,
                    note=f"{left} decided writes were not sent within [schedule] stop_flush ({seconds:g} s): they "
                         "stay in the outbox, and the next leader sends them before its first job (a standby now, "
                         "or this service's next start)")
    else:
        log.info("stop_flushed", confirmed=written, instance=cx.instance)
    return left
