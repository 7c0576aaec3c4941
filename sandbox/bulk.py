"""Bulk API 2.0: query jobs and ingest jobs under /services/data/vXX.X/jobs/.

Query job: POST jobs/query {operation, query} → the job (state UploadComplete); the org
runs the query at once and keeps the result as CSV lines; GET jobs/query/{id} shows
InProgress for `polls_in_progress` reads, then JobComplete; GET .../results?locator=&
maxRecords= pages it, each page with the header row, `Sforce-NumberOfRecords` and
`Sforce-Locator` (the literal `null` on the last page). A locator names an offset, so
it can be read again as long as the job exists, as Salesforce documents.

Ingest job: POST jobs/ingest {object, operation} → Open; PUT .../batches (text/csv,
answered 201, one upload per job, ≤ 150 MB); PATCH {"state": "UploadComplete"} closes
it and the org processes every row then (one row at a time, through the same store
path as REST writes, no assignment rule unless `assignmentRuleId`); the job shows
InProgress for `polls_in_progress` reads, then JobComplete. PATCH {"state": "Aborted"}
on an Open job processes nothing. Results: successfulResults (sf__Id, sf__Created +
the row), failedResults (sf__Id, sf__Error + the row), unprocessedrecords (the row).

Faults: planned `record_failures` on `jobs/ingest` make chosen rows fail (as a row
lock would); a planned `job_failed` fails the job part-way (`share` of rows done):
state Failed, an `errorMessage`, the rest of the rows in unprocessedrecords. Every
request-level fault (503, drop, latency, expire) reaches these routes like any other.
Jobs live in memory: a sandbox restart forgets them (an org keeps them 7 days).
"""
from __future__ import annotations

import base64
import csv
import io
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from sandbox import ids, sharing
from sandbox.errors import SalesforceError
from sandbox.https_server import Request, Response
from sandbox.rest import sobject
from sandbox.upsert import external_id_field
from sandbox.upsert import upsert as upsert_record

if TYPE_CHECKING:
    from sandbox.handle import RunningOrg as Sandbox

MAX_UPLOAD_BYTES = 150 * 1024 * 1024  # one upload's limit (base64 of the 100 MB CSV limit)
DEFAULT_MAX_RECORDS = 100_000  # a page when the client names no maxRecords
MAX_PAGE_BYTES = 100 * 1024 * 1024
OPERATIONS_QUERY = ("query", "queryAll")
OPERATIONS_INGEST = ("insert", "update", "upsert", "delete", "hardDelete")
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
CSV_TYPE = "text/csv"
TERMINAL = ("JobComplete", "Failed", "Aborted")


def _job_error(status: int, code: str, message: str) -> SalesforceError:
    return SalesforceError(status, code, message)


def invalid_job_state(message: str) -> SalesforceError:
    return _job_error(400, "INVALIDJOBSTATE", message)


def _stamp(when: datetime) -> str:
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}+0000"


