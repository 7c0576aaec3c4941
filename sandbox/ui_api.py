"""The User Interface API calls Lightning Data Service makes for the shipped portal
component (salesforce/…/lwc/leadOfferResponse): getRecord, updateRecord and
getPicklistValues, as the caller (sharing and field-level security apply).

- GET ui-api/records/{id}?fields=Lead.A,Lead.B&optionalFields=Lead.C: a Record
  representation, `{"apiName", "childRelationships", "eTag", "fields": {name: {"displayValue",
  "value"}}, "id", "lastModifiedById", "lastModifiedDate", "recordTypeId", "recordTypeInfo",
  "systemModstamp", "weakEtag"}`; a field in `fields` the caller may not read, or that the
  object lacks, is 400 INVALID_FIELD, one in `optionalFields` is left out; without either,
  every field the caller may read.
- PATCH ui-api/records/{id} `{"fields": {...}}`: the update (no lead assignment rule runs,
  as Lightning Data Service's saves run none), answered with the Record representation.
- GET ui-api/object-info/{object}/picklist-values/{recordTypeId}/{field}: the master record
  type's values, `{"controllerValues", "defaultValue", "eTag", "url", "values": [{"attributes",
  "label", "validFor", "value"}]}` (labels are the values: the sandbox keeps no translations).

A formula field (Lead.Offer_Seconds_Left__c) is evaluated as the record is read, by the org's
clock, as Salesforce evaluates it for Lightning Data Service.

Differences: displayValue is the label for picklists and null otherwise (Salesforce formats
dates, numbers and names for the user's locale); no layouts, modes or child relationships;
only the master record type.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from sandbox import formula, ids, sharing
from sandbox.describe import MASTER_RECORD_TYPE_ID
from sandbox.errors import SalesforceError
from sandbox.https_server import Request, Response
from sandbox.schema import ObjectDef

if TYPE_CHECKING:
    from sandbox.handle import RunningOrg as Sandbox


def _not_found() -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")


def _value(v: Any) -> Any:
    if isinstance(v, datetime):
        v = v.astimezone(timezone.utc)
        return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
    if isinstance(v, date):
        return v.isoformat()
    return v


def _object_of(sb: Sandbox, request: Request, raw: str) -> ObjectDef:
    obj = sb.org.schema.object_for_id(raw) if ids.is_valid(raw) else None
    if obj is None:
        raise _not_found()
    sharing.check_object(sb.org, request.user_id, obj.name)
    return sharing.schema_for(sb.org, request.user_id).object(obj.name) or obj


def _names(obj: ObjectDef, raw: str | None, *, required: bool) -> list[str]:
    """Qualified field names (Lead.Company) → the object's field names; an unknown or
    unreadable one is INVALID_FIELD when required, left out when optional."""
    out = []
    for item in (p.strip() for p in (raw or "").split(",") if p.strip()):
        owner, _, name = item.rpartition(".")
        f = obj.field(name) if owner.lower() == obj.name.lower() else None
        if f is None:
            if required:
                raise SalesforceError(400, "INVALID_FIELD", f"What you've requested is not accessible: {item}", [item])
            continue
        out.append(f.name)
    return out


def _representation(obj: ObjectDef, record: dict, names: list[str], now: datetime) -> dict:
    """The Record representation; a formula field evaluated at `now`, the org's clock as it is read."""
    fields = {}
    for name in names:
        f = obj.fields[name]
        value = _value(formula.read(f, name, record, now))
        shown = value if f.type in ("picklist", "multipicklist") else None
        fields[name] = {"displayValue": shown, "value": value}
    stamp = record["SystemModstamp"]
    digest = hashlib.sha1(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()
    return {
        "apiName": obj.name, "childRelationships": {}, "eTag": digest, "fields": fields, "id": record["Id"],
        "lastModifiedById": record.get("LastModifiedById"), "lastModifiedDate": _value(record.get("LastModifiedDate")),
        "recordTypeId": MASTER_RECORD_TYPE_ID, "recordTypeInfo": None, "systemModstamp": _value(stamp),
        "weakEtag": int(stamp.timestamp() * 1000),
    }  # fmt: skip


def _readable_record(sb: Sandbox, request: Request, obj: ObjectDef, id18: str) -> dict:
    record = sb.org.get(obj.name, id18)
    if record is None or record["IsDeleted"]:
        raise _not_found()
    sharing.check_read(sb.org, request.user_id, obj.name, record)
    return record


def get_record(sb: Sandbox, request: Request) -> Response:
    obj = _object_of(sb, request, request.params["id"])
    wanted, optional = request.query.get("fields"), request.query.get("optionalFields")
    names = _names(obj, wanted, required=True) + _names(obj, optional, required=False)
    if wanted is None and optional is None:
        names = list(obj.fields)
    with sb.org.lock:
        record = _readable_record(sb, request, obj, ids.to18(request.params["id"]))
        return Response(200, _representation(obj, record, list(dict.fromkeys(names)), sb.org.clock.now()))


def update_record(sb: Sandbox, request: Request) -> Response:
    obj = _object_of(sb, request, request.params["id"])
    body = request.json()
    fields = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(fields, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR", 'Expected {"fields": {...}} in the request body')
    id18 = ids.to18(request.params["id"])
    with sb.org.lock:
        _readable_record(sb, request, obj, id18)
        sharing.check_update(sb.org, request.user_id, obj.name, id18, fields)
        sb.org.update(obj.name, id18, fields, as_user=request.user_id, auto_assign=False)
        sb.counters.add_records_written(1)
        return Response(200, _representation(obj, sb.org.get(obj.name, id18), list(obj.fields), sb.org.clock.now()))


def picklist_values(sb: Sandbox, request: Request) -> Response:
    obj = sb.org.schema.object(request.params["object"])
    if obj is None or request.params["recordType"] != MASTER_RECORD_TYPE_ID:
        raise _not_found()
    sharing.check_object(sb.org, request.user_id, obj.name)
    readable = sharing.schema_for(sb.org, request.user_id).object(obj.name) or obj
    f = readable.field(request.params["field"])
    if f is None or f.type not in ("picklist", "multipicklist"):
        raise SalesforceError(400, "INVALID_FIELD", f"{request.params['field']} is not a picklist field of {obj.name} the user can read")  # fmt: skip
    entry = lambda v: {"attributes": None, "label": v, "validFor": [], "value": v}  # noqa: E731
    values = [entry(v) for v in f.picklist_values]
    return Response(200, {
        "controllerValues": {}, "defaultValue": entry(f.default) if f.default in f.picklist_values else None,
        "eTag": hashlib.sha1("|".join(f.picklist_values).encode()).hexdigest(),
        "url": f"/services/data/v{request.version}/ui-api/object-info/{obj.name}/picklist-values/{MASTER_RECORD_TYPE_ID}/{f.name}",
        "values": values,
    })  # fmt: skip


def add_routes(router: Any) -> None:
    r = router
    r.add("api", "GET", "/ui-api/records/{id}", get_record)
    r.add("api", "PATCH", "/ui-api/records/{id}", update_record)
    r.add("api", "GET", "/ui-api/object-info/{object}/picklist-values/{recordType}/{field}", picklist_values)
