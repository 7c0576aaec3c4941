"""Write-back of a large outbox through Bulk API 2.0 ingest jobs, safe against a kill.

From `[salesforce] bulk_threshold` pending outbox entries on (a first run's backlog),
the entries go out as one ingest job per upload (~100 MB of CSV, some 300,000 leads)
instead of one composite call per 200. Each step is committed before the next:

1. per chunk of pending entries: the staleness guard (a lead someone else changed
   since the decision is read again and handled as the lead stream would, exactly as
   the REST flush does), then ONE transaction records the chunk in `bulk_jobs` (state
   `preparing`, its outbox ids) and marks its entries `sent`;
2. the ingest job is created and its id written to the upload's rows (`running`)
   BEFORE any CSV is uploaded;
3. upload, close, wait; the job's results settle the entries: successful → confirmed;
   failed → settled as a REST SaveResult would be (the outbox's own `settle`: a row
   lock back to pending, a deleted or converted lead let go, any other refusal leaves
   the lead Unroutable with Salesforce's words); unprocessed → pending again;
4. the rows become `settled`.

After a kill, `resume` runs before the outbox reads back `sent` entries (outbox.run):
a `preparing` upload (no job id, so nothing was uploaded) puts its entries back to
pending; a `running` one is resumed by its job id (connector.bulk.BulkClient.resume: a
job never closed is aborted and none of its rows is written; a running one is waited
for) and settled as in 3. Only entries still `sent` are settled, so a resume that is
itself killed can run again. A job the org no longer knows (Salesforce keeps them 7
days) leaves its entries `sent`, for the outbox's read-back by id. No lead is written
twice: a row is sent again only when its job reported it failed or unprocessed.

The table is this module's own (created if absent, as jobs/stream.py does for
stream_state): bookkeeping of jobs in flight, not part of the versioned schema.
"""
from __future__ import annotations

import json
import uuid
from array import array
from bisect import bisect_left
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterator

from sqlalchemy import Text, cast, func, select, update

from connector.bulk import MAX_UPLOAD_BYTES, BulkClient, UpdateRows
from connector.errors import ConnectorError
from connector.records import id18
from connector.soql import format_soql, select as soql_select, soql_datetime
from connector.writes import WriteResult
from jobs import alerts, read_window
from jobs.echoes import not_our_echo
from jobs.state import outbox as ob
from jobs.state import schema
from jobs.state.schema import bulk_jobs  # migration 5
from jobs.state import store as st
from jobs.timeutil import parse_sf_datetime

if TYPE_CHECKING:
    from jobs.context import Context

CHUNK = 2_000  # entries guarded, recorded and marked per transaction (10,000 at once held ~30 MB)
ALERT_CHUNK = 10_000  # confirmed offers announced per pass, as the REST flush does
# An upload is cut at a chunk boundary this far below Salesforce's limit: a chunk's rows
# must never make UpdateRows cut one by itself (its rows would have no job of their own).
_MARGIN = 24 * 1024 * 1024

Settle = Callable[["Context", list[dict[str, Any]], list[WriteResult], datetime, dict[str, int]], None]
Fence = Callable[[Any, Any], None]

def threshold(cx: Context) -> int:
    return int(getattr(cx.client.config, "bulk_threshold", 10_000))


def bulk_client(cx: Context) -> BulkClient:
    # each state read is an API call: a 200,000-row job is asked about some six times
    return BulkClient(cx.client, threshold=threshold(cx), poll_interval=1.0, max_poll_interval=30.0)


def run(cx: Context, now: datetime, *, settle: Settle, fence: Fence) -> dict[str, int]:
    """What the outbox job does first: settle the jobs a kill left, then write a pending
    backlog from the threshold on. Fewer entries are left to the REST flush."""
    counts = resume(cx, now, settle=settle)
    for k, v in flush(cx, now, settle=settle, fence=fence).items():
        counts[k] = counts.get(k, 0) + v
    return counts


