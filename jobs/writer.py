"""Write while reading: decided pages go out while the lead stream reads and decides the next.

A burst of new leads used to be read and decided in full before the first write left:
the connector's CPU and Salesforce's time to apply a write added up. Here a background
thread flushes what is pending whenever enough has piled up (one guard read's worth),
while the stream goes on, so the two overlap.

What it does, and what it leaves to the stream's own thread:
- it guards, marks `sent` (under the fencing token), writes and marks `confirmed`, and
  alerts the reps of confirmed offers — nothing of the engine's routing state is touched;
- up to `[salesforce] write_concurrency` calls are in flight, in lanes that share no
  owner (Salesforce locks an owner's row for each lead it updates);
- an entry whose lead changed since the decision, or a write Salesforce refused, is left
  as it is for the stream's thread to settle once the read is done (`finish`): that
  settlement decides again or releases, which needs the routing state the stream holds.

One lock orders the state database between the two threads: SQLite lets one writer in at
a time, and a transaction that read before the other committed could not write after it.
Order per lead holds: an entry is written only if it is still `pending` when the batch is
marked `sent`; a newer decision supersedes a pending one in the stream's transaction.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterator

from sqlalchemy import select

from jobs import alerts, outbox
from jobs.in_flight import sent_at
from jobs.state import outbox as ob
from jobs.state import schema

if TYPE_CHECKING:
    from jobs.context import Context

ROUND = 2_000  # leads decided before a round starts: one guard read's page


class BackgroundWriter:
    def __init__(self, cx: Context, now: datetime, *, round_size: int = ROUND) -> None:
        self.cx, self.now, self.round_size = cx, now, round_size
        self._db = threading.RLock()
        self._thread: threading.Thread | None = None
        self._after = 0  # outbox id cursor: a round never comes back to what it passed
        self._since_round = 0
        self._unsettled: list[tuple[list[dict[str, Any]], list[Any]]] = []
        self._error: BaseException | None = None
        self.counts: dict[str, int] = {}

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the state database for one transaction of the stream's thread."""
        with self._db:
            yield

    def decided(self, n: int) -> None:
        """`n` more leads were decided: start a round when enough wait and none runs."""
        self._since_round += n
        if self._since_round < self.round_size or self.cx.stop.is_set():
            return
        if self._thread is not None:
            if self._thread.is_alive():
                return
            self._thread.join()
            self._raise()
        self._since_round = 0
        self._thread = threading.Thread(target=self._round, name="leadrouter-writer", daemon=True)
        self._thread.start()

    def finish(self) -> dict[str, int]:
        """Wait for the round in flight, then settle here what it left: refusals and
        transient failures, as the outbox does. Entries it found stale stay pending for
        the outbox's own flush, which reads them again."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._raise()
        for batch, results in self._unsettled:
            outbox.settle(self.cx, batch, results, self.now, self.counts)
        self._unsettled = []
        return self.counts

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _round(self) -> None:
        try:
            while not self.cx.stop.is_set():
                with self._db, self.cx.store.connect() as conn:
                    entries = ob.pending_after(conn, self._after, outbox.CHUNK)
                if not entries:
                    return
                self._after = entries[-1]["id"]
                self._write(entries)
        except BaseException as e:  # noqa: BLE001 — handed to the stream's thread, raised there
            self._error = e

    def _write(self, entries: list[dict[str, Any]]) -> None:
        cx, counts = self.cx, self.counts
        fresh, stale = outbox.split_stale(entries, outbox.current_modstamps(cx, entries))
        if stale:
            _bump(counts, "stale_deferred", len(stale))
        k = max(1, int(getattr(cx.client.config, "write_concurrency", 1) or 1))
        lanes = [lane for lane in by_owner(fresh, k) if lane]
        if len(lanes) <= 1:
            sent = [e for lane in lanes for e in self._lane(lane)]
        else:
            with ThreadPoolExecutor(max_workers=len(lanes), thread_name_prefix="leadrouter-write") as pool:
                sent = [e for done in pool.map(self._lane, lanes) for e in done]
        if sent:
            alerts.send_offer_alerts(cx, self.now, sent, counts)

    def _lane(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One lane's batches, one call at a time; lanes share no owner. A batch's
        confirmation and the next batch's `sent` mark share one transaction (one commit
        per call, not two)."""
        cx, sent = self.cx, []
        sobject = cx.mappings.writeback_sobject()
        chunks = [entries[i:i + outbox.BATCH] for i in range(0, len(entries), outbox.BATCH)]
        done: tuple[list[dict[str, Any]], list[Any]] | None = None
        k = 0
        while True:
            batch: list[dict[str, Any]] = []
            with self._db, cx.store.begin() as conn:
                if done is not None:
                    self._confirm(conn, *done)
                    done = None
                while not batch and k < len(chunks) and not cx.stop.is_set():
                    batch = _still_pending(conn, chunks[k])  # graceful stop: the rest stays pending
                    k += 1
                if batch:
                    outbox.fence(conn, getattr(cx, "lock", None))
                    ob.mark(conn, [e["id"] for e in batch], "sent", sent_at(cx, self.now), count_attempt=True)
            if not batch:
                return sent
            done = (batch, cx.client.update(sobject, [{"Id": e["lead_id"], **e["payload"]} for e in batch]))
            sent += batch

    def _confirm(self, conn, batch: list[dict[str, Any]], results: list[Any]) -> None:
        confirmed = [e["id"] for e, r in zip(batch, results) if r.ok]
        ob.mark(conn, confirmed, "confirmed", self.now)
        _bump(self.counts, "confirmed", len(confirmed))
        _bump(self.counts, "written_while_reading", len(confirmed))
        failed = [(e, r) for e, r in zip(batch, results) if not r.ok]
        if failed:  # settled on the stream's thread (finish)
            self._unsettled.append(([e for e, _ in failed], [r for _, r in failed]))


def by_owner(entries: list[dict[str, Any]], lanes: int) -> list[list[dict[str, Any]]]:
    """Entries in `lanes` lists, each owner's entries all in one list (the biggest owners
    placed first, each on the lightest lane): two calls in flight never update leads of
    the same owner, whose shared row locks make Salesforce answer UNABLE_TO_LOCK_ROW."""
    owners: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        owners.setdefault(str(e["payload"].get("OwnerId") or ""), []).append(e)
    out: list[list[dict[str, Any]]] = [[] for _ in range(max(1, lanes))]
    for group in sorted(owners.values(), key=len, reverse=True):
        min(out, key=len).extend(group)
    for lane in out:
        lane.sort(key=lambda e: e["id"])  # oldest decision first within a lane
    return out


def _still_pending(conn, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries of the batch no decision of the stream's thread superseded meanwhile."""
    t = schema.outbox
    pending = {r.id for r in conn.execute(select(t.c.id, t.c.status).where(t.c.id.in_([e["id"] for e in batch])))
               if r.status == "pending"}
    return [e for e in batch if e["id"] in pending]


def _bump(counts: dict[str, int], key: str, n: int) -> None:
    if n:
        counts[key] = counts.get(key, 0) + n
