"""List views over REST, from the list views the SFDX project ships
(`objects/<Object>/listViews/*.listView-meta.xml`): the admin's "Leads offered to partners"
and "Escalated leads" are what a tool (jsforce's `sobject('Lead').listviews()`,
`listview(id).results()`) reads to show routed leads as an admin sees them.

    GET sobjects/X/listviews                  {"done", "listviews": [...], "nextRecordsUrl", "size", "sobjectType"}
    GET sobjects/X/listviews/{id}             one of those entries
    GET sobjects/X/listviews/{id}/describe    {"columns", "id", "orderBy", "query", "scope", "sobjectType", "whereCondition"}
    GET sobjects/X/listviews/{id}/results     {"columns", "developerName", "done", "id", "label", "records", "size"}
                                              ?limit=1..2000 (25) &offset=0

A view's query is built in SOQL and run by the sandbox's SOQL engine with the caller's
sharing (a partner rep sees only its own leads in any view). Columns are the view's own,
then the hidden ones Salesforce adds (Id, CreatedDate, LastModifiedDate, SystemModstamp,
Owner.Id, OwnerId); values come as strings, date-times as Salesforce prints them
(`Fri Aug 01 21:15:46 GMT 2014`). Ordered by the first column, then Id, nulls first.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox import ids, sharing
from sandbox.errors import SalesforceError
from sandbox.metadata import NS, _root  # the shipped metadata is read one way
from sandbox.metadata import _text as _element_text
from sandbox.https_server import Request, Response
from sandbox.rest import resource_not_found, sobject

if TYPE_CHECKING:
    from sandbox.handle import RunningOrg as Sandbox
    from sandbox.schema import ObjectDef

KEY_PREFIX = "00B"
HIDDEN = ("Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", "Owner.Id", "OwnerId")
# list view column names that are not `<OBJECT>.<FIELD_NAME>` or an API name
_SPECIAL_COLUMNS = {"FULL_NAME": "Name", "NAME": "Name", "CORE.USERS.ALIAS": "Owner.Alias",
                    "CORE.USERS.FULL_NAME": "Owner.Name", "OWNER_FULL_NAME": "Owner.Name"}  # fmt: skip
_OPERATORS = {"equals": "=", "notEqual": "!=", "lessThan": "<", "greaterThan": ">", "lessOrEqual": "<=",
              "greaterOrEqual": ">="}  # fmt: skip
_SCOPES = {"Everything": "everything", "Mine": "mine", "Queue": "queue"}


@dataclass(frozen=True)
class ListView:
    id: str
    sobject: str
    developer_name: str
    label: str
    columns: tuple[str, ...]  # as the metadata names them
    filters: tuple[tuple[str, str, str], ...]  # (field, operation, value)
    scope: str
    queue: str | None


@lru_cache(maxsize=4)
def _load(sfdx_dir: Path) -> tuple[ListView, ...]:
    paths = sorted(p for d in sorted(sfdx_dir.glob("**/objects")) for p in d.glob("*/listViews/*.listView-meta.xml"))
    views = []
    for n, path in enumerate(sorted(paths, key=lambda p: (p.parent.parent.name, p.name)), start=1):
        root = _root(path, "ListView")

        def text(el: ET.Element, tag: str) -> str:
            return _element_text(el, tag) or ""

        views.append(ListView(
            id=ids.make_id(KEY_PREFIX, n), sobject=path.parent.parent.name,
            developer_name=text(root, "fullName") or path.name.split(".")[0], label=text(root, "label"),
            columns=tuple((c.text or "").strip() for c in root.iter(NS + "columns")),
            filters=tuple((text(f, "field"), text(f, "operation"), text(f, "value")) for f in root.iter(NS + "filters")),
            scope=text(root, "filterScope") or "Everything", queue=text(root, "queue") or None,
        ))  # fmt: skip
    return tuple(views)


def views_of(obj_name: str) -> list[ListView]:
    from sandbox.schema import default_sfdx_dir

    return [v for v in _load(default_sfdx_dir()) if v.sobject == obj_name]


def _path(obj: ObjectDef, column: str) -> str | None:
    """The field path a list view column shows, or None for a column the sandbox cannot map."""
    if column in _SPECIAL_COLUMNS:
        return _SPECIAL_COLUMNS[column]
    if obj.field(column) is not None:
        return obj.field(column).name  # type: ignore[union-attr]
    prefix, _, rest = column.partition(".")
    if prefix.upper() == obj.name.upper() and rest:
        wanted = rest.replace("_", "").lower()
        return next((f.name for f in obj.fields.values() if f.name.lower() == wanted), None)
    return None


def _field_of(sb: Sandbox, obj: ObjectDef, path: str) -> Any:
    if "." not in path:
        return obj.field(path)
    user = sb.org.schema.object("User")
    return user.field(path.split(".", 1)[1]) if user is not None else None


def _columns(sb: Sandbox, obj: ObjectDef, view: ListView) -> list[dict[str, Any]]:
    paths = [p for p in (_path(obj, c) for c in view.columns) if p is not None]
    out = []
    for i, path in enumerate([*paths, *HIDDEN]):
        f = _field_of(sb, obj, path)
        label = f.label if f is not None else path
        if path.startswith("Owner."):
            label = f"Owner {label}"
        out.append({
            # the labels as Salesforce's own example shows them, for every type
            "ascendingLabel": "Z-A", "descendingLabel": "A-Z",
            "fieldNameOrPath": path, "hidden": i >= len(paths), "label": label,
            "searchable": f is not None and f.type in ("string", "email", "phone", "textarea"),
            "selectListItem": f"toLabel({path})" if f is not None and f.type == "picklist" else path,
            "sortDirection": "ascending" if i == 0 else None, "sortIndex": 0 if i == 0 else None,
            "sortable": f is not None and f.type not in ("textarea", "multipicklist"),
            "type": f.type if f is not None else "string",
        })  # fmt: skip
    return out


def _literal(f: Any, value: str) -> str:
    if f is not None and f.type in ("date", "datetime") and not value[:1].isdigit():
        return value  # TODAY, LAST_N_DAYS:7 …
    if f is not None and f.type == "boolean":
        return "true" if value.lower() in ("1", "true") else "false"
    if f is not None and f.type in ("double", "int", "currency", "percent", "date", "datetime"):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _condition(sb: Sandbox, obj: ObjectDef, field: str, operation: str, value: str) -> tuple[str, dict]:
    path = _path(obj, field) or field
    f = _field_of(sb, obj, path)
    values = [v.strip() for v in value.split(",")] if value else [""]
    where = {"field": path, "operator": operation, "values": values}
    if operation in ("equals", "notEqual") and len(values) > 1:
        op = "IN" if operation == "equals" else "NOT IN"
        return f"{path} {op} ({', '.join(_literal(f, v) for v in values)})", where
    if operation in _OPERATORS:
        return f"{path} {_OPERATORS[operation]} {_literal(f, values[0]) if values[0] else 'null'}", where
    if operation in ("contains", "notContain", "startsWith"):
        pattern = [f"%{v}%" if operation != "startsWith" else f"{v}%" for v in values]
        terms = " OR ".join(f"{path} LIKE {_literal(None, p)}" for p in pattern)
        return (f"(NOT ({terms}))" if operation == "notContain" else f"({terms})"), where
    if operation in ("includes", "excludes"):
        return f"{path} {operation.upper()} ({', '.join(_literal(None, v) for v in values)})", where
    raise SalesforceError(400, "INVALID_QUERY_FILTER_OPERATOR",
                          f"list view {field}: the sandbox does not model the filter operation {operation!r}")


def _query(sb: Sandbox, obj: ObjectDef, view: ListView, user_id: str | None) -> tuple[str, list[dict], dict | None]:
    columns = _columns(sb, obj, view)
    conditions = [_condition(sb, obj, *f) for f in view.filters]
    scope = _SCOPES.get(view.scope, "everything")
    if scope == "mine" and user_id:
        conditions.append((f"OwnerId = '{user_id}'", {"field": "OwnerId", "operator": "equals", "values": [user_id]}))
    elif scope == "queue" and view.queue:
        queue = next((g["Id"] for g in sb.org.records("Group") if g.get("DeveloperName") == view.queue), "")
        conditions.append((f"OwnerId = '{queue}'", {"field": "OwnerId", "operator": "equals", "values": [queue]}))
    soql = f"SELECT {', '.join(c['selectListItem'] for c in columns)} FROM {obj.name}"
    if conditions:
        soql += " WHERE " + " AND ".join(c for c, _ in conditions)
    first = columns[0]["fieldNameOrPath"]
    soql += f" ORDER BY {first} ASC NULLS FIRST" + ("" if first == "Id" else ", Id ASC NULLS FIRST")
    wheres = [w for _, w in conditions]
    where = None if not wheres else wheres[0] if len(wheres) == 1 else {"conditions": wheres, "conjunction": "and"}
    return soql, columns, where


def _entry(view: ListView, version: str) -> dict[str, Any]:
    url = f"/services/data/v{version}/sobjects/{view.sobject}/listviews/{view.id}"
    return {"describeUrl": f"{url}/describe", "developerName": view.developer_name, "id": view.id,
            "label": view.label, "resultsUrl": f"{url}/results", "soqlCompatible": True, "url": url}  # fmt: skip


def _view(sb: Sandbox, request: Request) -> tuple[ObjectDef, ListView]:
    """The view and its object as the caller's field-level security shows it: a column the
    caller may not read is left out of the view, as Salesforce shows the view to that user."""
    obj = sobject(sb, request.params["type"])
    sharing.check_object(sb.org, request.user_id, obj.name)
    obj = sharing.schema_for(sb.org, request.user_id).object(obj.name) or obj
    raw = request.params["id"]
    wanted = ids.to18(raw) if ids.is_valid(raw) else raw
    view = next((v for v in views_of(obj.name) if v.id == wanted or v.developer_name == raw), None)
    if view is None:
        raise resource_not_found()
    return obj, view


def list_views(sb: Sandbox, request: Request) -> Response:
    obj = sobject(sb, request.params["type"])
    sharing.check_object(sb.org, request.user_id, obj.name)  # an object not there for the caller
    views = [_entry(v, request.version) for v in views_of(obj.name)]
    return Response(200, {"done": True, "listviews": views, "nextRecordsUrl": None, "size": len(views),
                          "sobjectType": obj.name})  # fmt: skip


def list_view(sb: Sandbox, request: Request) -> Response:
    _, view = _view(sb, request)
    return Response(200, _entry(view, request.version))


def describe(sb: Sandbox, request: Request) -> Response:
    obj, view = _view(sb, request)
    soql, columns, where = _query(sb, obj, view, request.user_id)
    first = columns[0]["fieldNameOrPath"]
    order = [{"fieldNameOrPath": p, "nullsPosition": "first", "sortDirection": "ascending"}
             for p in dict.fromkeys((first, "Id"))]  # fmt: skip
    return Response(200, {"columns": columns, "id": view.id, "orderBy": order, "query": soql, "relatedEntityId": None,
                          "scope": _SCOPES.get(view.scope, "everything"), "scopeEntityId": None,
                          "sobjectType": obj.name, "whereCondition": where})  # fmt: skip


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.strip().lstrip("-").isdigit() or not low <= int(raw) <= high:
        raise SalesforceError(400, "INVALID_PARAMETER_VALUE", f"{name} must be a whole number from {low} to {high}, got {raw!r}")  # fmt: skip
    return int(raw)


def _text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%a %b %d %H:%M:%S GMT %Y")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a Number(18, 0) shows as 1, not 1.0
    return str(value)


def results(sb: Sandbox, request: Request) -> Response:
    from sandbox.soql import execute  # the SOQL engine is its own package

    obj, view = _view(sb, request)
    limit = _int_param(request, "limit", 25, 1, 2000)
    offset = _int_param(request, "offset", 0, 0, 2000)
    soql, columns, _ = _query(sb, obj, view, request.user_id)
    with sb.org.lock:
        user = sharing.external_user(sb.org, request.user_id)
        also = sharing.lead_filter(sb.org, user) if user is not None else None
        result = execute(soql, sb.org, include_deleted=False, version=request.version, also=also,
                         schema=sharing.schema_for(sb.org, request.user_id))
        rows = result.rows[offset:offset + limit]
        records = []
        for row in rows:
            values = []
            for c in columns:
                head, _, tail = c["fieldNameOrPath"].partition(".")
                value = row.get(head + "Id" if tail else head)  # Owner.Alias: through OwnerId
                if tail:
                    parent = sb.org.get("User", value) if isinstance(value, str) and value.startswith("005") else None
                    group = sb.org.get("Group", value) if isinstance(value, str) and value.startswith("00G") else None
                    value = (parent or group or {}).get(tail)
                values.append({"fieldNameOrPath": c["fieldNameOrPath"], "value": _text(value)})
            records.append({"columns": values})
    return Response(200, {"columns": columns, "developerName": view.developer_name,
                          "done": offset + len(records) >= result.total_size, "id": view.id, "label": view.label,
                          "records": records, "size": result.total_size})  # fmt: skip


def add_routes(r: Any) -> None:
    """Before `sobjects/{type}/{id}`, which would take `listviews` for a record id."""
    r.add("api", "GET", "/sobjects/{type}/listviews", list_views)
    r.add("api", "GET", "/sobjects/{type}/listviews/{id}", list_view)
    r.add("api", "GET", "/sobjects/{type}/listviews/{id}/describe", describe)
    r.add("api", "GET", "/sobjects/{type}/listviews/{id}/results", results)
