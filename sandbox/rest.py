"""REST resources under /services/data: versions, describe, records, query, getUpdated/
getDeleted, limits. Composite and actions live in their own modules."""
from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Callable

from sandbox import describe, ids, sharing
from sandbox.app import VERSIONS, release_label
from sandbox.cursors import batch_size
from sandbox.errors import SalesforceError, entity_is_deleted
from sandbox.https_server import Request, Response
from sandbox.actions import single_emails_left
from sandbox.jsonvalues import json_value, record_json
from sandbox.schema import ObjectDef

if TYPE_CHECKING:
    from sandbox.handle import RunningOrg as Sandbox

# How far back each replication resource looks: REST API Developer Guide, "sObject Get
# Updated" (30 days) and "sObject Get Deleted" (15 days, what the recycle bin keeps).
UPDATED_DAYS = 30
DELETED_DAYS = 15
MAX_REPLICATION_IDS = 600_000


def resource_not_found() -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")


def sobject(sb: Sandbox, name: str) -> ObjectDef:
    obj = sb.org.schema.object(name)
    if obj is None:
        raise resource_not_found()
    return obj


def auto_assign(request: Request) -> bool:
    """`Sforce-Auto-Assign` defaults to TRUE: the org's assignment rule runs unless told not to."""
    value = (request.header("Sforce-Auto-Assign") or "TRUE").strip().lower()
    return value not in ("false", "0")


# ---- versions and resources ---------------------------------------------------------
def versions(sb: Sandbox, request: Request) -> Response:
    return Response(200, [{"label": release_label(v), "url": f"/services/data/v{v}", "version": v} for v in VERSIONS])


# Resources by Version as Salesforce lists them; the sandbox names only those it serves
# (`served`), so a client following the list never meets a 404 the real org would not give.
RESOURCES = ("sobjects", "query", "queryAll", "limits", "composite", "actions", "search", "recent", "tooling")
_API_PATH = re.compile(r"^/services/data/v(\d+\.\d)(/.*)?$")


def served(sb: Sandbox, path: str) -> bool:
    """Does a GET on this absolute path reach one of the org's handlers? A `{version}`
    placeholder, as identity URLs carry, stands for a version the org serves."""
    path = path.replace("{version}", VERSIONS[-1])
    m = _API_PATH.match(path)
    if m is None:
        route, _, _ = sb.router.match(sb.router.other, "GET", path)
    else:
        route, _, _ = sb.router.match(sb.router.api, "GET", m.group(2) or "/")
    return route is not None


def resources(sb: Sandbox, request: Request) -> Response:
    base = f"/services/data/v{request.version}"
    listed = {n: f"{base}/{n}" for n in RESOURCES if served(sb, f"{base}/{n}")}
    # Salesforce lists the caller's identity URL too, absolute; jsforce's identity() reads
    # it from here when its connection was made from an access token alone
    listed["identity"] = f"{sb.url}/id/{sb.org.organization_id}/{request.user_id}"
    return Response(200, listed)


# ---- describe ------------------------------------------------------------------------
def _metadata_unchanged(sb: Sandbox, request: Request) -> bool:
    """If-Modified-Since on describe: true when the org's setup has not changed since.
    If-Unmodified-Since, which Describe Global and sObject Describe take too (REST API
    Developer Guide), fails with 412 when it has, as on sObject Rows."""
    modified = sb.org.metadata_modified.replace(microsecond=0)
    unmodified_since = _http_date(request, "If-Unmodified-Since")
    if unmodified_since is not None and modified > unmodified_since:
        raise _precondition_failed()
    since = _http_date(request, "If-Modified-Since")
    return since is not None and modified <= since


def describe_global(sb: Sandbox, request: Request) -> Response:
    if _metadata_unchanged(sb, request):
        return Response(304)
    body = describe.describe_global(sharing.schema_for(sb.org, request.user_id), request.version)
    for summary in body["sobjects"]:
        sharing.describe_for(sb.org, request.user_id, summary)
    return Response(200, body)


def sobject_info(sb: Sandbox, request: Request) -> Response:
    obj = sobject(sb, request.params["type"])
    sharing.check_object(sb.org, request.user_id, obj.name)
    body = describe.sobject_info(obj, request.version)
    sharing.describe_for(sb.org, request.user_id, body["objectDescribe"])
    return Response(200, body)


