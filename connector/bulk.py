"""Bulk API 2.0 for first runs and large backlogs: a handful of calls for 200,000 records.

Above `threshold` records (default 10,000) reads and writes go through Bulk API 2.0
jobs instead of REST pages of 2,000 and composite calls of 200. Everything else is the
same as REST: every request passes through the client's session (so it is counted and
the budget is checked before it), through the retry policy, and every error through
`classify()`. Below the threshold the REST path is used unchanged.

Crash safety. A write creates a job, hands its id to `on_job(job_id)` BEFORE any data
is uploaded (the caller persists it next to its outbox rows), then uploads, closes and
waits. After a restart `resume(job_id)` finds out what happened and answers one
`WriteResult` per row the job knows about:
- still Open (we died before closing it): nothing was processed; it is aborted, so it
  never will be, and every uploaded row comes back as "UNPROCESSED" (write it again);
- UploadComplete / InProgress: waited for, then read as below;
- JobComplete / Failed / Aborted: successfulResults are ok (never write them again),
  failedResults are classified like composite SaveResults, unprocessedrecords are
  "UNPROCESSED" (transient: write them again).
So a row is written at most once by a job, and a caller that resends only what
`resume` did not report ok writes no lead twice and loses none.
"""
from __future__ import annotations

import csv
import io
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence, cast

import requests

from .errors import CONFIG_FIXES, ConfigError, Failure, RecordError, classify
from .records import id18, parse_sf_datetime
from .soql import check_id, format_soql, ident, select, sf_json_value, soql_datetime
from .writes import GuardedUpdate, WriteKind, WriteResult

if TYPE_CHECKING:
    from .client import SalesforceClient

DEFAULT_THRESHOLD = 10_000
PAGE_RECORDS = 50_000  # rows per results page: 4 pages for 200,000 leads, ~25 MB of CSV each
MAX_UPLOAD_BYTES = 100 * 1024 * 1024 - 1024 * 1024  # Salesforce takes 100 MB of CSV per job; keep a margin
RUNNING = ("Open", "UploadComplete", "InProgress")
DONE = ("JobComplete", "Failed", "Aborted")
_NULL = "#N/A"  # Bulk CSV's way to set a field to null (an empty cell leaves it unchanged)
_FROM = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)
_NUMBER_TYPES = {"double": float, "currency": float, "percent": float, "int": int, "long": int}
_TYPED = frozenset(("boolean", "datetime", *_NUMBER_TYPES))  # columns whose CSV text is converted


@dataclass
class BulkOutcome:
    """What a finished (or resumed) ingest job did, one WriteResult per row it saw."""

    job_id: str
    state: str
    results: list[WriteResult] = field(default_factory=list)
    error_message: str | None = None
    succeeded: int = 0  # successful rows, whether kept in `results` or handed to `on_ok`
    all_ok: bool = False  # every uploaded row written (`resume(uploaded=…)`): none is in `results`

    @property
    def ok_ids(self) -> set[str]:
        return {r.id for r in self.results if r.ok and r.id}

    @property
    def retry_ids(self) -> set[str]:
        return {r.id for r in self.results if r.kind == "transient" and r.id}


def _csv_cell(value: Any) -> str:
    value = sf_json_value(value)
    if value is None:
        return _NULL
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


