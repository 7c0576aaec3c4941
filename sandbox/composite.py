"""sObject Collections: /composite/sobjects create (POST), update (PATCH), delete
(DELETE ?ids=) and retrieve (GET /composite/sobjects/X?ids=&fields=, or POST with
{"ids", "fields"} in the body).

At most 200 records per call; one SaveResult per record, in request order. With
allOrNone the call is a transaction: one failure rolls the others back and they report
ALL_OR_NONE_OPERATION_ROLLED_BACK. Without it each record stands alone. Planned or
profile `record_failures` faults make chosen records fail as if locked.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox import ids, sharing
from sandbox.errors import SalesforceError
from sandbox.https_server import Request, Response
from sandbox.jsonvalues import record_json
from sandbox.rest import _field_list, auto_assign, sobject
from sandbox.schema import ObjectDef
from sandbox.upsert import external_id_field
from sandbox.upsert import upsert as upsert_record

if TYPE_CHECKING:
    from sandbox.handle import RunningOrg as Sandbox

MAX_RECORDS = 200
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}
_LOCK_MESSAGE = "unable to obtain exclusive access to this record or 1 records"


class _Rollback(Exception):
    pass


def _too_many(n: int) -> SalesforceError:
    # Salesforce's exact words; a client splitting batches matches on the code, a person on the text
    return SalesforceError(
        400, "EXCEEDED_ID_LIMIT", f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call"
    )


def _body(request: Request) -> tuple[bool, list]:
    body = request.json()
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise SalesforceError(400, "JSON_PARSER_ERROR", 'Expected {"allOrNone": bool, "records": [...]} in the request body')  # fmt: skip
    records = body["records"]
    if len(records) > MAX_RECORDS:
        raise _too_many(len(records))
    all_or_none = body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        raise SalesforceError(400, "JSON_PARSER_ERROR", f"allOrNone must be true or false, got {all_or_none!r}")
    return all_or_none, records


def _record_type(sb: Sandbox, record: Any) -> str:
    if not isinstance(record, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "each entry of records must be a JSON object")
    attributes = record.get("attributes")
    kind = attributes.get("type") if isinstance(attributes, dict) else None
    if not kind:
        raise SalesforceError(400, "INVALID_TYPE", "Must send a concrete entity type.")
    return sobject(sb, kind).name


def _fault_error(code: str) -> dict:
    message = _LOCK_MESSAGE if code == "UNABLE_TO_LOCK_ROW" else f"{code} (sandbox fault)"
    return {"statusCode": code, "message": message, "fields": []}


def _run(sb: Sandbox, request: Request, items: list, all_or_none: bool, write) -> list[dict]:
    """Apply `write(item) -> id` to each item; SaveResults in order, honouring allOrNone."""
    fault = getattr(request, "record_faults", None)
    failing = fault.failing_records(len(items)) if fault else set()
    results: list[dict] = []
    org = sb.org
    try:
        with org.atomic() if all_or_none else _nullcontext():
            for i, item in enumerate(items):
                if i in failing:
                    results.append({"success": False, "errors": [_fault_error(fault.code)]})
                    continue
                try:
                    written = write(item)
                    if isinstance(written, tuple):  # an upsert: (id, created), an UpsertResult
                        results.append({"id": written[0], "success": True, "errors": [], "created": written[1]})
                    else:
                        results.append({"id": written, "success": True, "errors": []})
                except SalesforceError as exc:
                    results.append({"success": False, "errors": [exc.to_save_error()]})
            if all_or_none and any(not r["success"] for r in results):
                raise _Rollback()
    except _Rollback:
        results = [r if not r["success"] else {"success": False, "errors": [dict(ROLLED_BACK)]} for r in results]
    written = sum(1 for r in results if r["success"])
    sb.counters.add_records_written(written)
    return results


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def create(sb: Sandbox, request: Request) -> Response:
    all_or_none, records = _body(request)
    assign = auto_assign(request)

    def write(record: Any) -> str:
        kind = _record_type(sb, record)
        fields = {k: v for k, v in record.items() if k != "attributes"}
        if any(k.lower() == "id" for k in fields):
            raise SalesforceError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        sharing.check_create(sb.org, request.user_id, kind, fields)
        return sb.org.create(kind, fields, as_user=request.user_id, auto_assign=assign)

    return Response(200, _run(sb, request, records, all_or_none, write))


def update(sb: Sandbox, request: Request) -> Response:
    all_or_none, records = _body(request)
    assign = auto_assign(request)

    def write(record: Any) -> str:
        kind = _record_type(sb, record)
        fields = {k: v for k, v in record.items() if k != "attributes"}
        id_key = next((k for k in fields if k.lower() == "id"), None)
        if id_key is None:
            raise SalesforceError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        record_id = fields.pop(id_key)
        sharing.check_update(sb.org, request.user_id, kind, record_id, fields)
        sb.org.update(kind, record_id, fields, as_user=request.user_id, auto_assign=assign)
        return ids.to18(record_id)

    return Response(200, _run(sb, request, records, all_or_none, write))


def upsert(sb: Sandbox, request: Request) -> Response:
    """PATCH composite/sobjects/X/Field: each record created or updated by its external id
    (sandbox/upsert.py), UpsertResults in order; records of the URL's type only (API 46.0+)."""
    obj = sobject(sb, request.params["type"])
    f = external_id_field(obj, request.params["field"])
    all_or_none, records = _body(request)
    assign = auto_assign(request)

    def write(record: Any) -> tuple[str, bool]:
        kind = _record_type(sb, record)
        if kind != obj.name:
            raise SalesforceError(400, "INVALID_TYPE", f"this upsert takes {obj.name} records only (the type in the URL), got {kind}")  # fmt: skip
        fields = {k: v for k, v in record.items() if k != "attributes"}
        named = next((k for k in fields if k.lower() == f.name.lower()), None)
        value = fields.get(named) if named is not None else None
        if value in (None, "") and f.name != "Id":
            raise SalesforceError(400, "MISSING_ARGUMENT", f"{f.name} not specified", [])
        return upsert_record(sb.org, obj, f, value, fields, user_id=request.user_id, auto_assign=assign)

    return Response(200, _run(sb, request, records, all_or_none, write))


