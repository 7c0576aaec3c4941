"""Streaming first, polling to reconcile: Change Data Capture drives the lead stream.

While this instance leads, one thread per topic subscribes over the Pub/Sub API:

- `/data/LeadChangeEvent`: the leads an event names (new leads, partner answers, a
  person's edit) are read by id and handled by `jobs.leads.handle_page`, exactly as the
  polled stream handles them, then the decided writes are flushed. Our own write-backs'
  echoes (commitUser = the integration user) are not read again. GAP events name the
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
"""
from __future__ import annotations

import threading
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import select

from jobs.leader import pause
from jobs.logging import get_logger
from jobs.state.schema import stream_state

LEADS, PARTNERS = "/data/LeadChangeEvent", "/data/AccountChangeEvent"
SETUP_STEP = ("select Lead and Account for Change Data Capture (deploy salesforce/: "
              "platformEventChannelMembers) and assign the LeadRouter_Integration permission set; "
              "see salesforce/README.md")
# leads-job counts that are not work the stream should have done
_QUIET = frozenset(("read", "unchanged", "in_flight", "unreadable", "withdrawn"))
_QUIET_PREFIXES = ("ignored_", "flush_", "skipped_")
BURST = 50  # leads named by one batch of events, from which the incremental read is cheaper
SEEN_FOR = timedelta(minutes=30)  # how long a handled copy's modstamp is remembered
_NEVER = datetime.min.replace(tzinfo=timezone.utc)
MAX_BATCH = 2000  # events requested ahead and handled together: one page of the incremental read

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
                log.warning("stream_down_polling_meanwhile", topic=topic, problem=str(e), retry_s=wait)
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
        self._disconnected(topic, "stopped")

    def _consume(self, topic: str, sub: Any, stop: threading.Event) -> None:
        replay = self._stored_replay(topic)
        since = self.cx.clock.now()
        self.connected[topic] = since
        self._note(topic, mode="cdc", connected_since=since, note=None)
        log.info("stream_connected", topic=topic, resume=replay.hex() if replay else "latest")
        for batch in sub.batches(topic, replay, stop):
            if batch.reconcile:
                self._reconcile(topic, "the stored replay id is past the 72-hour retention")
                continue
            lag = None
            if batch.events:
                self._count(topic, len(batch.events))
                with self.lock:
                    if topic == LEADS:
                        self._handle_leads(batch.events)
                    else:
                        self.run_job("sync_partners")
                lag = (self.cx.clock.now() - max(e.commit_timestamp for e in batch.events)).total_seconds()
            if batch.replay_id:  # after the effects: a crash before this line replays the batch
                self._note(topic, replay_id=batch.replay_id, **({"lag_s": lag} if lag is not None else {}))

    def _handle_leads(self, events: list[Any]) -> None:
        from jobs import leads, outbox

        ours = getattr(self.cx.client, "user_id", None)
        ids: list[str] = []
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
                ids.extend(e.record_ids)  # (an update by us is our write-back's echo: known)
        if "deleted" in self._wanted:
            self.run_job("deleted")
        unique = list(dict.fromkeys(ids))
        if not unique:
            return
        now = self.cx.clock.now()
        if hasattr(leads, "READ_START"):
            # as the lead stream does: the outbox guard asks Salesforce only about what
            # changed after this read, not since the last scheduled read
            from jobs.state import store as st

            with self.cx.store.begin() as conn:
                st.set_watermark(conn, leads.READ_START, now, now)
        records: list[dict[str, Any]] = []
        if len(unique) >= BURST:
            # A burst (an import, a mass update): one incremental read pages 2,000 leads a
            # call where reads by id take a few hundred, and it reaches the leads whose
            # events are still on their way (they are skipped when they come).
            since = min(e.commit_timestamp for e in events if e.record_ids and e.record_ids[0] in unique)
            records = self._read_since(since - timedelta(seconds=1), ours)
            self.burst_reads += 1
            log.info("stream_burst_read", events=len(events), leads=len(unique), read=len(records))
        got = {r["Id"] for r in records}
        rest = [i for i in unique if i not in got]  # (all of them, outside a burst)
        if rest:
            records += self._read(rest)
        counts: dict[str, int] = {}
        for i in range(0, len(records), leads.PAGE):
            leads.handle_page(self.cx, records[i:i + leads.PAGE], now, counts, advance_watermark=False)
        for r in records:  # what these reads saw: an event for a change no later is known
            stamp = leads.modstamp(r)
            if stamp is not None:
                self._seen[r["Id"]] = max(stamp, self._seen.get(r["Id"], stamp))
        horizon = now - SEEN_FOR
        self._seen = {k: v for k, v in self._seen.items() if v >= horizon}
        counts.update({f"flush_{k}": v for k, v in outbox.flush(self.cx, now).items()})
        self.handled += len(records)
        log.info("stream_batch", events=len(events), leads=len(unique), counts=counts)

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

    def _read_since(self, since: datetime, ours: str | None) -> list[dict[str, Any]]:
        """Leads changed from `since` on whose last change is not our own write (those are
        echoes; a change before our write was read before we wrote), the mapping's filter applied."""
        from connector.soql import format_soql
        from jobs import leads

        ms = self.cx.mappings
        where = " AND ".join(f"({w})" for w in (ms.filter("lead"), format_soql("LastModifiedById != {}", ours)
                                                 if ours else None) if w) or None
        return list(self.cx.client.read_incremental(ms.sobject("lead"), leads.lead_fields(self.cx), watermark=since,
                                                    lookback=timedelta(0), where=where))

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
        if self.connected.get(topic) is not None:
            log.warning("stream_disconnected", topic=topic, why=why)
        self.connected[topic] = None
        self._note(topic, connected_since=None, note=why[:500])

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