def _csv_value(value: Any) -> str:
    """A stored value as Bulk API 2.0 writes it in CSV: empty for null, Z-suffixed datetimes."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and len(value) == 28 and value[10] == "T" and value.endswith("+0000"):
        return value[:-5] + "Z"  # the REST renderer's datetime; Bulk CSV writes UTC as Z
    return str(value)


def _flatten(rendered: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in rendered.items():
        if key == "attributes":
            continue
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _locator(position: int) -> str:
    return base64.b64encode(str(position).encode()).decode().rstrip("=")


def _position(locator: str) -> int:
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True).decode()
        position = int(text)
    except (ValueError, UnicodeDecodeError):
        raise _job_error(400, "INVALID_LOCATOR", f"invalid locator {locator!r}: use the Sforce-Locator of the previous page") from None  # fmt: skip
    if position < 0:
        raise _job_error(400, "INVALID_LOCATOR", f"invalid locator {locator!r}")
    return position


@dataclass
class Job:
    id: str
    kind: str  # "query" or "ingest"
    operation: str
    object: str
    created_by: str
    created: datetime
    version: str
    delimiter: str = "COMMA"
    line_ending: str = "LF"
    state: str = "Open"
    final_state: str = "JobComplete"  # what a running job becomes once its polls are spent
    modstamp: datetime | None = None
    polls_left: int = 0  # status reads still to show InProgress
    worker: threading.Thread | None = None  # the org processing the job, as Salesforce does: in the background
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    external_id: str | None = None
    assignment_rule: str | None = None
    error_message: str | None = None
    # query
    header: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    # ingest
    upload: bytes | None = None
    columns: list[str] = field(default_factory=list)
    successful: list[list[str]] = field(default_factory=list)
    failed: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)

    def info(self) -> dict:
        info: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": _stamp(self.created),
            "systemModstamp": _stamp(self.modstamp or self.created),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "jobType": "V2Query" if self.kind == "query" else "V2Ingest",
            "lineEnding": self.line_ending,
            "columnDelimiter": self.delimiter,
            "retries": 0,
            "totalProcessingTime": 0,
        }
        if self.kind == "query":
            info["numberRecordsProcessed"] = len(self.lines) if self.state == "JobComplete" else 0
        else:
            info["contentUrl"] = f"services/data/v{self.version}/jobs/ingest/{self.id}/batches"
            info["externalIdFieldName"] = self.external_id
            info["numberRecordsProcessed"] = len(self.successful) + len(self.failed)
            info["numberRecordsFailed"] = len(self.failed)
            info["apiActiveProcessingTime"] = 0
            info["apexProcessingTime"] = 0
            if self.assignment_rule:
                info["assignmentRuleId"] = self.assignment_rule
        if self.error_message:
            info["errorMessage"] = self.error_message
        return info


class BulkJobs:
    """The org's Bulk API 2.0 jobs. `polls_in_progress`: how many status reads of a
    running job show InProgress before it completes (0 = done at the first read)."""

    def __init__(self, polls_in_progress: int = 1):
        self.polls_in_progress = polls_in_progress
        self._jobs: dict[str, Job] = {}
        # what the limits resource counts, kept when a job is deleted: (org time, "query" for a
        # query job — DailyBulkV2QueryJobs — or "batch" for 10,000 ingested records — DailyBulkApiBatches)
        self._usage: list[tuple[datetime, str]] = []
        self._serial = 0
        self._lock = threading.Lock()

    def new_id(self) -> str:
        with self._lock:
            self._serial += 1
            return ids.make_id("750", self._serial)

    def add(self, job: Job) -> Job:
        with self._lock:
            self._jobs[job.id] = job
        return job

    def get(self, job_id: str, kind: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id) or self._jobs.get(ids.to18(job_id) if ids.is_valid(job_id) else "")
        if job is None or job.kind != kind:
            raise _job_error(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    def remove(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    def all(self, kind: str) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if j.kind == kind]

    def count_use(self, when: datetime, what: str, n: int = 1) -> None:
        with self._lock:
            self._usage.extend([(when, what)] * n)

    def used(self, what: str, since: datetime) -> int:
        """Query jobs or ingest batches counted since `since` (the limits' 24-hour window)."""
        with self._lock:
            return sum(1 for when, kind in self._usage if kind == what and when > since)


def _jobs(sb: Sandbox) -> BulkJobs:
    return sb.bulk


def _body(request: Request) -> dict:
    body = request.json()
    if not isinstance(body, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "Expected a JSON object describing the job")
    return body


def _format(body: dict) -> tuple[str, str]:
    delimiter = body.get("columnDelimiter", "COMMA")
    line_ending = body.get("lineEnding", "LF")
    if delimiter not in DELIMITERS:
        raise SalesforceError(400, "INVALIDJOB", f"columnDelimiter must be one of {', '.join(DELIMITERS)}, got {delimiter!r}")  # fmt: skip
    if line_ending not in LINE_ENDINGS:
        raise SalesforceError(400, "INVALIDJOB", f"lineEnding must be LF or CRLF, got {line_ending!r}")
    content_type = body.get("contentType", "CSV")
    if content_type != "CSV":
        raise SalesforceError(400, "INVALIDJOB", f"contentType must be CSV (the only format Bulk API 2.0 takes), got {content_type!r}")  # fmt: skip
    return delimiter, line_ending


def _csv_text(rows: list[list[str]], job: Job) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=DELIMITERS[job.delimiter], lineterminator=LINE_ENDINGS[job.line_ending],
                        quoting=csv.QUOTE_ALL)  # fmt: skip
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _csv_response(body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(200, body, {"Content-Type": f"{CSV_TYPE}; charset=UTF-8", **(headers or {})})


def _advance(job: Job, now: datetime) -> None:
    """A status read of a running job: InProgress while the org works on it and for
    `polls_in_progress` reads at least, then its final state."""
    with job.lock:
        if job.state in ("UploadComplete", "InProgress"):
            if job.polls_left > 0 or (job.worker is not None and job.worker.is_alive()):
                job.polls_left = max(0, job.polls_left - 1)
                job.state = "InProgress"
            else:
                job.state = job.final_state
            job.modstamp = now


def _in_background(job: Job, work: Callable[[], None]) -> None:
    def run() -> None:
        try:
            work()
        except Exception as exc:  # a sandbox bug fails the job visibly instead of leaving it running
            job.final_state = "Failed"
            job.error_message = f"UNKNOWN_EXCEPTION : sandbox error while processing the job: {type(exc).__name__}: {exc}"

    job.worker = threading.Thread(target=run, name=f"sandbox-bulk-{job.id}", daemon=True)
    job.worker.start()


# ---- query jobs -------------------------------------------------------------------------
def create_query(sb: Sandbox, request: Request) -> Response:
    body = _body(request)
    operation = body.get("operation")
    if operation not in OPERATIONS_QUERY:
        raise SalesforceError(400, "INVALIDJOB", f"operation must be query or queryAll for a query job, got {operation!r}")  # fmt: skip
    soql = body.get("query")
    if not isinstance(soql, str) or not soql.strip():
        raise SalesforceError(400, "INVALIDJOB", 'a query job needs "query": the SOQL to run, e.g. SELECT Id FROM Lead')
    delimiter, line_ending = _format(body)
    from sandbox.soql import execute, parse  # the SOQL engine is its own package
    from sandbox.soql.ast import SubQuery

    parsed = parse(soql)
    if parsed.offset is not None:  # Salesforce's documented limits for query jobs: no OFFSET
        raise SalesforceError(400, "INVALIDJOB", "Bulk API 2.0 query jobs do not support OFFSET; page the results "
                                                 "with their locator instead (or use the REST query resource)")
    if any(isinstance(item, SubQuery) for item in parsed.fields):  # nor parent-to-child relationship queries
        raise SalesforceError(400, "INVALIDJOB", "Bulk API 2.0 query jobs do not support parent-to-child relationship "
                                                 "queries (SELECT ..., (SELECT ... FROM Contacts) ...); query the child "
                                                 "object with a child-to-parent path (Account.Name) or use the REST query resource")  # fmt: skip

    with sb.org.lock:  # the matching rows are fixed now; rendering them is the job's work
        # a job runs as the user who created it: its sharing and field-level security apply
        user = sharing.external_user(sb.org, request.user_id)
        result = execute(soql, sb.org, include_deleted=operation == "queryAll", version=request.version,
                         also=sharing.lead_filter(sb.org, user) if user is not None else None,
                         schema=sharing.schema_for(sb.org, request.user_id))
        if result.is_count:
            raise SalesforceError(400, "INVALIDJOB", "Bulk API 2.0 query jobs do not support COUNT(); use the REST query resource")  # fmt: skip
        if result.is_aggregate:  # Salesforce's documented limits for query jobs: no GROUP BY, no aggregate functions
            raise SalesforceError(400, "INVALIDJOB", "Bulk API 2.0 query jobs do not support GROUP BY or aggregate "
                                                     "functions (COUNT, SUM, MAX …); use the REST query resource")
        now = sb.clock.now()
    job = Job(_jobs(sb).new_id(), "query", operation, result.sobject, request.user_id or "", now, request.version,
              delimiter, line_ending, state="UploadComplete", polls_left=_jobs(sb).polls_in_progress)  # fmt: skip
    job.final_state = "JobComplete"
    job.header = _select_list(soql)

    def render() -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=DELIMITERS[delimiter], lineterminator="", quoting=csv.QUOTE_ALL)
        for n, row in enumerate(result.rows):
            flat = _flatten(result.render(row))
            if n == 0:
                job.header = list(flat)
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([_csv_value(flat.get(name)) for name in job.header])
            job.lines.append(buffer.getvalue())

    _jobs(sb).add(job)
    _jobs(sb).count_use(sb.clock.now(), "query")
    _in_background(job, render)
    return Response(200, job.info())