def describe_sobject(sb: Sandbox, request: Request) -> Response:
    obj = sobject(sb, request.params["type"])
    sharing.check_object(sb.org, request.user_id, obj.name)
    if _metadata_unchanged(sb, request):
        return Response(304)
    schema = sharing.schema_for(sb.org, request.user_id)
    obj = schema.object(obj.name) or obj
    body = describe.describe_sobject(obj, schema, request.version)
    sharing.describe_for(sb.org, request.user_id, body, body["fields"])
    return Response(200, body)


# ---- records ---------------------------------------------------------------------------
def _url_id(obj: ObjectDef, raw: str) -> str:
    if not ids.is_valid(raw) or raw[:3] != obj.key_prefix:
        raise SalesforceError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {raw}")
    return ids.to18(raw)


def _field_list(obj: ObjectDef, raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    out = []
    for name in (n.strip() for n in raw.split(",") if n.strip()):
        f = obj.field(name)
        if f is None:
            raise SalesforceError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}", [name])
        out.append(f.name)
    return out


def readable_record(sb: Sandbox, user_id: str | None, sobject_name: str, id18: str) -> dict:
    """The record the caller asked for by its URL, as sObject Rows finds it (the caller holds
    the org's lock): NOT_FOUND, ENTITY_IS_DELETED, or what sharing does not let it read."""
    record = sb.org.get(sobject_name, id18)
    if record is None:
        raise resource_not_found()
    if record["IsDeleted"]:
        raise entity_is_deleted()
    sharing.check_read(sb.org, user_id, sobject_name, record)
    return record


def get_record(sb: Sandbox, request: Request) -> Response:
    obj = sobject(sb, request.params["type"])
    id18 = _url_id(obj, request.params["id"])
    obj = sharing.schema_for(sb.org, request.user_id).object(obj.name) or obj  # the fields the caller may read
    fields = _field_list(obj, request.query.get("fields"))
    with sb.org.lock:
        record = readable_record(sb, request.user_id, obj.name, id18)
        modified = record["LastModifiedDate"].replace(microsecond=0)
        since = _http_date(request, "If-Modified-Since")
        if since is not None and modified <= since:
            return Response(304)  # the caller's copy is current: no body
        since = _http_date(request, "If-Unmodified-Since")
        if since is not None and modified > since:
            raise _precondition_failed()
        body = record_json(obj, record, request.version, fields, now=sb.org.clock.now())
        if obj.name not in ETAG_OBJECTS:
            return Response(200, body)
        etag = _etag(body)
        if _etag_listed(request.header("If-None-Match"), etag):
            return Response(304, None, {"ETag": etag})
        if request.header("If-Match") and not _etag_listed(request.header("If-Match"), etag):
            raise _etag_mismatch()
        return Response(200, body, {"ETag": etag})


# Salesforce returns an ETag, and honours If-Match / If-None-Match, on account records only
ETAG_OBJECTS = frozenset({"Account"})


def _etag(body: dict) -> str:
    """A strong entity tag: a hash of the record as this GET answers it."""
    digest = hashlib.sha1(json.dumps(body, sort_keys=True, default=str).encode()).digest()
    return '"' + base64.b64encode(digest).decode() + '"'


