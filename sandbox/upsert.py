"""Records by external id: the sObject Rows by External ID resource (GET, PATCH = upsert,
DELETE of sobjects/X/Field/value; POST of sobjects/X/Id = a create), the sObject
Collections upsert (PATCH composite/sobjects/X/Field) and the match Bulk API 2.0 upsert
jobs make (sandbox/bulk.py).

An external id is the Id or a field whose metadata says `<externalId>true`; any other
field is 404 NOT_FOUND, as Salesforce answers an incorrect external ID field. A value
matches live records only (the recycle bin is not searched), text compared ignoring case
unless the field is case-sensitive. No match: a create with the value set (unless
`updateOnly=true`: 404); one: an update; more: 300 with the matching records' URLs over
REST, DUPLICATE_EXTERNAL_ID for a collection's or a job's record."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from sandbox import ids, sharing
from sandbox.errors import SalesforceError
from sandbox.https_server import Request, Response
from sandbox.jsonvalues import record_json
from sandbox.rest import _body_fields, _field_list, auto_assign, sobject
from sandbox.schema import FieldDef, ObjectDef
from sandbox.values import coerce

if TYPE_CHECKING:
    from sandbox.handle import RunningOrg as Sandbox
    from sandbox.store import Org

def _not_found() -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")


def external_id_field(obj: ObjectDef, name: str) -> FieldDef:
    f = obj.field(name)
    if f is None or not (f.name == "Id" or f.external_id):
        raise _not_found()
    return f


def _key(f: FieldDef, value: Any) -> Any:
    return value.lower() if isinstance(value, str) and not f.case_sensitive else value


def matches(org: Org, obj: ObjectDef, f: FieldDef, value: Any) -> list[dict]:
    """The live records whose `f` holds `value` (caller holds org.lock)."""
    if f.name == "Id":
        if not isinstance(value, str) or not ids.is_valid(value) or value[:3] != obj.key_prefix:
            return []
        record = org.get(obj.name, value)
        return [record] if record is not None and not record["IsDeleted"] else []
    try:
        wanted = _key(f, coerce(f, value))
    except SalesforceError:
        return []
    return [r for r in org.records(obj.name) if r.get(f.name) is not None and _key(f, r[f.name]) == wanted]


def upsert(org: Org, obj: ObjectDef, f: FieldDef, value: Any, fields: dict, *, user_id: str | None,
           auto_assign: bool, update_only: bool = False, several: str = "collection") -> tuple[str, bool]:
    """Create or update one record by `f` = `value`: (its id, created). `several` says how a
    value on more than one record is refused: "rest" (300) or else DUPLICATE_EXTERNAL_ID."""
    fields = dict(fields)
    named = next((k for k in fields if isinstance(k, str) and k.lower() == f.name.lower()), None)
    if named is not None:
        given = fields.pop(named)
        if given is not None and str(given) != str(value):
            raise SalesforceError(400, "INVALID_FIELD", f"{f.name}: the body's value {given!r} is not the external id {value!r} named in the URL", [f.name])  # fmt: skip
    with org.lock:
        found = matches(org, obj, f, value) if value not in (None, "") else []
        if len(found) > 1:
            if several == "rest":
                raise _Several(found)
            raise SalesforceError(400, "DUPLICATE_EXTERNAL_ID", f"{f.label}: more than one record found for external id field: {[r['Id'] for r in found]}", [f.name])  # fmt: skip
        if found:
            record_id = found[0]["Id"]
            sharing.check_update(org, user_id, obj.name, record_id, fields)
            org.update(obj.name, record_id, fields, as_user=user_id, auto_assign=auto_assign)
            return record_id, False
        if update_only:
            raise _not_found()
        if f.name != "Id" and value not in (None, ""):
            fields[f.name] = value
        elif f.name == "Id" and value not in (None, ""):
            raise _not_found()  # an Id that names no live record: nothing to update, and an Id cannot be created
        sharing.check_create(org, user_id, obj.name, fields)
        return org.create(obj.name, fields, as_user=user_id, auto_assign=auto_assign), True


class _Several(Exception):
    def __init__(self, records: list[dict]):
        super().__init__("more than one record")
        self.records = records


def _resolve(sb: Sandbox, request: Request) -> tuple[ObjectDef, FieldDef, str]:
    obj = sobject(sb, request.params["type"])
    return obj, external_id_field(obj, request.params["field"]), unquote(request.params["value"])


def _several(request: Request, obj: ObjectDef, exc: _Several) -> Response:
    base = f"/services/data/v{request.version}/sobjects/{obj.name}"
    return Response(300, [f"{base}/{r['Id']}" for r in exc.records])


def _one(sb: Sandbox, request: Request, obj: ObjectDef, f: FieldDef, value: str) -> dict:
    found = matches(sb.org, obj, f, value)
    if len(found) > 1:
        raise _Several(found)
    if not found:
        raise _not_found()
    sharing.check_read(sb.org, request.user_id, obj.name, found[0])
    return found[0]


def get_by_external_id(sb: Sandbox, request: Request) -> Response:
    obj, f, value = _resolve(sb, request)
    readable = sharing.schema_for(sb.org, request.user_id).object(obj.name) or obj
    fields = _field_list(readable, request.query.get("fields"))
    with sb.org.lock:
        try:
            record = _one(sb, request, obj, f, value)
        except _Several as exc:
            return _several(request, obj, exc)
        return Response(200, record_json(readable, record, request.version, fields, now=sb.org.clock.now()))


def delete_by_external_id(sb: Sandbox, request: Request) -> Response:
    obj, f, value = _resolve(sb, request)
    with sb.org.lock:
        try:
            record = _one(sb, request, obj, f, value)
        except _Several as exc:
            return _several(request, obj, exc)
        sharing.check_delete(sb.org, request.user_id, obj.name, record["Id"])
        sb.org.delete(obj.name, record["Id"], as_user=request.user_id)
    return Response(204)


def _answer(sb: Sandbox, request: Request, obj: ObjectDef, record_id: str, created: bool) -> Response:
    """201 and created: true, or 200 and created: false (every version the org serves is
    46.0 or later, where an update stopped answering 204)."""
    sb.counters.add_records_written(1)
    body = {"id": record_id, "success": True, "errors": [], "created": created}
    if created:
        return Response(201, body, {"Location": f"/services/data/v{request.version}/sobjects/{obj.name}/{record_id}"})
    return Response(200, body)


def upsert_by_external_id(sb: Sandbox, request: Request) -> Response:
    obj, f, value = _resolve(sb, request)
    fields = _body_fields(request, obj)
    update_only = request.query.get("updateOnly", "false").lower() == "true"
    try:
        record_id, created = upsert(sb.org, obj, f, value, fields, user_id=request.user_id,
                                    auto_assign=auto_assign(request), update_only=update_only, several="rest")
    except _Several as exc:
        return _several(request, obj, exc)
    return _answer(sb, request, obj, record_id, created)


def create_by_id(sb: Sandbox, request: Request) -> Response:
    """POST sobjects/X/Id: Id as the external id, null as its value, so always a create
    (API 37.0+), for clients that upsert by several external ids through one resource."""
    obj = sobject(sb, request.params["type"])
    if request.params["field"].lower() != "id":
        raise _not_found()
    fields = _body_fields(request, obj)
    if any(k.lower() == "id" and v not in (None, "") for k, v in fields.items()):
        raise SalesforceError(400, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: Id. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", ["Id"])  # fmt: skip
    fields = {k: v for k, v in fields.items() if k.lower() != "id"}
    sharing.check_create(sb.org, request.user_id, obj.name, fields)
    record_id = sb.org.create(obj.name, fields, as_user=request.user_id, auto_assign=auto_assign(request))
    return _answer(sb, request, obj, record_id, True)