def _select_list(soql: str) -> list[str]:
    """Column names for an empty result: the SELECT list as written."""
    head = soql.strip()[len("select"):]
    upper = head.upper()
    cut = upper.find(" FROM ")
    return [name.strip() for name in head[: cut if cut >= 0 else len(head)].split(",") if name.strip()]


def query_info(sb: Sandbox, request: Request) -> Response:
    job = _jobs(sb).get(request.params["id"], "query")
    _advance(job, sb.clock.now())
    return Response(200, job.info())


def query_results(sb: Sandbox, request: Request) -> Response:
    job = _jobs(sb).get(request.params["id"], "query")
    if job.state != "JobComplete":
        raise invalid_job_state(f"Job {job.id} is {job.state}: results can be read once its state is JobComplete")
    raw_max = request.query.get("maxRecords")
    if raw_max is None:
        max_records = DEFAULT_MAX_RECORDS
    else:
        try:
            max_records = int(raw_max)
        except ValueError:
            max_records = 0
        if max_records < 1:
            raise SalesforceError(400, "INVALID_MAX_RECORDS", f"maxRecords must be a positive whole number, got {raw_max!r}")  # fmt: skip
    locator = request.query.get("locator")
    start = _position(locator) if locator and locator != "null" else 0
    if start > len(job.lines):
        raise _job_error(400, "INVALID_LOCATOR", f"invalid locator {locator!r}")
    end, size = start, 0
    while end < len(job.lines) and end - start < max_records and size < MAX_PAGE_BYTES:
        size += len(job.lines[end]) + 1
        end += 1
    newline = LINE_ENDINGS[job.line_ending]
    header = _csv_text([job.header], job).decode()
    body = (header + "".join(line + newline for line in job.lines[start:end])).encode()
    next_locator = _locator(end) if end < len(job.lines) else "null"
    return _csv_response(body, {"Sforce-NumberOfRecords": str(end - start), "Sforce-Locator": next_locator})