def _etag_listed(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def _etag_mismatch() -> SalesforceError:
    return SalesforceError(412, "PRECONDITION_FAILED", "The requested entity's ETag does not match the ETag in If-Match (or matches the one in If-None-Match).")  # fmt: skip


def _check_etag(sb: Sandbox, request: Request, obj: ObjectDef, id18: str) -> None:
    """If-Match / If-None-Match on a PATCH of an account: 412 unless the record's ETag (that
    of a full GET by the caller) passes."""
    match, none_match = request.header("If-Match"), request.header("If-None-Match")
    if obj.name not in ETAG_OBJECTS or not (match or none_match):
        return
    record = sb.org.get(obj.name, id18)
    if record is None or record["IsDeleted"]:
        return  # the update answers NOT_FOUND / ENTITY_IS_DELETED as usual
    readable = sharing.schema_for(sb.org, request.user_id).object(obj.name) or obj
    etag = _etag(record_json(readable, record, request.version, None, now=sb.org.clock.now()))
    if (match and not _etag_listed(match, etag)) or _etag_listed(none_match, etag):
        raise _etag_mismatch()


def _http_date(request: Request, header: str) -> datetime | None:
    """A conditional request header's date (HTTP-date, as EEE, dd MMM yyyy HH:mm:ss z)."""
    raw = request.header(header)
    if not raw:
        return None
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        raise SalesforceError(400, "INVALID_HEADER_TYPE", f"{header} must be an HTTP date, got {raw!r}") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def _precondition_failed() -> SalesforceError:
    return SalesforceError(412, "PRECONDITION_FAILED", "The requested entity has been modified since the time specified in If-Unmodified-Since.")  # fmt: skip


def _body_fields(request: Request, obj: ObjectDef) -> dict:
    body = request.json()
    if not isinstance(body, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR", f"Expected a JSON object of {obj.name} fields at [line:1, column:1]")  # fmt: skip
    return {k: v for k, v in body.items() if k != "attributes"}


def create_record(sb: Sandbox, request: Request) -> Response:
    obj = sobject(sb, request.params["type"])
    fields = _body_fields(request, obj)
    if any(k.lower() == "id" for k in fields):
        raise SalesforceError(400, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: Id. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", ["Id"])  # fmt: skip
    sharing.check_create(sb.org, request.user_id, obj.name, fields)
    new_id = sb.org.create(obj.name, fields, as_user=request.user_id, auto_assign=auto_assign(request))
    sb.counters.add_records_written(1)
    return Response(201, {"id": new_id, "success": True, "errors": []},
                    {"Location": f"/services/data/v{request.version}/sobjects/{obj.name}/{new_id}"})  # fmt: skip


def update_record(sb: Sandbox, request: Request) -> Response:
    obj = sobject(sb, request.params["type"])
    id18 = _url_id(obj, request.params["id"])
    fields = _body_fields(request, obj)
    with sb.org.lock:
        since = request.header("If-Unmodified-Since")
        if since:
            _check_unmodified_since(sb, obj, id18, since)
        _check_etag(sb, request, obj, id18)
        sharing.check_update(sb.org, request.user_id, obj.name, id18, fields)
        sb.org.update(obj.name, id18, fields, as_user=request.user_id, auto_assign=auto_assign(request))
    sb.counters.add_records_written(1)
    return Response(204)


def _check_unmodified_since(sb: Sandbox, obj: ObjectDef, id18: str, since: str) -> None:
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        raise SalesforceError(400, "INVALID_HEADER_TYPE", f"If-Unmodified-Since must be an HTTP date, got {since!r}") from None  # fmt: skip
    record = sb.org.get(obj.name, id18)
    if record is not None and record["LastModifiedDate"].replace(microsecond=0) > when:
        raise SalesforceError(412, "PRECONDITION_FAILED", "The requested entity has been modified since the time specified in If-Unmodified-Since.")  # fmt: skip


def delete_record(sb: Sandbox, request: Request) -> Response:
    obj = sobject(sb, request.params["type"])
    id18 = _url_id(obj, request.params["id"])
    sharing.check_delete(sb.org, request.user_id, obj.name, id18)
    sb.org.delete(obj.name, id18, as_user=request.user_id)
    return Response(204)


# ---- query -----------------------------------------------------------------------------
def _page(sb: Sandbox, request: Request, cursor_result: Any, start: int, batch: int, endpoint: str, locator: str | None) -> dict:
    if getattr(cursor_result, "is_count", False):
        return {"totalSize": cursor_result.total_size, "done": True, "records": []}
    rows = cursor_result.rows
    if getattr(cursor_result, "is_aggregate", False):
        batch = max(batch, len(rows))  # one batch (at most 2,000 groups): no locator for aggregates
    with sb.org.lock:
        end = _page_end(rows, start, batch, getattr(cursor_result, "weigh", None))
        render = cursor_result.render
        records = [render(row) for row in rows[start:end]]
    page: dict[str, Any] = {"totalSize": cursor_result.total_size, "done": end >= len(rows)}
    if end < len(rows):
        if locator is None:
            locator = sb.cursors.open(cursor_result, batch, endpoint).locator
        page["nextRecordsUrl"] = f"/services/data/v{request.version}/{endpoint}/{locator}-{end}"
    # the cursor outlives its last page until it idles out: a client retrying a page whose
    # answer it lost must get the same page again
    page["records"] = records
    return page


def _page_end(rows: Any, start: int, batch: int, weigh: Any) -> int:
    """Where a page starting at `start` ends. With subqueries the child records count toward
    the batch size too, as Salesforce counts them; a page holds at least one record."""
    if weigh is None:
        return min(start + batch, len(rows))
    end, used = start, 0
    while end < len(rows):
        used += weigh(rows[end])
        if used > batch and end > start:
            break
        end += 1
    return end


def _explain(sb: Sandbox, request: Request, soql: str) -> Response:
    """Query Performance Feedback (REST API Developer Guide, beta, API 30.0+): the plans the
    query could run with, best first, without its records. The sandbox has no optimizer and
    no indexes: one TableScan plan, its cardinality the rows the query matches, relativeCost
    the rows scanned per 100,000 (the sandbox's reading: above 1 reads as not selective).
    A report or list view id in place of the SOQL is not explained here."""
    from sandbox.soql import execute

    if re.fullmatch(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?", soql.strip()):
        raise SalesforceError(400, "INVALID_ID", f"explain={soql.strip()}: the sandbox explains SOQL queries only, not a report or list view id")  # fmt: skip
    with sb.org.lock:
        user = sharing.external_user(sb.org, request.user_id)
        also = sharing.lead_filter(sb.org, user) if user is not None else None
        result = execute(soql, sb.org, include_deleted=False, version=request.version, also=also,
                         schema=sharing.schema_for(sb.org, request.user_id))
        scanned = sum(1 for _ in sb.org.records(result.sobject))
    return Response(200, {"plans": [{
        "cardinality": result.total_size, "fields": [], "leadingOperationType": "TableScan", "notes": [],
        "relativeCost": round(scanned / 100_000, 4), "sobjectCardinality": scanned, "sobjectType": result.sobject,
    }]})  # fmt: skip


def _run_query(sb: Sandbox, request: Request, include_deleted: bool) -> Response:
    soql = request.query.get("q")
    explain = request.query.get("explain")
    if soql is None and explain is not None and explain.strip() and not include_deleted:
        request.soql = explain
        return _explain(sb, request, explain)
    if soql is None or not soql.strip():
        raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified: GET .../query?q=SELECT+Id+FROM+Lead")  # fmt: skip
    request.soql = soql  # the request log keeps it (counters.queries)
    from sandbox.soql import execute  # the SOQL engine is its own package

    if request.query.get("columns", "").lower() == "true":
        from sandbox.soql.columns import column_metadata

        return Response(200, column_metadata(soql, sharing.schema_for(sb.org, request.user_id), request.version))
    from sandbox import field_definitions

    if field_definitions.asked(soql):  # setup data, not records: no sharing, no cursor
        return Response(200, field_definitions.query(sb.org, soql, request.version))
    with sb.org.lock:
        user = sharing.external_user(sb.org, request.user_id)
        also = sharing.lead_filter(sb.org, user) if user is not None else None
        result = execute(soql, sb.org, include_deleted=include_deleted, version=request.version, also=also,
                         schema=sharing.schema_for(sb.org, request.user_id))
    batch = batch_size(request.header("Sforce-Query-Options"))
    endpoint = "queryAll" if include_deleted else "query"
    return Response(200, _page(sb, request, result, 0, batch, endpoint, None))


def query(sb: Sandbox, request: Request) -> Response:
    return _run_query(sb, request, include_deleted=False)


def query_all(sb: Sandbox, request: Request) -> Response:
    return _run_query(sb, request, include_deleted=True)


def query_more(sb: Sandbox, request: Request) -> Response:
    raw = request.params["locator"]
    locator, _, position = raw.rpartition("-")
    if not locator or not position.isdigit():
        raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    cursor = sb.cursors.get(locator)
    endpoint = "queryAll" if "queryAll" in request.path else "query"
    return Response(200, _page(sb, request, cursor.result, int(position), cursor.batch, endpoint, locator))


def search(sb: Sandbox, request: Request) -> Response:
    """SOSL: `GET search?q=FIND {text} ...` -> `{"searchRecords": [...]}` (sandbox/soql/sosl.py)."""
    sosl = request.query.get("q")
    if sosl is None or not sosl.strip():
        raise SalesforceError(400, "MALFORMED_SEARCH", "A search string has to be specified: GET .../search?q=FIND+{Acme}")  # fmt: skip
    from sandbox.soql.sosl import search as run_search  # the SOQL engine is its own package

    with sb.org.lock:
        records = run_search(sosl, sb.org, version=request.version, schema=sharing.schema_for(sb.org, request.user_id))
        user = sharing.external_user(sb.org, request.user_id)
        if user is not None:  # a partner user finds only the records shared with them
            visible = sharing.lead_filter(sb.org, user)
            def found(r: dict) -> dict:  # the stored record behind a search result (its url names it)
                record_id = str((r.get("attributes") or {}).get("url") or "").rsplit("/", 1)[-1]
                return (sb.org.lookup(record_id) or ("", {"Id": "00Q"}))[1]

            records = [r for r in records if visible(found(r))]
    return Response(200, {"searchRecords": records})


# ---- getUpdated / getDeleted -------------------------------------------------------------
def _replication_window(sb: Sandbox, request: Request, days: int) -> tuple[datetime, datetime]:
    now = sb.clock.now()
    out = []
    for key in ("start", "end"):
        raw = request.query.get(key)
        if not raw:
            raise SalesforceError(400, "MISSING_ARGUMENT", f"The '{key}' parameter is required, e.g. {key}=2024-05-01T10:00:00+00:00")  # fmt: skip
        try:
            when = datetime.fromisoformat(raw.strip().replace(" ", "+"))
        except ValueError:
            raise SalesforceError(400, "INVALID_REPLICATION_DATE", f"{key}: not a dateTime: {raw}") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        # getUpdated/getDeleted work in whole minutes
        out.append(when.astimezone(timezone.utc).replace(second=0, microsecond=0))
    start, end = out
    # SOAP API Developer Guide, getUpdated()/getDeleted() Rules and Guidelines: a startDate
    # the same as, or later than, the endDate is INVALID_REPLICATION_DATE — compared with the
    # seconds dropped, so 10:30:10 to 10:30:50 is refused, not answered empty.
    if start >= end:
        raise SalesforceError(400, "INVALID_REPLICATION_DATE", f"EndDate must be after StartDate: {start:%Y-%m-%dT%H:%M}Z to {end:%Y-%m-%dT%H:%M}Z, with the seconds ignored; end at least a minute after start")  # fmt: skip
    end = min(end, now.replace(second=0, microsecond=0))
    if start > end:
        raise SalesforceError(400, "INVALID_REPLICATION_DATE", "EndDate before StartDate")
    if start < now - timedelta(days=days):
        raise SalesforceError(400, "INVALID_REPLICATION_DATE", f"startDate cannot be more than {days} days ago")  # fmt: skip
    return start, end


def _visible(sb: Sandbox, request: Request) -> Callable[[dict], bool]:
    """getUpdated / getDeleted return only the records the caller has access to (SOAP API
    Developer Guide, "Data Replication"): a partner user's sharing applies."""
    user = sharing.external_user(sb.org, request.user_id)
    return sharing.lead_filter(sb.org, user) if user is not None else (lambda row: True)


def updated(sb: Sandbox, request: Request) -> Response:
    obj = sobject(sb, request.params["type"])
    start, end = _replication_window(sb, request, UPDATED_DAYS)
    sharing.check_object(sb.org, request.user_id, obj.name)
    with sb.org.lock:
        visible = _visible(sb, request)
        hits = sorted(
            (r["SystemModstamp"], r["Id"]) for r in sb.org.records(obj.name)
            if start <= r["SystemModstamp"] < end and visible(r)
        )  # fmt: skip
    if len(hits) > MAX_REPLICATION_IDS:
        raise SalesforceError(400, "EXCEEDED_ID_LIMIT", f"too many ids: more than {MAX_REPLICATION_IDS} records changed in the window; use a shorter window")  # fmt: skip
    return Response(200, {"ids": [i for _, i in hits], "latestDateCovered": json_value(end)})


def deleted(sb: Sandbox, request: Request) -> Response:
    obj = sobject(sb, request.params["type"])
    start, end = _replication_window(sb, request, DELETED_DAYS)
    sharing.check_object(sb.org, request.user_id, obj.name)
    table = sb.org.table(obj.name)
    with sb.org.lock:
        visible = _visible(sb, request)
        hits = sorted(
            (when, id18) for id18, when in sb.org.deleted_at.items()
            if id18[:3] == obj.key_prefix and start <= when < end and table.get(id18, {}).get("IsDeleted")
            and visible(table[id18])
        )  # fmt: skip
    # GetDeletedResult (SOAP API Developer Guide): earliestDateAvailable is the last
    # physically deleted record's time, before which the delete log answers for nothing (a
    # replicator whose last run is older resyncs everything). The sandbox never empties its
    # recycle bin, so the log is whole for every window Salesforce accepts: from DELETED_DAYS
    # back. The first soft delete's minute would tell a replicator that ran before it that
    # the log had been purged since.
    earliest = sb.clock.now().replace(second=0, microsecond=0) - timedelta(days=DELETED_DAYS)
    return Response(200, {
        "deletedRecords": [{"id": i, "deletedDate": json_value(w)} for w, i in hits],
        "earliestDateAvailable": json_value(earliest),
        "latestDateCovered": json_value(end),
    })  # fmt: skip


# ---- recently viewed ---------------------------------------------------------------------
def recent(sb: Sandbox, request: Request) -> Response:
    """Recently viewed records: only the UI and SOQL `FOR VIEW` mark a record viewed, and the
    sandbox has neither, so every user has viewed nothing — what a real org answers a user
    who works through the API (sObject Basic Information's recentItems say the same)."""
    raw = request.query.get("limit")
    if raw is not None and (not raw.isdigit() or not 1 <= int(raw) <= 200):
        raise SalesforceError(400, "INVALID_PARAMETER_VALUE", f"limit must be a whole number from 1 to 200, got {raw!r}")
    return Response(200, [])


# ---- limits ------------------------------------------------------------------------------
def limits(sb: Sandbox, request: Request) -> Response:
    remaining = sb.limit.remaining()
    day_ago = sb.clock.now() - timedelta(hours=24)
    return Response(200, {
        "DailyApiRequests": {"Max": sb.limit.maximum, "Remaining": remaining},
        "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": max(0, 15000 - sb.bulk.used("batch", day_ago))},
        "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": max(0, 10000 - sb.bulk.used("query", day_ago))},
        "DataStorageMB": {"Max": 5, "Remaining": 5},
        "FileStorageMB": {"Max": 20, "Remaining": 20},
        "SingleEmail": {"Max": getattr(sb.org, "single_email_max", 5000), "Remaining": single_emails_left(sb)},
        "HourlyPublishedPlatformEvents": {"Max": 250000, "Remaining": 250000},
    })  # fmt: skip


# objects the Record Count resource leaves out ("associated objects such as ChangeEvent, Feed,
# History, … Share"): here the field history and the org's setup rows
_NOT_COUNTED = frozenset({"LeadHistory", "Organization", "FiscalYearSettings", "Period"})


def record_count(sb: Sandbox, request: Request) -> Response:
    """`limits/recordCount?sObjects=A,B` (`sf org list sobject record-counts`): each named
    object's records, the recycle bin left out; an object the org does not have is left
    out of the answer, and without sObjects every object is counted. Salesforce's counts
    are a snapshot taken now and then; the sandbox's are live. It needs View Setup and
    Configuration, which no partner user has."""
    if sharing.external_user(sb.org, request.user_id) is not None:
        raise SalesforceError(403, "INSUFFICIENT_ACCESS", "The Record Count resource needs the View Setup and Configuration permission.")  # fmt: skip
    schema = sb.org.schema
    raw = request.query.get("sObjects")
    if raw:
        found = (schema.object(n.strip()) for n in raw.split(",") if n.strip())
        names = list(dict.fromkeys(o.name for o in found if o is not None))
    else:
        names = [n for n in schema.objects if n not in _NOT_COUNTED]
    with sb.org.lock:
        counts = [{"count": sum(1 for _ in sb.org.records(n)), "name": n} for n in names]
    return Response(200, {"sObjects": counts})