def pending_count(cx: Context) -> int:
    with cx.store.connect() as conn:
        return conn.execute(select(func.count()).select_from(schema.outbox)
                            .where(schema.outbox.c.status == "pending")).scalar() or 0


# ---------------------------------------------------------------------------- writing
def flush(cx: Context, now: datetime, *, settle: Settle, fence: Fence) -> dict[str, int]:
    counts: dict[str, int] = {}
    if pending_count(cx) < threshold(cx):
        return counts
    log = cx.log(component="bulk_writeback")
    sobject = cx.mappings.writeback_sobject()
    columns = ["Id", *cx.mappings.writeback_fields().values()]
    known = set(columns)
    bulk = bulk_client(cx)
    changed = _changed_since_decided(cx)
    rows = UpdateRows(columns)
    upload = _Upload(sobject)
    # A backlog's payloads repeat (the same pool, reason and moment for thousands of leads):
    # each distinct JSON text is decoded and rendered as CSV once.
    tails: dict[str, str | None] = {}
    for entries in _pending_chunks(cx):
        fresh, stale, lines = [], [], []
        for e in entries:
            now_stamp = changed.get(e.lead_id)
            if e.seen_modstamp is not None and now_stamp is not None and now_stamp != e.seen_modstamp:
                stale.append(e)
                continue
            if e.payload in tails:
                tail = tails[e.payload]
            else:
                if len(tails) >= 20_000:
                    tails.clear()
                tail = tails[e.payload] = _csv_tail(rows, known, e.payload)
            if tail is not None:
                fresh.append(e)
                lines.append((e.lead_id, tail))
        if stale:
            cx.refresh_leads(sorted({e.lead_id for e in stale}), now, counts)
            counts["stale"] = counts.get("stale", 0) + len(stale)
        if not fresh:
            continue
        ids = [e.id for e in fresh]
        with cx.store.begin() as conn:
            fence(conn, getattr(cx, "lock", None))
            conn.execute(bulk_jobs.insert().values(upload=upload.key, sobject=sobject, state="preparing",
                                                   entries=ids, created_at=now, updated_at=now))
            if len(fresh) == len(entries):
                # the chunk is every pending entry from its first id to its last: one statement
                conn.execute(update(OB).where(OB.c.status == "pending", OB.c.id >= ids[0], OB.c.id <= ids[-1])
                             .values(status="sent", updated_at=now, attempts=OB.c.attempts + 1))
            else:
                ob.mark(conn, ids, "sent", now, count_attempt=True)
        rows.add_tails(lines)
        upload.take(fresh)
        if rows.size >= MAX_UPLOAD_BYTES - _MARGIN:
            _send(cx, bulk, rows, upload, now, counts, settle, log)
            upload = _Upload(sobject)
        if cx.stop.is_set():
            break  # graceful stop: what is recorded goes out now, the rest stays pending
    if upload.ids:
        _send(cx, bulk, rows, upload, now, counts, settle, log)
    return counts


def _csv_tail(rows: UpdateRows, known: set[str], payload_json: str) -> str | None:
    """The CSV a payload adds after its lead's Id; None for a payload naming a field
    outside the write-back mapping (or an Id of its own): it waits for the REST flush."""
    payload = json.loads(payload_json)
    if not known.issuperset(payload) or any(k.lower() == "id" for k in payload):
        return None
    return rows.tail(payload)


class _Upload:
    """The outbox ids of one upload, increasing (8 bytes each: a dict by lead of 200,000
    entries cost ~30 MB), and the offers among them whose reps are alerted."""

    def __init__(self, sobject: str, key: str | None = None):
        self.key = key or str(uuid.uuid4())
        self.sobject = sobject
        self.ids = array("q")
        self.alerted: list[dict[str, Any]] = []

    def take(self, entries: Any) -> None:
        for e in entries:
            self.ids.append(e.id)
            if e.purpose in alerts.ALERTED_PURPOSES and e.offer_id:
                self.alerted.append({"id": e.id, "lead_id": e.lead_id, "offer_id": e.offer_id, "purpose": e.purpose})

    def __contains__(self, entry_id: int) -> bool:
        at = bisect_left(self.ids, entry_id)
        return at < len(self.ids) and self.ids[at] == entry_id