class UpdateRows:
    """Update rows as CSV uploads of at most MAX_UPLOAD_BYTES each, built as records come
    and spooled to a temporary file (a 200,000-lead upload never sits in memory): `add()`
    answers a finished upload (a binary file at offset 0) when the next row would not
    fit, `finish()` the last one. `ids` are the 18-char ids of the upload being built,
    `done_ids` those of the upload last answered. A column a record does not name is left
    as it is in the org (an empty cell); a None value sets the field to null."""

    def __init__(self, columns: Sequence[str]):
        names = [ident(n) for n in columns if n.lower() != "id" and n != "attributes"]
        self.columns = ["Id", *names]
        self._names = names
        self._line = io.StringIO()
        self._writer = csv.writer(self._line, lineterminator="\n")
        self._writer.writerow(self.columns)
        self._header = self._line.getvalue().encode()
        self._file: IO[bytes] | None = None
        self._size = 0
        self.ids: list[str] = []
        self.done_ids: list[str] = []

    def _open(self) -> IO[bytes]:
        self._file = tempfile.TemporaryFile()
        self._file.write(self._header)
        self._size = 0
        return self._file

    def add(self, record: Mapping[str, Any]) -> IO[bytes] | None:
        rid = next((v for k, v in record.items() if k.lower() == "id"), None)
        if rid is None:
            raise ValueError(f"a bulk update needs an 'Id' in every record: {dict(record)!r:.200}")
        rid = id18(check_id(rid))
        line = self._line
        line.seek(0)
        line.truncate()
        self._writer.writerow([rid, *(_csv_cell(record[n]) if n in record else "" for n in self._names)])
        row = line.getvalue().encode()
        full = None
        if self._file is not None and self._size + len(row) > MAX_UPLOAD_BYTES and self.ids:
            full = self.finish()
        file = self._file if self._file is not None else self._open()
        file.write(row)
        self._size += len(row)
        self.ids.append(rid)
        return full

    def add_many(self, records: Iterable[Mapping[str, Any]]) -> None:
        """`add` for a batch, written in one go. The caller keeps each upload under
        MAX_UPLOAD_BYTES (see `size`, and `finish` for the upload so far): a batch that
        would cross it is refused, nothing of it written."""
        ids, rows = [], []
        names = self._names
        for record in records:
            rid = record.get("Id") or next((v for k, v in record.items() if k.lower() == "id"), None)
            if rid is None:
                raise ValueError(f"a bulk update needs an 'Id' in every record: {dict(record)!r:.200}")
            rid = id18(check_id(rid))
            ids.append(rid)
            row = [rid]
            for n in names:  # most values of a write-back are text already
                v = record.get(n, "")  # a column the record does not name: "" (left as it is)
                row.append(v if type(v) is str else _csv_cell(v))
            rows.append(row)
        line = self._line
        line.seek(0)
        line.truncate()
        self._writer.writerows(rows)
        data = line.getvalue().encode()
        self._append(data, ids)

    def tail(self, fields: Mapping[str, Any]) -> str:
        """A row's CSV after its Id (from the comma on, line end included), as `add_many`
        writes it for a record of these fields: a backlog's rows repeat the same fields
        (the same pool, reason and moment) under different ids, so a caller can render
        each distinct set once and hand `add_tails` the pairs."""
        row = ["x"]  # an Id is 18 letters and digits, never quoted: the rest is the same text
        for n in self._names:
            v = fields.get(n, "")
            row.append(v if type(v) is str else _csv_cell(v))
        line = self._line
        line.seek(0)
        line.truncate()
        self._writer.writerow(row)
        return line.getvalue()[1:]

    def add_tails(self, rows: Iterable[tuple[str, str]]) -> None:
        """`add_many` for rows given as (Id, `tail(fields)`): the same bytes, each Id checked."""
        ids, parts = [], []
        for rid, tail in rows:
            rid = id18(check_id(rid))
            ids.append(rid)
            parts.append(rid)
            parts.append(tail)
        data = "".join(parts).encode()
        self._append(data, ids)

    def _append(self, data: bytes, ids: list[str]) -> None:
        file = self._file if self._file is not None else self._open()
        if self._size + len(data) > MAX_UPLOAD_BYTES:
            raise ValueError(f"{len(ids)} rows would take the upload past {MAX_UPLOAD_BYTES} bytes: finish() it first")
        file.write(data)
        self._size += len(data)
        self.ids.extend(ids)

    @property
    def size(self) -> int:
        """Bytes of rows in the upload being built (its header not counted)."""
        return self._size if self._file is not None else 0

    def finish(self) -> IO[bytes] | None:
        if self._file is None or not self.ids:
            return None
        done, self._file = self._file, None
        done.seek(0)
        self.done_ids, self.ids = self.ids, []
        return done