def _set_state(sb: Sandbox, request: Request, kind: str) -> Response:
    job = _jobs(sb).get(request.params["id"], kind)
    body = _body(request)
    wanted = body.get("state")
    if wanted == "Aborted":
        with job.lock:
            if job.state in TERMINAL:
                raise invalid_job_state(f"Job {job.id} is {job.state} and can no longer be aborted")
            if kind == "ingest" and job.state == "Open":
                # nothing was processed: every uploaded row is unprocessed
                job.columns, job.unprocessed = _rows(job)
            # an ingest job aborted while running keeps the rows it already processed; the
            # worker leaves the rest unprocessed
            job.state = "Aborted"
            job.modstamp = sb.clock.now()
        return Response(200, job.info())
    if kind == "ingest" and wanted == "UploadComplete":
        if job.state != "Open":
            raise invalid_job_state(f"Job {job.id} is {job.state}: only an Open job can be closed with UploadComplete")
        _close(sb, request, job)
        return Response(200, job.info())
    allowed = "Aborted or UploadComplete" if kind == "ingest" else "Aborted"
    raise invalid_job_state(f"state must be {allowed}, got {wanted!r}")


def abort_query(sb: Sandbox, request: Request) -> Response:
    return _set_state(sb, request, "query")


def delete_query(sb: Sandbox, request: Request) -> Response:
    return _delete(sb, request, "query")