def _send(cx: Context, bulk: BulkClient, rows: UpdateRows, upload: _Upload, now: datetime,
          counts: dict[str, int], settle: Settle, log: Any) -> None:
    data = rows.finish()
    rows.done_ids = []  # not needed: the job's results name the leads, the state their entries
    if data is None:
        return

    def record(job_id: str) -> None:  # committed before the first byte of CSV leaves
        with cx.store.begin() as conn:
            conn.execute(update(bulk_jobs).where(bulk_jobs.c.upload == upload.key)
                         .values(job_id=job_id, state="running", updated_at=now))

    with data:
        job_id = bulk.start_update_job(upload.sobject, data, on_job=record)
    counts["bulk_jobs"] = counts.get("bulk_jobs", 0) + 1
    log.info("bulk_write_sent", job_id=job_id, rows=len(upload.ids))
    _settle_upload(cx, upload, bulk, job_id, now, counts, settle)


def _settle_upload(cx: Context, upload: _Upload, bulk: BulkClient, job_id: str, now: datetime,
                   counts: dict[str, int], settle: Settle) -> None:
    """The job's word on each of the upload's entries still `sent` (a resume may settle
    an upload twice); entries it does not name were not written. The results are
    streamed and settled 5,000 leads at a time, nothing per entry held in memory."""
    confirmed = 0
    ok_leads: list[str] = []

    def confirm() -> None:
        nonlocal confirmed
        with cx.store.begin() as conn:
            confirmed += st.update_in(conn, OB, "id", _sent_ids(conn, upload, ok_leads), status="confirmed",
                                      updated_at=now)
        ok_leads.clear()

    def ok(lead_id: str) -> None:
        ok_leads.append(id18(lead_id))
        if len(ok_leads) >= 5_000:
            confirm()

    outcome = bulk.resume(job_id, on_ok=ok, uploaded=len(upload.ids))
    if outcome.all_ok:  # every row written: the upload's entries still `sent`, by runs of ids
        with cx.store.begin() as conn:
            confirmed += _confirm_upload(conn, upload, now)
    confirm()
    reported = {id18(r.id): r for r in outcome.results if r.id}  # failed and unprocessed rows only
    with cx.store.connect() as conn:
        failed = [(e, reported[e["lead_id"]]) for e in _sent_entries(conn, upload, list(reported))]
    if failed:
        settle(cx, [e for e, _ in failed], [r for _, r in failed], now, counts)
    missing = f"bulk job {outcome.job_id} did not report this lead"
    with cx.store.connect() as conn:  # what is still `sent` now, the job never named
        unreported = [dict(r) for r in conn.execute(select(OB).where(
            OB.c.status == "sent", OB.c.id >= upload.ids[0], OB.c.id <= upload.ids[-1])).mappings() if r["id"] in upload]
    if unreported:
        settle(cx, unreported, [WriteResult(e["lead_id"], False, "transient", "UNPROCESSED", missing) for e in unreported],
               now, counts)  # fmt: skip
    not_written = len(failed) + len(unreported)
    unprocessed = sum(1 for _, r in failed if r.code == "UNPROCESSED") + len(unreported)
    if unprocessed:
        counts["bulk_unprocessed"] = counts.get("bulk_unprocessed", 0) + unprocessed
    with cx.store.begin() as conn:
        conn.execute(update(bulk_jobs).where(bulk_jobs.c.upload == upload.key)
                     .values(state="settled", updated_at=now, note=f"{outcome.state}: {confirmed} confirmed, "
                                                                   f"{not_written} not written"))
    if confirmed:
        counts["confirmed"] = counts.get("confirmed", 0) + confirmed
    # the reps of confirmed offers hear of them, as after a REST flush (the alerts read
    # which entries were confirmed)
    for i in range(0, len(upload.alerted), ALERT_CHUNK):
        alerts.send_offer_alerts(cx, now, upload.alerted[i:i + ALERT_CHUNK], counts)