def columns_of(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every field any record names, in first-seen order."""
    seen: dict[str, None] = {}
    for record in records:
        for name in record:
            seen.setdefault(name, None)
    return list(seen)


def _split_error(text: str) -> tuple[str, str]:
    """`CODE:message:fields --` (failedResults' sf__Error) as (code, message)."""
    code, _, rest = text.partition(":")
    message = rest.rsplit(":", 1)[0] if ":" in rest else rest
    return code.strip() or "UNKNOWN", message.strip()


class BulkClient:
    """Bulk API 2.0 reads and writes on top of a connected `SalesforceClient`."""

    def __init__(
        self,
        client: SalesforceClient,
        *,
        threshold: int = DEFAULT_THRESHOLD,
        poll_interval: float = 2.0,
        max_poll_interval: float = 30.0,
        page_records: int = PAGE_RECORDS,
        timeout: float = 24 * 3600,
    ):
        if threshold < 1:
            raise ValueError(f"bulk threshold must be at least 1 record, got {threshold}")
        self.client = client
        self.threshold = threshold
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.page_records = page_records
        self.timeout = timeout
        self.jobs = 0  # jobs created, for reports

    # --- plumbing -------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return f"{self.client.sf.base_url}jobs/{path}"

    def _request(self, method: str, path: str, context: str, *, idempotent: bool = True,
                 **kwargs: Any) -> requests.Response:
        def once() -> requests.Response:
            return self.client.sf._call_salesforce(method, self._url(path), name=context, **kwargs)

        return self.client._call(once, context, idempotent=idempotent)

    def _json(self, method: str, path: str, context: str, body: Any = None, *,
              idempotent: bool = True) -> dict[str, Any]:
        kwargs = {"json": body} if body is not None else {}
        answer: dict[str, Any] = self._request(method, path, context, idempotent=idempotent, **kwargs).json()
        return answer

    def _wait(self, kind: str, job_id: str) -> dict[str, Any]:
        """Poll a job until it is done; each poll is one API call, so the wait grows."""
        waited, wait = 0.0, self.poll_interval
        while True:
            info = self._json("GET", f"{kind}/{job_id}", f"bulk {kind} job state")
            if info.get("state") in DONE:
                return info
            if info.get("state") == "Open":
                return info  # an Open job waits for us, not the other way round
            if waited >= self.timeout:
                raise RecordError(Failure("transient", "BULK_JOB_TIMEOUT",
                                          f"bulk {kind} job {job_id} still {info.get('state')} after {waited:.0f}s",
                                          "resume the job later with its id; it keeps running in the org"))  # fmt: skip
            self.client._sleep(wait)
            waited += wait
            wait = min(wait * 2, self.max_poll_interval)

    # --- reads ----------------------------------------------------------------------
    def should_use_bulk(self, expected_records: int) -> bool:
        return expected_records >= self.threshold

    def query(self, soql: str, *, include_deleted: bool = False, expected: int | None = None) -> Iterator[dict[str, Any]]:
        """Records of a SOQL query, typed like the REST API's JSON (numbers, booleans,
        nulls, `+0000` datetimes, parents as nested dicts; a parent's non-text fields stay
        text). Through a bulk query job when `expected` reaches the threshold, else REST.
        Without `expected`, one COUNT() call over the whole object decides (an upper bound:
        the WHERE clause is not applied to it); a caller that knows its backlog passes it."""
        if expected is None:
            match = _FROM.search(soql)
            expected = self.client.count(f"SELECT COUNT() FROM {match.group(1)}") if match else self.threshold
        if not self.should_use_bulk(expected):
            yield from (self.client.query_all(soql) if include_deleted else self.client.query(soql))
            return
        job_id = self.start_query(soql, include_deleted=include_deleted)
        yield from self.query_results(job_id)

    def start_query(self, soql: str, *, include_deleted: bool = False) -> str:
        operation = "queryAll" if include_deleted else "query"
        job = self._json("POST", "query", "bulk query job", {"operation": operation, "query": soql,
                                                              "contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "LF"})  # fmt: skip
        self.jobs += 1
        return str(job["id"])

    def query_results(self, job_id: str) -> Iterator[dict[str, Any]]:
        """Every record of a query job, page by page (`Sforce-Locator` until `null`)."""
        info = self._wait("query", job_id)
        if info.get("state") != "JobComplete":
            raise RecordError(Failure("permanent", "BULK_QUERY_FAILED",
                                      f"bulk query job {job_id} ended {info.get('state')}: {info.get('errorMessage') or 'no message'}"))  # fmt: skip
        types = self._field_types(info.get("object"))
        locator: str | None = None
        while True:
            params: dict[str, Any] = {"maxRecords": self.page_records}
            if locator:
                params["locator"] = locator
            response = self._request("GET", f"query/{job_id}/results", "bulk query results", params=params,
                                     headers={"Accept": "text/csv"})  # fmt: skip
            locator = response.headers.get("Sforce-Locator")
            content = response.content
            del response
            reader = _csv_rows(content)
            header = next(reader, None)
            if header and not any("." in name for name in header):
                # flat (no parent fields): one dict per row at C speed, then the typed columns
                typed = [(name, self._converter(name, types)) for name in header if types.get(name) in _TYPED]
                for row in reader:
                    record = {name: value or None for name, value in zip(header, row)}
                    for name, conv in typed:
                        record[name] = conv(record[name])
                    yield record
            elif header:
                convert = [self._converter(name, types) for name in header]
                paths = [name.split(".") for name in header]
                for row in reader:
                    yield _record(paths, convert, row)
            del content
            if not locator or locator == "null":
                return

    def _field_types(self, sobject: str | None) -> dict[str, str]:
        if not sobject:
            return {}
        describe = self.client.describe(sobject)
        return {f["name"]: f["type"] for f in describe.get("fields", [])}

    @staticmethod
    def _converter(name: str, types: Mapping[str, str]) -> Callable[[str | None], Any]:
        """Text of a CSV cell (None or "" when empty) as the REST API's JSON types it."""
        kind = types.get(name) if "." not in name else None
        if kind == "boolean":
            return lambda v: v == "true"
        if kind in _NUMBER_TYPES:
            number = _NUMBER_TYPES[kind]
            return lambda v: number(float(v)) if v else None
        if kind == "datetime":
            return lambda v: (v[:-1] + "+0000" if v.endswith("Z") else v) if v else None
        return lambda v: v if v != "" else None

    # --- writes ---------------------------------------------------------------------
    def update(
        self,
        sobject: str,
        records: Sequence[Mapping[str, Any]],
        *,
        on_job: Callable[[str], None] | None = None,
    ) -> list[WriteResult]:
        """Field updates by Id; one WriteResult per record, in order. Below the threshold
        this is `client.update` (REST). Above it, one ingest job per 100 MB of CSV; rows
        that fail transiently (a row lock, left unprocessed) are written again, by REST or
        bulk as their number says, up to the retry policy's attempts."""
        records = list(records)
        if not self.should_use_bulk(len(records)):
            return self.client.update(sobject, records)
        results = self.update_stream(sobject, records, columns=columns_of(records), on_job=on_job)
        for attempt in range(1, self.client.config.retry.max_attempts):
            again = [n for n, r in enumerate(results) if r.kind == "transient"]
            if not again:
                break
            self.client.log.warning("bulk rows failed transiently, writing them again", count=len(again), attempt=attempt)
            redo = self.update(sobject, [records[n] for n in again], on_job=on_job)
            for n, result in zip(again, redo):
                results[n] = result
        self.client._log_writes("bulk update", sobject, results)
        return results

    def update_stream(
        self,
        sobject: str,
        records: Iterable[Mapping[str, Any]],
        *,
        columns: Sequence[str],
        on_job: Callable[[str], None] | None = None,
    ) -> list[WriteResult]:
        """Bulk updates from an iterable, whatever their number: a job per 100 MB, the
        CSV built as records come. One WriteResult per record, in order; transient ones
        (row locks, rows a failed job left) are the caller's to send again."""
        ident(sobject, what="object")
        rows = UpdateRows(columns)
        results: list[WriteResult] = []

        def send(data: IO[bytes] | None) -> None:
            if data is None:
                return
            with data:
                outcome = self.run_update_job(sobject, data, on_job=on_job)
            by_id = {id18(r.id): r for r in outcome.results if r.id}
            missing = "the job did not report this record"
            results.extend(by_id.get(i) or WriteResult(i, False, "transient", "UNPROCESSED", missing) for i in rows.done_ids)

        for record in records:
            send(rows.add(record))
        send(rows.finish())
        return results

    def update_guarded(
        self,
        sobject: str,
        updates: Sequence[GuardedUpdate],
        *,
        changed_since: datetime,
        on_job: Callable[[str], None] | None = None,
    ) -> list[WriteResult]:
        """Like `client.update_guarded` (a person's edit since the decision wins: "stale",
        not written), for a backlog: instead of one guard query per 200 records, ONE query
        for the records changed after `changed_since` (the read's start: every decision
        was made on a record read after it), then one bulk write of the rest. Below the
        threshold it is `client.update_guarded`. A record deleted meanwhile fails in the
        job with ENTITY_IS_DELETED (permanent), as a REST write would."""
        updates = list(updates)
        if not self.should_use_bulk(len(updates)):
            return self.client.update_guarded(sobject, updates)
        for u in updates:
            check_id(u.id)
        moved = select(sobject, ["Id", "SystemModstamp"],
                       where=format_soql("SystemModstamp > {}", soql_datetime(changed_since)))  # fmt: skip
        current = {id18(r["Id"]): r["SystemModstamp"] for r in self.client.query(moved)}
        verdicts: list[WriteResult | None] = []
        fresh: list[dict[str, Any]] = []
        for u in updates:
            now = current.get(id18(u.id))
            if now is not None and parse_sf_datetime(now) != parse_sf_datetime(u.seen_modstamp):
                verdicts.append(WriteResult(u.id, False, "stale", "CHANGED_SINCE_DECISION",
                                            f"modified at {now}, after the decision made on {u.seen_modstamp}; not overwritten"))  # fmt: skip
            else:
                verdicts.append(None)
                fresh.append({"Id": u.id, **u.fields})
        written = iter(self.update(sobject, fresh, on_job=on_job) if fresh else ())
        return [v if v is not None else next(written) for v in verdicts]

    def run_update_job(self, sobject: str, data: bytes | IO[bytes], *,
                       on_job: Callable[[str], None] | None = None) -> BulkOutcome:
        return self.resume(self.start_update_job(sobject, data, on_job=on_job))

    def start_update_job(self, sobject: str, data: bytes | IO[bytes], *,
                         on_job: Callable[[str], None] | None = None) -> str:
        """Create, upload and close an update job; its id (`resume` tells what it did)."""
        job = self._json("POST", "ingest", "bulk ingest job", {"object": sobject, "operation": "update",
                                                               "contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "LF"})  # fmt: skip
        job_id = str(job["id"])
        self.jobs += 1
        if on_job is not None:
            on_job(job_id)  # persisted before any row can be written
        # neither call is repeated when its outcome is unknown: `resume` looks first
        def upload() -> Any:
            if not isinstance(data, bytes):
                data.seek(0)  # a retried upload sends the file from its start again
            return self.client.sf._call_salesforce("PUT", self._url(f"ingest/{job_id}/batches"), name="bulk upload",
                                                   data=data, headers={"Content-Type": "text/csv"})  # fmt: skip

        self.client._call(upload, "bulk upload", idempotent=False)
        self._json("PATCH", f"ingest/{job_id}", "bulk close job", {"state": "UploadComplete"}, idempotent=False)
        return job_id

    def resume(self, job_id: str, *, on_ok: Callable[[str], None] | None = None,
               uploaded: int | None = None) -> BulkOutcome:
        """What an ingest job did, after waiting for it; an Open job is aborted first
        (it was never closed, so none of its rows were written and none will be).
        `on_ok`: each successful record's id is handed to it instead of being kept as a
        WriteResult (a 200,000-row job's successes as objects cost tens of MB). A result
        file the job's own figures say is empty is not read (a JobComplete job has no
        unprocessed rows; `numberRecordsFailed` 0, no failed ones).
        `uploaded`: the rows the caller uploaded. When the job's figures say every one of
        them succeeded, its successful rows are counted rather than handed out, and
        `outcome.all_ok` tells the caller that all of them were written (it then settles
        its rows wholesale, not by id)."""
        check_id(job_id)
        info = self._wait("ingest", job_id)
        if info.get("state") == "Open":
            self.client.log.warning("bulk job was never closed; aborting it, its rows will be sent again", job_id=job_id)
            info = self._json("PATCH", f"ingest/{job_id}", "bulk abort job", {"state": "Aborted"})
        outcome = BulkOutcome(job_id, info["state"], error_message=info.get("errorMessage"))
        if (uploaded and info["state"] == "JobComplete" and info.get("numberRecordsFailed") == 0
                and info.get("numberRecordsProcessed") == uploaded):
            # the results still say so, row by row: a count that disagrees is read as usual
            succeeded = sum(1 for _ in self._result_rows(job_id, "successfulResults", ()))
            if succeeded == uploaded:
                outcome.succeeded, outcome.all_ok = succeeded, True
                return outcome
        results = outcome.results
        for sf_id, rid in self._result_rows(job_id, "successfulResults", ("sf__Id", "Id")):
            outcome.succeeded += 1
            if on_ok is None:
                results.append(WriteResult(sf_id or rid, True, "ok"))
            else:
                on_ok(sf_id or rid)
        complete = info["state"] == "JobComplete"
        if not (complete and info.get("numberRecordsFailed") == 0):
            for sf_id, rid, error in self._result_rows(job_id, "failedResults", ("sf__Id", "Id", "sf__Error")):
                code, message = _split_error(error)
                failure = classify({"statusCode": code, "message": message})
                kind: WriteKind = "transient" if failure.kind == "transient" else "permanent"
                results.append(WriteResult(sf_id or rid, False, kind, failure.code, message, failure.fields, failure.fix))
        left = f"job {job_id} ended {info['state']} before this record"
        if not complete:
            for (rid,) in self._result_rows(job_id, "unprocessedrecords", ("Id",)):
                results.append(WriteResult(rid, False, "transient", "UNPROCESSED", left))
        if info["state"] == "Failed" and not outcome.succeeded:
            self._raise_job_failure(job_id, info.get("errorMessage") or "")
        if info["state"] == "Failed":
            self.client.log.warning("bulk job failed part-way", job_id=job_id, error=info.get("errorMessage"))
        return outcome

    def _result_rows(self, job_id: str, which: str, wanted: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        """The `wanted` columns of a result file, row by row ("" for a column it lacks):
        200,000 rows as dicts of every uploaded field would cost hundreds of MB."""
        # streamed: the body (every uploaded column of every row) is never held whole
        response = self._request("GET", f"ingest/{job_id}/{which}", f"bulk {which}", headers={"Accept": "text/csv"},
                                 stream=True)  # fmt: skip
        try:
            raw = response.raw
            raw.decode_content = True
            raw.auto_close = False  # TextIOWrapper reads once more at the end: no ValueError on a closed file
            reader = csv.reader(io.TextIOWrapper(cast(IO[bytes], raw), encoding="utf-8", newline=""))
            header = next(reader, None)
            if not header:
                return
            at = [header.index(name) if name in header else None for name in wanted]
            for row in reader:
                if row:
                    yield tuple(row[i] if i is not None and i < len(row) else "" for i in at)
        finally:
            response.close()

    def _raise_job_failure(self, job_id: str, message: str) -> None:
        if "InvalidBatch" in message or "Field name not found" in message:
            raise ConfigError(Failure("config", "INVALID_FIELD", f"bulk job {job_id}: {message}", CONFIG_FIXES["INVALID_FIELD"]))  # fmt: skip


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    """CSV rows of a response body, decoded line by line: a 60 MB body parsed through one
    str in a StringIO would take four bytes a character (hundreds of MB)."""
    return csv.reader(line.decode("utf-8") for line in io.BytesIO(content))


def _record(paths: list[list[str]], convert: list[Callable[[str | None], Any]], row: list[str]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    nested = False
    for path, conv, value in zip(paths, convert, row):
        if len(path) == 1:
            record[path[0]] = conv(value)
            continue
        nested = True
        node = record
        for key in path[:-1]:
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            node = child
        node[path[-1]] = conv(value)
    return _no_empty_parents(record) if nested else record


def _no_empty_parents(record: dict[str, Any]) -> dict[str, Any]:
    """A parent whose every column is empty is no parent: None, as REST answers it."""
    for key, value in record.items():
        if isinstance(value, dict):
            _no_empty_parents(value)
            if all(v is None for v in value.values()):
                record[key] = None
    return record