def _delete(sb: Sandbox, request: Request, kind: str) -> Response:
    """Salesforce deletes a query job once it ended, an ingest job once it was closed."""
    job = _jobs(sb).get(request.params["id"], kind)
    allowed = ("JobComplete", "Aborted", "Failed") + (("UploadComplete", "InProgress") if kind == "ingest" else ())
    if job.state not in allowed:
        raise invalid_job_state(f"Job {job.id} is {job.state}: a {kind} job can be deleted once it is {', '.join(allowed)}")
    _jobs(sb).remove(job.id)
    return Response(204)


def _list(sb: Sandbox, request: Request, kind: str) -> Response:
    jobs = sorted(_jobs(sb).all(kind), key=lambda j: j.id)
    return Response(200, {"done": True, "records": [j.info() for j in jobs], "nextRecordsUrl": None})


def list_query(sb: Sandbox, request: Request) -> Response:
    return _list(sb, request, "query")


def list_ingest(sb: Sandbox, request: Request) -> Response:
    return _list(sb, request, "ingest")


# ---- ingest jobs ------------------------------------------------------------------------
def create_ingest(sb: Sandbox, request: Request) -> Response:
    body = _body(request)
    operation = body.get("operation")
    if operation not in OPERATIONS_INGEST:
        raise SalesforceError(400, "INVALIDJOB", f"operation must be one of {', '.join(OPERATIONS_INGEST)}, got {operation!r}")  # fmt: skip
    name = body.get("object")
    if not isinstance(name, str) or not name:
        raise SalesforceError(400, "INVALIDJOB", 'an ingest job needs "object", e.g. "Lead"')
    obj = sobject(sb, name)
    sharing.check_object(sb.org, request.user_id, obj.name)  # an object not there for the user
    external_id = body.get("externalIdFieldName")
    if operation == "upsert" and not external_id:
        raise SalesforceError(400, "INVALIDJOB", 'an upsert job needs "externalIdFieldName" (Id or an external id field)')  # fmt: skip
    if operation == "upsert":
        field = obj.field(external_id)
        if field is None or not (field.name == "Id" or field.external_id):
            raise SalesforceError(400, "INVALIDJOB", f"Field name provided, {external_id} is not an External ID or indexed field for {obj.name}")  # fmt: skip
    delimiter, line_ending = _format(body)
    job = Job(_jobs(sb).new_id(), "ingest", operation, obj.name, request.user_id or "", sb.clock.now(), request.version,
              delimiter, line_ending, external_id=external_id, assignment_rule=body.get("assignmentRuleId"))  # fmt: skip
    _jobs(sb).add(job)
    return Response(200, job.info())


def ingest_info(sb: Sandbox, request: Request) -> Response:
    job = _jobs(sb).get(request.params["id"], "ingest")
    _advance(job, sb.clock.now())
    return Response(200, job.info())


def upload(sb: Sandbox, request: Request) -> Response:
    job = _jobs(sb).get(request.params["id"], "ingest")
    content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != CSV_TYPE:
        raise SalesforceError(400, "INVALIDJOB", f"upload job data as Content-Type: text/csv, got {content_type or 'none'!r}")  # fmt: skip
    if job.state != "Open":
        raise invalid_job_state(f"Job {job.id} is {job.state}: data can only be uploaded to an Open job")
    if job.upload is not None:
        raise invalid_job_state(f"Job {job.id} already has its data: one upload per job, create another job for more")  # fmt: skip
    if len(request.body) > MAX_UPLOAD_BYTES:
        raise SalesforceError(400, "INVALIDJOB", f"the upload is {len(request.body)} bytes; a job takes at most {MAX_UPLOAD_BYTES} (150 MB): split the data over several jobs")  # fmt: skip
    if not request.body.strip():
        raise SalesforceError(400, "INVALIDJOB", "the upload is empty: send a header row and at least one record")
    job.upload = request.body
    job.modstamp = sb.clock.now()
    return Response(201)


def close_or_abort(sb: Sandbox, request: Request) -> Response:
    return _set_state(sb, request, "ingest")