def _sent_entries(conn: Any, upload: _Upload, lead_ids: list[str]) -> list[dict[str, Any]]:
    """The upload's entries of these leads that are still `sent`. Read by lead and the
    status filtered here (see jobs/state/outbox.py: with both in SQL, SQLite's planner
    scanned every sent entry), kept only if the upload holds them (a lead may also have
    an older `sent` entry that a killed REST batch left, for the outbox's read-back)."""
    out = []
    for i in range(0, len(lead_ids), 500):
        for r in conn.execute(select(OB).where(OB.c.lead_id.in_(lead_ids[i:i + 500]))).mappings():
            if r["status"] == "sent" and r["id"] in upload:
                out.append(dict(r))
    return out


def _confirm_upload(conn: Any, upload: _Upload, now: datetime) -> int:
    """Every entry of the upload still `sent` becomes confirmed: one UPDATE per run of
    consecutive outbox ids (an upload is mostly one run; an id between its first and
    last that it does not hold, e.g. an older REST batch's, is left as it is)."""
    first, last = upload.ids[0], upload.ids[-1]
    runs: list[list[int]] = []
    if len(upload.ids) == last - first + 1:  # the upload holds every id of its range (a backfill's)
        runs.append([first, last])
        rows: Any = ()
    else:
        rows = conn.execute(select(OB.c.id, OB.c.status).where(OB.c.id >= first, OB.c.id <= last)
                            .order_by(OB.c.id))  # by the id range, the status filtered here (see _sent_entries)
    for i, status in rows:
        if status != "sent" or i not in upload:
            continue
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    done = 0
    for first, last in runs:
        done += conn.execute(update(OB).where(OB.c.status == "sent", OB.c.id >= first, OB.c.id <= last)
                             .values(status="confirmed", updated_at=now)).rowcount
    return done


def _sent_ids(conn: Any, upload: _Upload, lead_ids: list[str]) -> list[int]:
    """`_sent_entries`' ids alone (no payload decoded)."""
    return [entry_id for entry_id, status in st.where_in(conn, OB, ("id", "status"), "lead_id", lead_ids)
            if status == "sent" and entry_id in upload]


# ---------------------------------------------------------------------------- after a kill
def resume(cx: Context, now: datetime, *, settle: Settle) -> dict[str, int]:
    """Settle every upload a stopped process left unsettled (see the module's notes)."""
    with cx.store.connect() as conn:
        rows = conn.execute(select(bulk_jobs).where(bulk_jobs.c.state.in_(("preparing", "running")))
                            .order_by(bulk_jobs.c.id)).mappings().all()
    counts: dict[str, int] = {}
    if not rows:
        return counts
    uploads: dict[str, list[Any]] = {}
    for r in rows:
        uploads.setdefault(r["upload"], []).append(r)
    log = cx.log(component="bulk_writeback")
    bulk = bulk_client(cx)
    for key, parts in uploads.items():
        ids = [i for p in parts for i in p["entries"]]
        job_id = next((p["job_id"] for p in parts if p["job_id"]), None)
        if job_id is None:
            with cx.store.begin() as conn:
                back = sorted(_still_sent_in(conn, ids))
                ob.mark(conn, back, "pending", now, error="stopped while a Bulk API job was prepared; nothing was uploaded")
                _set_state(conn, key, "settled", now, f"never uploaded: {len(back)} back to pending")
            counts["bulk_resumed_unsent"] = counts.get("bulk_resumed_unsent", 0) + len(back)
            log.warning("bulk_upload_never_started", entries=len(back))
            continue
        try:
            bulk._wait("ingest", job_id)  # the org still knows it? (settling reads it again, done)
        except ConnectorError as e:
            if e.code != "NOT_FOUND":
                raise  # the org cannot be asked now: the next run resumes it
            with cx.store.begin() as conn:
                _set_state(conn, key, "orphaned", now, f"job {job_id} unknown to the org: its entries stay sent, "
                                                       "for the outbox's read-back")  # fmt: skip
            log.warning("bulk_job_unknown", job_id=job_id, entries=len(ids),
                        fix="nothing to do: the outbox reads these leads back and sends what did not land")
            continue
        upload = _Upload(parts[0]["sobject"], key)
        with cx.store.connect() as conn:
            upload.take(_Entry(e) for e in _entries_by_id(conn, ids))
        upload.ids = array("q", sorted(upload.ids))
        log.warning("bulk_job_resumed", job_id=job_id, entries=len(upload.ids))
        counts["bulk_resumed_jobs"] = counts.get("bulk_resumed_jobs", 0) + 1
        _settle_upload(cx, upload, bulk, job_id, now, counts, settle)
    return counts