def delete(sb: Sandbox, request: Request) -> Response:
    raw = request.query.get("ids", "")
    id_list = [i.strip() for i in raw.split(",") if i.strip()]
    if not id_list:
        raise SalesforceError(400, "MISSING_ARGUMENT", "ids: give the record ids to delete, comma-separated (?ids=00Q...,00Q...)")  # fmt: skip
    if len(id_list) > MAX_RECORDS:
        raise _too_many(len(id_list))
    all_or_none = request.query.get("allOrNone", "false").lower() == "true"

    def write(record_id: str) -> str:
        obj = sb.org.schema.object_for_id(record_id) if ids.is_valid(record_id) else None
        if obj is None:
            raise SalesforceError(400, "MALFORMED_ID", f"malformed id {record_id}", [])
        sharing.check_delete(sb.org, request.user_id, obj.name, ids.to18(record_id))
        sb.org.delete(obj.name, record_id, as_user=request.user_id)
        return ids.to18(record_id)

    return Response(200, _run(sb, request, id_list, all_or_none, write))


def _readable(sb: Sandbox, request: Request) -> ObjectDef:
    """The object with the fields the caller may read (sandbox/sharing.py)."""
    obj = sobject(sb, request.params["type"])
    sharing.check_object(sb.org, request.user_id, obj.name)  # an object not there for the caller
    return sharing.schema_for(sb.org, request.user_id).object(obj.name) or obj


def retrieve(sb: Sandbox, request: Request) -> Response:
    obj = _readable(sb, request)
    id_list = [i.strip() for i in request.query.get("ids", "").split(",") if i.strip()]
    return _retrieve(sb, request, obj, id_list, _field_list(obj, request.query.get("fields")))


def retrieve_post(sb: Sandbox, request: Request) -> Response:
    """The same read with the ids and fields in the body: a GET URL holds about 800 ids,
    a POST up to 2,000 (jsforce's `retrieve([ids])` always posts)."""
    obj = _readable(sb, request)
    body = request.json()
    if not isinstance(body, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR", 'Expected {"ids": [...], "fields": [...]} in the request body')
    id_list, names = body.get("ids"), body.get("fields")
    for key, value in (("ids", id_list), ("fields", names)):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SalesforceError(400, "JSON_PARSER_ERROR", f"{key}: expected a list of strings, got {value!r}")
    fields = _field_list(obj, ",".join(names)) if names else None
    return _retrieve(sb, request, obj, [i.strip() for i in id_list if i.strip()], fields)


def _retrieve(sb: Sandbox, request: Request, obj: ObjectDef, id_list: list[str], fields: list[str] | None) -> Response:
    if len(id_list) > 2000:
        raise SalesforceError(400, "EXCEEDED_ID_LIMIT", "cannot retrieve more than 2000 records in one call")
    if not fields:
        raise SalesforceError(400, "MISSING_ARGUMENT", "fields: name the fields to retrieve (?fields=Id,Name)")
    out: list[dict | None] = []
    with sb.org.lock:
        user = sharing.external_user(sb.org, request.user_id)
        visible = sharing.lead_filter(sb.org, user) if user is not None else None
        now = sb.org.clock.now()
        for record_id in id_list:
            record = sb.org.get(obj.name, record_id) if record_id[:3] == obj.key_prefix else None
            if record is not None and visible is not None and not visible(record):
                record = None  # a record out of the user's reach answers as a missing one
            out.append(record_json(obj, record, request.version, fields, now=now) if record and not record["IsDeleted"] else None)
    return Response(200, out)