def delete_ingest(sb: Sandbox, request: Request) -> Response:
    return _delete(sb, request, "ingest")


def _rows(job: Job) -> tuple[list[str], list[list[str]]]:
    text = (job.upload or b"").decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS[job.delimiter])
    rows = [row for row in reader if row]
    if not rows:
        return [], []
    return rows[0], rows[1:]


def _close(sb: Sandbox, request: Request, job: Job) -> None:
    """UploadComplete: the org takes the job and works through its rows in the background."""
    job.modstamp = sb.clock.now()
    job.polls_left = _jobs(sb).polls_in_progress
    job.state = "UploadComplete"
    job.final_state = "JobComplete"
    planned = getattr(request, "record_faults", None)
    user_id = request.user_id
    _in_background(job, lambda: _process(sb, user_id, planned, job))


def _process(sb: Sandbox, user_id: str | None, planned: Any, job: Job) -> None:
    """Every uploaded row, one at a time, through the store; the outcome on the job."""
    header, rows = _rows(job)
    job.columns = header
    if job.upload is None or not header:
        job.final_state = "Failed"
        job.error_message = "InvalidBatch : no data was uploaded to this job"
        return
    visible = sharing.schema_for(sb.org, user_id).object(job.object)  # what the job's user may see
    unknown = [name for name in header if visible.field(name) is None]
    if unknown:
        job.final_state = "Failed"
        job.error_message = f"InvalidBatch : Field name not found : {unknown[0]}"
        job.unprocessed = rows
        return
    row_faults = planned if planned is not None and planned.kind == "record_failures" else None
    job_fault = planned if planned is not None and planned.kind == "job_failed" else None
    failing = row_faults.failing_records(len(rows)) if row_faults else set()
    stop_at = len(rows) if job_fault is None else int(len(rows) * job_fault.record_share)
    id_column = next((i for i, name in enumerate(header) if name.lower() == "id"), None)
    for n, row in enumerate(rows):
        if job.state == "Aborted":
            job.unprocessed = rows[n:]
            break
        if n >= stop_at:
            job.final_state = "Failed"
            job.error_message = f"{job_fault.code} : processing stopped after {stop_at} of {len(rows)} records (sandbox fault)"  # fmt: skip
            job.unprocessed = rows[n:]
            break
        if n in failing:
            code = row_faults.code
            message = "unable to obtain exclusive access to this record or 1 records" if code == "UNABLE_TO_LOCK_ROW" else f"{code} (sandbox fault)"  # fmt: skip
            rid = row[id_column] if id_column is not None and id_column < len(row) else ""
            job.failed.append([rid, f"{code}:{message}:--", *row])
            continue
        try:
            record_id, created = _write_row(sb, user_id, job, header, row, id_column)
        except SalesforceError as exc:
            rid = row[id_column] if id_column is not None and id_column < len(row) else ""
            job.failed.append([rid, f"{exc.error_code}:{exc.message}:{','.join(exc.fields)} --", *row])
            continue
        job.successful.append([record_id, "true" if created else "false", *row])
    sb.counters.add_records_written(len(job.successful))
    # Bulk API 2.0 counts an ingest job's records in batches of 10,000 against DailyBulkApiBatches
    _jobs(sb).count_use(sb.clock.now(), "batch", max(1, -(-len(rows) // 10_000)))


def _write_row(sb: Sandbox, user_id: str | None, job: Job, header: list[str], row: list[str], id_column: int | None) -> tuple[str, bool]:  # fmt: skip
    if len(row) != len(header):
        raise SalesforceError(400, "INVALID_FIELD", f"the row has {len(row)} values for {len(header)} columns")
    fields: dict[str, Any] = {}
    for name, value in zip(header, row):
        if value == "":
            continue  # an empty cell leaves the field as it is
        fields[name] = None if value == "#N/A" else value
    assign = bool(job.assignment_rule)
    operation = job.operation
    if operation == "upsert" and (job.external_id or "").lower() != "id":
        obj = sb.org.schema.object(job.object)
        assert obj is not None
        f = external_id_field(obj, job.external_id or "")
        value = next((v for k, v in fields.items() if k.lower() == f.name.lower()), None)
        if value is None:
            raise SalesforceError(400, "MISSING_ARGUMENT", f"{f.name} not specified", [])
        return upsert_record(sb.org, obj, f, value, fields, user_id=user_id, auto_assign=assign)
    if operation == "upsert" and (job.external_id or "").lower() == "id":
        if id_column is not None and row[id_column]:
            operation = "update"
        else:  # no Id in the row: Salesforce's way to ask an upsert for a new record
            sharing.check_create(sb.org, user_id, job.object, fields)
            return sb.org.create(job.object, fields, as_user=user_id, auto_assign=assign), True
    if operation == "insert":
        if id_column is not None:
            raise SalesforceError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        sharing.check_create(sb.org, user_id, job.object, fields)
        return sb.org.create(job.object, fields, as_user=user_id, auto_assign=assign), True
    record_id = fields.pop(header[id_column], None) if id_column is not None else None
    if not record_id:
        raise SalesforceError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
    if operation in ("delete", "hardDelete"):
        sharing.check_delete(sb.org, user_id, job.object, record_id)
        sb.org.delete(job.object, record_id, as_user=user_id)
        return ids.to18(record_id), False
    sharing.check_update(sb.org, user_id, job.object, record_id, fields)
    sb.org.update(job.object, record_id, fields, as_user=user_id, auto_assign=assign)
    return ids.to18(record_id), False


def _results(sb: Sandbox, request: Request, which: str) -> Response:
    job = _jobs(sb).get(request.params["id"], "ingest")
    if job.state in ("Open", "UploadComplete", "InProgress"):
        raise invalid_job_state(f"Job {job.id} is {job.state}: results can be read once it is JobComplete, Failed or Aborted")  # fmt: skip
    if which == "successfulResults":
        rows = [["sf__Id", "sf__Created", *job.columns], *job.successful]
    elif which == "failedResults":
        rows = [["sf__Id", "sf__Error", *job.columns], *job.failed]
    else:
        rows = [job.columns, *job.unprocessed] if job.columns else []
    return _csv_response(_csv_text(rows, job))


def successful_results(sb: Sandbox, request: Request) -> Response:
    return _results(sb, request, "successfulResults")


def failed_results(sb: Sandbox, request: Request) -> Response:
    return _results(sb, request, "failedResults")


def unprocessed_records(sb: Sandbox, request: Request) -> Response:
    return _results(sb, request, "unprocessedrecords")


def add_routes(router: Any) -> None:
    """The Bulk API 2.0 resources, under /services/data/vXX.X/."""
    r = router
    r.add("api", "POST", "/jobs/query", create_query)
    r.add("api", "GET", "/jobs/query", list_query)
    r.add("api", "GET", "/jobs/query/{id}", query_info)
    r.add("api", "PATCH", "/jobs/query/{id}", abort_query)
    r.add("api", "DELETE", "/jobs/query/{id}", delete_query)
    r.add("api", "GET", "/jobs/query/{id}/results", query_results)
    r.add("api", "POST", "/jobs/ingest", create_ingest)
    r.add("api", "GET", "/jobs/ingest", list_ingest)
    r.add("api", "GET", "/jobs/ingest/{id}", ingest_info)
    # closing a job is when its rows are written: row-level faults apply to it
    r.add("api", "PATCH", "/jobs/ingest/{id}", close_or_abort, composite_write=True)
    r.add("api", "DELETE", "/jobs/ingest/{id}", delete_ingest)
    r.add("api", "PUT", "/jobs/ingest/{id}/batches", upload)
    r.add("api", "GET", "/jobs/ingest/{id}/successfulResults", successful_results)
    r.add("api", "GET", "/jobs/ingest/{id}/failedResults", failed_results)
    r.add("api", "GET", "/jobs/ingest/{id}/unprocessedrecords", unprocessed_records)
    r.add("api", "GET", "/jobs/ingest/{id}/unprocessedRecords", unprocessed_records)