def _set_state(conn: Any, key: str, state: str, now: datetime, note: str) -> None:
    conn.execute(update(bulk_jobs).where(bulk_jobs.c.upload == key).values(state=state, updated_at=now, note=note))


# ---------------------------------------------------------------------------- reading the state
OB = schema.outbox
# the payload as its stored JSON text (decoded once per distinct text, see flush)
_COLUMNS = (OB.c.id, OB.c.lead_id, cast(OB.c.payload, Text).label("payload"), OB.c.seen_modstamp, OB.c.offer_id,
            OB.c.purpose)


class _Entry:
    """What the write-back needs of an outbox row given as a dict."""

    __slots__ = ("id", "lead_id", "payload", "seen_modstamp", "offer_id", "purpose")

    def __init__(self, row: dict[str, Any]):
        for name in self.__slots__:
            setattr(self, name, row[name])


def _pending_chunks(cx: Context) -> Iterator[list[Any]]:
    """Pending entries in id order, CHUNK at a time, only the columns the write needs."""
    after = 0
    while True:
        with cx.store.connect() as conn:
            entries = conn.execute(select(*_COLUMNS).where(OB.c.status == "pending", OB.c.id > after)
                                   .order_by(OB.c.id).limit(CHUNK)).all()
        if not entries:
            return
        after = entries[-1].id
        yield entries


def _entries_by_id(conn: Any, ids: list[int]) -> Iterator[dict[str, Any]]:
    for i in range(0, len(ids), 500):
        for r in conn.execute(select(OB).where(OB.c.id.in_(ids[i:i + 500]))).mappings():
            yield dict(r)


def _still_sent_in(conn: Any, ids: list[int]) -> set[int]:
    """Those of `ids` still `sent`, read by id range (an upload's ids are increasing)."""
    if not ids:
        return set()
    wanted = set(ids)
    rows = conn.execute(select(OB.c.id).where(OB.c.id >= min(ids), OB.c.id <= max(ids), OB.c.status == "sent"))
    return {r[0] for r in rows if r[0] in wanted}


def _changed_since_decided(cx: Context) -> dict[str, datetime]:
    """SystemModstamp of the leads someone else changed after the oldest pending decision
    (not before the lead stream's last read began, less the lookback: changes before
    it were seen by that read). One query, whatever the backlog."""
    with cx.store.connect() as conn:
        oldest = conn.execute(select(func.min(schema.outbox.c.seen_modstamp))
                              .where(schema.outbox.c.status == "pending")).scalar()
        read_start = read_window.read_start(conn)
    if oldest is None:
        return {}
    since = max(oldest, read_start - cx.lookback) if read_start else oldest
    where = format_soql("SystemModstamp > {}", soql_datetime(since - timedelta(seconds=1)))
    echo = not_our_echo(cx)  # our own earlier writes cannot make a decision stale
    if echo:
        where = f"({where}) AND ({echo})"
    rows = cx.client.query(soql_select(cx.mappings.writeback_sobject(), ["Id", "SystemModstamp"], where=where))
    return {r["Id"]: parse_sf_datetime(r["SystemModstamp"]) for r in rows}
