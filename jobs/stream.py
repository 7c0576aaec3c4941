"""Streaming first, polling to reconcile: Change Data Capture drives the lead stream.

While this instance leads, one thread per topic subscribes over the Pub/Sub API:

- `/data/LeadChangeEvent`: the leads an event names (new leads, partner answers, a
  person's edit) are read and handled by `jobs.leads.handle_page`, exactly as the polled
  stream handles them, then the decided writes are flushed. They are carried from batch
  to batch while events keep coming, until they fill a page of the incremental read
  (2,000 leads a call, where reads by id take a few hundred) or no events came for
  QUIET_SECONDS (a lone lead waits that long) or they waited HOLD_SECONDS; fewer than BURST
  are read by id. Their batches' replay id is stored only once they are handled. Our
  own write-backs' echoes (commitUser = the integration user) are not read again. GAP events name the
  records to read; an overflow event, or a replay id past the 72-hour retention, runs
  the reconciliation read (the `leads` job) at once. DELETE events run the `deleted` job.
- `/data/AccountChangeEvent`: any change runs `sync_partners`.

The replay id is stored only after a batch's effects are committed (at-least-once;
handling is idempotent by lead id), so a subscriber killed mid-batch resumes at that
batch. While the lead topic is connected the `leads` job becomes the reconciliation
read (every [stream] reconcile_seconds); what it still finds to do is a missed event,
counted. While a topic is not connected, its jobs run on their usual schedule — the
stream falling over never stops the connector, it only makes it poll.

Jobs and the stream share one lock: the scheduler's jobs and a batch never decide the
same lead at the same time. Its position is the state's `stream_state` table (migration 5).

The outbox guard asks the events, not the REST API, while the lead topic is connected
and caught up (`jobs.event_guard`: the guard, its race window and its check after the fact).

Write batches are kept full while events keep coming: a flush after a batch of events
writes whole batches of 200 and holds the rest (pending in the outbox, so nothing is lost
to a crash) for the next batch to fill, until no events came for QUIET_SECONDS after a
batch, or HOLD_SECONDS of waiting have passed. Successive burst reads start where the
previous one stopped (its newest second, and past the last Id it read in that second)
instead of re-reading it, and read one page each; a named lead a read went past without
finding is read by id.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import select

from jobs import read_window
from jobs.event_guard import EventGuard, Suspects
from jobs.leader import pause
from jobs.logging import get_logger
from jobs.repeats import Repeats
from jobs.state.schema import stream_state

LEADS, PARTNERS = "/data/LeadChangeEvent", "/data/AccountChangeEvent"
SETUP_STEP = ("select Lead and Account for Change Data Capture (deploy salesforce/: "
              "platformEventChannelMembers) and assign the LeadRouter_Integration permission set; "
              "see salesforce/README.md")
STOPPED = "stopped"  # why a topic disconnects when the service stops
# a Pub/Sub API that does not answer: an address this host cannot reach (or an outage: nothing to do)
PUBSUB_UNREACHABLE = ("nothing is lost (the lead stream is polled meanwhile); check that this host reaches [stream] "
                      "pubsub_url (the local sandbox org: its connection.json's pubsub_url), or set [stream] "
                      "mode = \"poll\" not to subscribe")
# leads-job counts that are not work the stream should have done
_QUIET = frozenset(("read", "own_writes_read", "unchanged", "in_flight", "unreadable", "withdrawn"))
_QUIET_PREFIXES = ("ignored_", "flush_", "skipped_")
BURST = 50  # leads named by one batch of events, from which the incremental read is cheaper
SEEN_FOR = timedelta(minutes=30)  # how long a handled copy's modstamp is remembered
_NEVER = datetime.min.replace(tzinfo=timezone.utc)
MAX_BATCH = 2000  # events held ahead and handled together: one page of the incremental read
# Leads named by events, and a partial last write batch, wait for more events to fill a
# page or a batch while they keep coming (the subscriber hands over the next batch within
# QUIET_SECONDS of our finishing one), at most HOLD_SECONDS of waiting in all (the time we
# spend handling other leads meanwhile is not waiting): a lone lead waits QUIET_SECONDS —
# well inside the 2 s p50 / 5 s p99 latency goal (BENCHMARKS.md 5b).
HOLD_SECONDS = 2.0
QUIET_SECONDS = 0.2

log = get_logger(component="stream")


def status(conn: Any) -> list[dict[str, Any]]:
    """For `leadrouter status`: one row per topic (replay id as hex)."""
    try:
        rows = conn.execute(select(stream_state).order_by(stream_state.c.topic)).mappings().all()
    except Exception:  # no stream has run against this database yet
        return []
    return [{**r, "replay_id": r["replay_id"].hex() if r["replay_id"] else None} for r in rows]


def reconcile_finds(counts: dict[str, int]) -> int:
    """What a reconciliation read did that no event had caused: each one a missed event."""
    return sum(n for k, n in counts.items() if k not in _QUIET and not k.startswith(_QUIET_PREFIXES)
               and isinstance(n, int))


class Streams:
    """The stream threads and the job gate, for one leadership term at a time."""

    def __init__(self, cx: Any, *, subscriber_factory: Callable[[], Any] | None = None):
        self.cx = cx
        self.settings = cx.settings.stream
        self.lock = threading.RLock()
        self._subscriber_factory = subscriber_factory or self._default_subscriber
        self.connected: dict[str, datetime | None] = {LEADS: None, PARTNERS: None}
        self._last_run: dict[str, datetime] = {}
        self._wanted: set[str] = set()  # jobs an event asked for
        # changes committed before this were read by a completed lead-stream run
        self._covered_until = _NEVER
        self._seen: dict[str, datetime] = {}  # lead id -> SystemModstamp of the copy last handled
        self._rates: dict[str, deque] = {LEADS: deque(), PARTNERS: deque()}
        self.threads: list[threading.Thread] = []
        self.handled = 0  # leads handled from events, for tests and the benchmark
        self.burst_reads = 0
        self.guard = EventGuard(cx, live=lambda: self.connected[LEADS] is not None)
        self._holding = False  # a partial write batch waits for the next events
        self._busy = False  # the lead topic's thread is handling a batch
        self._lead_sub: Any = None  # the lead topic's subscriber, while it runs
        # leads events named, not read yet (-> the first event's commit time), since when
        # (monotonic); and the position to store once they are handled
        self._carried: dict[str, datetime] = {}
        self._unstored: bytes | None = None
        # seconds carried leads or held writes have waited while this thread was idle (its
        # own handling of other leads is not waiting: a burst's batches follow each other)
        self._wait_idle = 0.0
        self._idle_since = 0.0  # monotonic: since when it has waited for the next
        self._burst_mark: tuple[datetime, str] | None = None  # (second, last Id) the last burst read reached
        self._down = Repeats()  # a topic that keeps failing to connect: said once, then hourly

    @property
    def guarded_by_events(self) -> int:
        return self.guard.answered

    @property
    def overwrites_undone(self) -> int:
        return self.guard.undone

    # ---- wiring --------------------------------------------------------------------------
    def make_jobs(self, job_stop: threading.Event) -> list[Any]:
        """The scheduler's JobSpecs, gated and locked, with the stream threads started."""
        from jobs.scheduler import JobSpec

        specs = self.cx.scheduled_jobs(job_stop)
        if self.settings.mode != "poll":
            self.start(job_stop)
        else:
            self._note(LEADS, mode="poll", note="[stream] mode = poll")
        return [JobSpec(s.name, s.seconds, self._gated(s.name, s.fn)) for s in specs]

    def start(self, stop: threading.Event) -> None:
        for topic in (LEADS, PARTNERS):
            t = threading.Thread(target=self._run_topic, args=(topic, stop), name=f"stream{topic}", daemon=True)
            t.start()
            self.threads.append(t)
        topics = list(self.threads[-2:])
        t = threading.Thread(target=self._release_held, args=(stop, topics), name="stream-held-writes", daemon=True)
        t.start()
        self.threads.append(t)

    def join(self, timeout: float = 5.0) -> None:
        end = time.monotonic() + timeout  # sleeps, not Thread.join(timeout): see jobs.leader.pause
        while any(t.is_alive() for t in self.threads) and time.monotonic() < end:
            time.sleep(0.02)

    def _default_subscriber(self) -> Any:
        from connector.pubsub import PubSubConfig, Subscriber, credentials_from

        client = self.cx.client
        config = PubSubConfig(url=self.settings.pubsub_url, ca_bundle=client.config.ca_bundle,
                              batch_size=self.settings.batch_size, max_batch=MAX_BATCH)
        return Subscriber(config, credentials_from(client), client.policy, logger=get_logger(component="pubsub"))

    # ---- the job gate --------------------------------------------------------------------
    def _gated(self, name: str, fn: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            if not self.due(name, self.cx.clock.now()):
                return None
            return self.run_job(name, fn)

        return run

    def run_job(self, name: str, fn: Callable[[], Any] | None = None, *, reconcile: bool = True) -> Any:
        """Run a job under the lock. A `leads` run while the stream is connected is a
        reconciliation (what it finds, the stream missed) unless a burst of events asked
        for it (`reconcile=False`)."""
        with self.lock:
            reconciling = reconcile and name == "leads" and self.connected[LEADS] is not None
            started = self.cx.clock.now()
            self._last_run[name] = started
            self._wanted.discard(name)
            if name == "outbox" and self._holding:
                self._flush(started, hold=False)  # the held tail first, still guarded by the events
            result = fn() if fn is not None else self.cx.run_job(name)
            if name == "leads" and result is not None and not result.error and not self.cx.stop.is_set():
                # its read reached the run's start (in whole seconds): events before that are read
                self._covered_until = max(self._covered_until, started.replace(microsecond=0))
        if reconciling and result is not None and not result.error:
            finds = reconcile_finds(result.counts)
            if finds:
                log.warning("reconciliation_found_missed_changes", finds=finds, counts=result.counts)
            self._note(LEADS, add_finds=finds)
        return result

    def due(self, name: str, now: datetime) -> bool:
        """Whether a scheduled run of `name` should happen: always, unless CDC covers it."""
        leads_on, partners_on = self.connected[LEADS] is not None, self.connected[PARTNERS] is not None
        every = {"leads": self.settings.reconcile_seconds if leads_on else None,
                 "deleted": self.settings.reconcile_partners_seconds if leads_on else None,
                 "sync_partners": self.settings.reconcile_partners_seconds if partners_on else None}.get(name)
        if every is None or name in self._wanted:
            return True
        last = self._last_run.get(name)
        return last is None or now - last >= timedelta(seconds=every * 0.98)

    # ---- one topic -----------------------------------------------------------------------
    def _run_topic(self, topic: str, stop: threading.Event) -> None:
        from connector.errors import ConfigError, ConnectorError

        wait = 1.0
        while not stop.is_set():
            sub = None
            try:
                sub = self._subscriber_factory()
                sub.topic(topic)
                self._consume(topic, sub, stop)
                wait = 1.0
            except ConfigError as e:
                self._disconnected(topic, f"{e}")
                if self.settings.mode == "auto":
                    log.warning("cdc_unavailable_polling_instead", topic=topic, problem=str(e), fix=SETUP_STEP)
                    self._note(topic, mode="poll", note=f"CDC unavailable: {SETUP_STEP}")
                    return
                log.error("cdc_unavailable", topic=topic, problem=str(e), fix=SETUP_STEP,
                          note="[stream] mode = cdc; polling meanwhile, trying again in 5 minutes")
                pause(stop, 300)
            except ConnectorError as e:
                self._disconnected(topic, str(e))
                loud, times, seconds = self._down.failed(topic, topic)
                (log.warning if loud else log.info)(
                    "stream_down_polling_meanwhile", topic=topic, problem=str(e), retry_s=wait, times=times,
                    minutes=round(seconds / 60, 1), fix=PUBSUB_UNREACHABLE)
                pause(stop, wait)
                wait = min(wait * 2, 300)
            except Exception as e:  # a bug: say so, poll meanwhile, try again
                self._disconnected(topic, repr(e))
                log.error("stream_crashed", topic=topic, error=repr(e), exc_info=True)
                pause(stop, wait)
                wait = min(wait * 2, 300)
            finally:
                if sub is not None:
                    sub.close()
        self._disconnected(topic, STOPPED)

    def _consume(self, topic: str, sub: Any, stop: threading.Event) -> None:
        replay = self._stored_replay(topic)
        since = self.cx.clock.now()
        if topic == LEADS:
            self._lead_sub = sub
            with self.lock:  # what was read before this subscription is for the REST guard
                self.guard.reconnected()
                self._busy = False
        self.connected[topic] = since
        self._down.worked(topic)  # a later failure to connect is news again
        self._note(topic, mode="cdc", connected_since=since, note=None)
        log.info("stream_connected", topic=topic, resume=replay.hex() if replay else "latest")
        for batch in sub.batches(topic, replay, stop):
            if batch.reconcile:
                self._reconcile(topic, "the stored replay id is past the 72-hour retention")
                continue
            lag = None
            if batch.events:
                if topic == LEADS:
                    if self._carried or self._holding:
                        self._wait_idle += time.monotonic() - self._idle_since
                    self._busy = True
                self._count(topic, len(batch.events))
                with self.lock:
                    if topic == LEADS:
                        self._handle_leads(batch.events)
                    else:
                        self.run_job("sync_partners")
                lag = (self.cx.clock.now() - max(e.commit_timestamp for e in batch.events)).total_seconds()
            if batch.replay_id and topic == LEADS and self._carried:
                self._unstored = batch.replay_id  # leads not read yet: stored once they are handled
                if lag is not None:
                    self._note(topic, lag_s=lag)
            elif batch.replay_id:  # after the effects: a crash before this line replays the batch
                self._unstored = None
                self._note(topic, replay_id=batch.replay_id, **({"lag_s": lag} if lag is not None else {}))
            if topic == LEADS and self._busy:
                self._idle_since, self._busy = time.monotonic(), False  # (the next batch, if any, comes at once)

    def _handle_leads(self, events: list[Any]) -> None:
        ours = getattr(self.cx.client, "user_id", None)
        suspects = self.guard.note_changes(events, ours)  # before anything below skips an event
        for e in events:
            if e.commit_timestamp < self._covered_until and not e.is_overflow:
                continue  # a lead-stream read since has taken this change in
            if len(e.record_ids) == 1 and self._seen.get(e.record_ids[0], _NEVER) >= e.commit_timestamp:
                continue  # a read since (a burst's) saw this change
            if e.is_overflow:
                self._reconcile(LEADS, "an overflow event (more changes than Salesforce sends events for)")
            elif e.change_type in ("DELETE", "GAP_DELETE"):
                self._wanted.add("deleted")
            elif e.is_gap or e.change_type != "UPDATE" or e.commit_user != ours:
                for lead in e.record_ids:  # (an update by us is our write-back's echo: known)
                    self._carried.setdefault(lead, e.commit_timestamp)
        if "deleted" in self._wanted:
            self.run_job("deleted")
        self._read_and_handle(self.cx.clock.now(), ours, suspects, drain=False)

    def _read_and_handle(self, now: datetime, ours: str | None,
                         suspects: Suspects, *, drain: bool) -> None:
        """Read the leads events named and decide on them, then flush.

        Leads named are carried from batch to batch until a read can fill its page (a
        burst: one incremental read of 2,000 leads a call, reaching leads whose events are
        still on their way — they are skipped when they come), or no events came for
        QUIET_SECONDS, or they have waited HOLD_SECONDS (`drain`): then all are read,
        a few by id. Leads whose last confirmed write may have overwritten someone's
        change (`suspects`) are read at once."""
        from jobs import leads

        page = getattr(getattr(self.cx.client, "config", None), "query_batch_size", 2000)
        if self._waited() >= HOLD_SECONDS:
            drain = True
        records: list[dict[str, Any]] = []
        now_ids = list(suspects)
        for i in now_ids:
            self._carried.pop(i, None)
        while len(self._carried) >= (BURST if drain else page):
            since = min(self._carried.values())
            found, exhausted = self._read_since(since - timedelta(seconds=1), ours, set(self._carried), one_page=True)
            self.burst_reads += 1
            records += found
            for r in found:
                self._carried.pop(r["Id"], None)
            last = max((leads.modstamp(r) or _NEVER for r in found), default=_NEVER)
            # named leads this read went past without finding them (the filter, our own
            # last write, the Id bound of its first second): by id
            now_ids += [i for i, at in self._carried.items() if exhausted or at < last]
            for i in now_ids:
                self._carried.pop(i, None)
            log.info("stream_burst_read", read=len(found), carried=len(self._carried))
            if exhausted or not found:
                break
        if drain:
            now_ids += [i for i in self._carried if i not in now_ids]
            self._carried.clear()
        unique = list(dict.fromkeys(i for i in now_ids if i not in {r["Id"] for r in records}))
        if not records and not unique:
            if self._holding:
                self._flush(now, hold=not drain)  # (writes the held tail once it has waited enough)
            return
        # as the lead stream does: the outbox guard asks Salesforce only about what
        # changed after this read, not since the last scheduled read
        read_window.mark_start(self.cx, now)
        if unique:
            records += self._read(unique)
        for r in records:  # what these reads saw: an event for a change no later is known
            stamp = leads.modstamp(r)
            if stamp is not None:
                self._seen[r["Id"]] = max(stamp, self._seen.get(r["Id"], stamp))
                self.guard.read(r["Id"], stamp, now)  # the version decided on
        undone = self.guard.undo_overwrites(suspects, records, now) if suspects else set()
        counts: dict[str, int] = {"overwrites_undone": len(undone)} if undone else {}
        if undone:
            records = [r for r in records if r["Id"] not in undone]
        history = leads.history_for(self.cx, records)  # one LeadHistory read for these reads' pages
        for i in range(0, len(records), leads.PAGE):
            leads.handle_page(self.cx, records[i:i + leads.PAGE], now, counts, advance_watermark=False,
                              history=history)
        counts.update(leads.unknown_routed(self.cx))  # routed by a state this one does not know: said now
        horizon = now - SEEN_FOR
        self._seen = {k: v for k, v in self._seen.items() if v >= horizon}
        self.guard.forget_before(horizon)
        counts.update({f"flush_{k}": v for k, v in self._flush(now, hold=not drain).items()})
        self.handled += len(records)
        log.info("stream_batch", leads=len(records), carried=len(self._carried), counts=counts)

    def _flush(self, now: datetime, *, hold: bool) -> dict[str, int]:
        """Write what is pending; while events keep coming whole batches only, the tail
        waiting for the next until HOLD_SECONDS of waiting. Guarded by the events while
        connected."""
        from jobs import outbox

        guard = self.guard.answer if self.connected[LEADS] is not None else None
        hold = hold and self._waited() < HOLD_SECONDS
        counts = outbox.flush(self.cx, now, guard=guard, hold_after=_NEVER if hold else None)
        self._holding = bool(counts.get("held"))
        if not self._holding and not self._carried:
            self._wait_idle = 0.0
        return counts

    def _waited(self) -> float:
        """How long carried leads and held writes have waited on events that did not come."""
        if not (self._carried or self._holding):
            return 0.0
        return self._wait_idle + (0.0 if self._busy else time.monotonic() - self._idle_since)

    def _drain(self) -> None:
        """The carried leads read and decided, every pending write flushed, and the
        position they held back stored (called under the lock)."""
        if self._carried:
            self._read_and_handle(self.cx.clock.now(), getattr(self.cx.client, "user_id", None), {}, drain=True)
        elif self._holding:
            self._flush(self.cx.clock.now(), hold=False)
        if not self._carried and self._unstored is not None:
            self._note(LEADS, replay_id=self._unstored)
            self._unstored = None

    def _quiet(self) -> bool:
        """No lead events for QUIET_SECONDS: none handled, none arrived at the subscriber."""
        now = time.monotonic()
        arrived = getattr(self._lead_sub, "events_arrived_at", 0.0)
        return not self._busy and now - max(self._idle_since, arrived) >= QUIET_SECONDS

    def _release_held(self, stop: threading.Event, topics: list[threading.Thread]) -> None:
        """A held tail goes out once no events came for QUIET_SECONDS after a batch (while
        they come, each batch reads and flushes), after HOLD_SECONDS of waiting, or once the
        topic threads have ended."""
        while not stop.is_set():
            time.sleep(0.05)  # (not stop.wait: see jobs.leader.pause)
            ended = not any(t.is_alive() for t in topics)
            waiting = self._holding or bool(self._carried)
            if ended and not waiting:
                return
            if not waiting:
                continue
            if not ended and not self._quiet() and self._waited() < HOLD_SECONDS:
                continue  # events are coming: the batch being handled reads and flushes
            try:
                with self.lock:
                    if not stop.is_set() and not self._busy:
                        self._drain()
            except Exception as e:  # the outbox job writes them on its schedule instead
                log.error("stream_held_flush_failed", error=repr(e), exc_info=True)
                self._holding = False

    def _read(self, ids: list[str]) -> list[dict[str, Any]]:
        """The leads by id — only those the mapping's filter lets in, as the polled stream reads."""
        from connector.soql import format_soql, id_chunks, select as soql_select
        from jobs import leads

        ms, client = self.cx.mappings, self.cx.client
        sobject, fields, where = ms.sobject("lead"), leads.lead_fields(self.cx), ms.filter("lead")
        if not where:
            return list(client.read_by_ids(sobject, fields, ids))

        def render(chunk: list[str]) -> str:
            return soql_select(sobject, fields, where=f"({format_soql('Id IN {}', chunk)}) AND ({where})")

        return [r for chunk in id_chunks(ids, render) for r in client.query(render(chunk))]

    def _read_since(self, since: datetime, ours: str | None, wanted: set[str], *, one_page: bool = False
                    ) -> tuple[list[dict[str, Any]], bool]:
        """Leads changed from `since` on whose last change is not our own write (those are
        echoes; a change before our write was read before we wrote), the mapping's filter applied.

        The previous burst read's part is not read again: from the last whole second it
        reached, and in that second only past the last Id it read there (SOQL datetimes
        have whole seconds). A lead changed there under a lower Id is missed by this read
        and read by id with the others its events name. The read stops at the end of its
        first page (`one_page`), or of the first page holding every lead of `wanted`: a
        further page would only read ahead, and the next burst read fills its pages from
        here instead. Returns (the leads, whether the read reached the end)."""
        from connector.soql import format_soql, soql_datetime
        from jobs import leads

        ms = self.cx.mappings
        since = since.replace(microsecond=0)
        past = None
        if self._burst_mark is not None and self._burst_mark[0] >= since:
            since, last_id = self._burst_mark
            past = format_soql("SystemModstamp >= {} OR Id > {}", soql_datetime(since + timedelta(seconds=1)),
                               last_id)
        where = " AND ".join(f"({w})" for w in (ms.filter("lead"), format_soql("LastModifiedById != {}", ours)
                                                 if ours else None, past) if w) or None
        page = getattr(getattr(self.cx.client, "config", None), "query_batch_size", 2000)
        missing = set(wanted)
        found: list[dict[str, Any]] = []
        exhausted = True
        for r in self.cx.client.read_incremental(ms.sobject("lead"), leads.lead_fields(self.cx), watermark=since,
                                                 lookback=timedelta(0), where=where):
            found.append(r)
            missing.discard(r["Id"])
            if (one_page or not missing) and len(found) % page == 0:
                exhausted = False
                break  # (a page ends here: the next is not asked for)
        stamps = [(s.replace(microsecond=0), r["Id"]) for r in found if (s := leads.modstamp(r)) is not None]
        if stamps:
            top = max(sec for sec, _ in stamps)
            mark = (top, max(i for sec, i in stamps if sec == top))
            if self._burst_mark is None or mark > self._burst_mark:
                self._burst_mark = mark
        return found, exhausted

    def _reconcile(self, topic: str, why: str) -> None:
        log.warning("stream_reconciling", topic=topic, why=why)
        self.run_job("leads" if topic == LEADS else "sync_partners")

    # ---- bookkeeping ---------------------------------------------------------------------
    def _count(self, topic: str, n: int) -> None:
        now = time.monotonic()
        window = self._rates[topic]
        window.extend([now] * n)
        while window and now - window[0] > 60:
            window.popleft()
        self._note(topic, add_events=n, events_per_min=float(len(window)))

    def _disconnected(self, topic: str, why: str) -> None:
        if self.connected.get(topic) is not None:  # a stop asked for (SIGTERM) is no trouble
            (log.info if why == STOPPED else log.warning)("stream_disconnected", topic=topic, why=why)
        self.connected[topic] = None
        try:
            self._note(topic, connected_since=None, note=why[:500])
        except Exception as e:  # noqa: BLE001 — the state database is away too: the status row waits,
            # the topic's loop goes on (raised from its error handler, this ended the thread for good)
            log.warning("stream_status_unwritten", topic=topic, error=str(e)[:300])

    def _stored_replay(self, topic: str) -> bytes | None:
        with self.cx.store.connect() as conn:
            value = conn.execute(select(stream_state.c.replay_id).where(stream_state.c.topic == topic)).scalar()
        return bytes(value) if value else None

    def _note(self, topic: str, *, add_events: int = 0, add_finds: int = 0, **values: Any) -> None:
        # Under the jobs' lock: a SQLite transaction that read before writing (a job's
        # watermark update) fails at once, instead of waiting, if another thread wrote meanwhile.
        data = {"instance": self.cx.instance, "updated_at": self.cx.clock.now(), **values}
        t = stream_state
        with self.lock, self.cx.store.begin() as conn:
            done = conn.execute(t.update().where(t.c.topic == topic).values(
                events=t.c.events + add_events, reconcile_finds=t.c.reconcile_finds + add_finds, **data))
            if done.rowcount == 0:
                conn.execute(t.insert().values(topic=topic, events=add_events, reconcile_finds=add_finds,
                                               **{"mode": self.settings.mode, **data}))
