"""FieldDefinition: an object's fields as rows, over the REST `/query` endpoint.

`SELECT QualifiedApiName, IsFieldHistoryTracked FROM FieldDefinition WHERE
EntityDefinition.QualifiedApiName = 'Lead'` is how a client asks which fields an org
tracks in LeadHistory. The rows come from the schema the org serves (`sandbox.standard`
plus the shipped metadata, where `<trackHistory>` says what is tracked), with the org's own
history settings on top (`Org.set_history_tracking`, `sandbox.start(history_untracked=…)`),
so what this answers is what `LeadHistory` records.

As Salesforce documents it for FieldDefinition: the query must filter on the object
(`EntityDefinition.QualifiedApiName`, `EntityDefinitionId` or `DurableId`, else
MALFORMED_QUERY "a filter on a reified column is required"); only `=` and IN compare
("Only equals comparisons permitted"), OR is refused ("Disjunctions not supported"),
COUNT() and GROUP BY too, LIMIT and OFFSET are ignored. A standard lookup's
QualifiedApiName is its field name (OwnerId), a custom field's its API name; DurableId is
`<object>.<field>` here (Salesforce uses ids for custom fields: not modelled). An org
whose integration user may not read setup data refuses the object as an unknown type
(`Org.field_definitions_refused`; the exact answer of a real org is not confirmed).
"""
from __future__ import annotations

import re
from typing import Any

from sandbox.soql.ast import And, Comparison, FieldRef, Not, Or, Query
from sandbox.soql.errors import MALFORMED_QUERY, SoqlError, no_such_column, unsupported_type

SOBJECT = "FieldDefinition"
_FROM = re.compile(r"\bFROM\s+FieldDefinition\b", re.IGNORECASE)
# the columns served, by their lower-case name
COLUMNS = {c.lower(): c for c in ("QualifiedApiName", "DeveloperName", "Label", "MasterLabel", "DataType",
                                  "IsFieldHistoryTracked", "DurableId", "EntityDefinitionId", "NamespacePrefix")}
_ENTITY = "entitydefinition.qualifiedapiname"
_REIFIED = ("entitydefinitionid", "durableid", _ENTITY)
_UNSUPPORTED = ("The requested operation is not yet supported by this SObject storage type, contact salesforce.com "
                "support for more information.")


def asked(soql: str) -> bool:
    """Whether this query reads FieldDefinition (a cheap look before parsing)."""
    return bool(_FROM.search(soql or ""))


def query(org: Any, soql: str, version: str) -> dict[str, Any]:
    """The `/query` answer, all rows in one page (an object has a few hundred fields at most)."""
    from sandbox.soql import parse

    q = parse(soql)
    if q.sobject.lower() != SOBJECT.lower():  # FieldDefinition named elsewhere (a string, a subquery)
        raise _not_here(soql)
    if getattr(org, "field_definitions_refused", False):
        raise unsupported_type(soql, q.sobject_line, q.sobject_column, q.sobject)
    if q.is_count or q.group_by or q.having is not None:
        raise SoqlError(MALFORMED_QUERY, _UNSUPPORTED)
    columns = _columns(soql, q)
    filters = _filters(soql, q)
    objects = [v for k, v in filters if k in _REIFIED]
    if not objects:
        raise SoqlError(MALFORMED_QUERY, "FieldDefinition: a filter on a reified column is required "
                                         "[EntityDefinitionId,DurableId]")
    rows = []
    with org.lock:
        schema = org.schema
        for obj_name in {o.split(".")[0].lower() for values in objects for o in values}:
            obj = schema.object(obj_name)
            if obj is None:
                continue
            rows += [_row(obj, f) for f in obj.fields.values()]
    rows = [r for r in rows if all(_holds(r, k, values) for k, values in filters)]
    rows.sort(key=lambda r: (r["EntityDefinitionId"], r["QualifiedApiName"].lower()))
    records = [_render(r, columns, version) for r in rows]
    return {"totalSize": len(records), "done": True, "records": records}


def _not_here(soql: str) -> SoqlError:
    return SoqlError(MALFORMED_QUERY, f"FieldDefinition can only be the object a query reads: {soql[:80]}")


def _columns(soql: str, q: Query) -> list[str]:
    out = []
    for expr in q.fields:
        if not isinstance(expr, FieldRef):
            raise SoqlError(MALFORMED_QUERY, _UNSUPPORTED)
        name = expr.text.lower()
        if name == _ENTITY:
            out.append("EntityDefinition.QualifiedApiName")
        elif name in COLUMNS:
            out.append(COLUMNS[name])
        else:
            raise no_such_column(soql, expr.line, expr.column, expr.text, SOBJECT)
    return out


def _filters(soql: str, q: Query) -> list[tuple[str, tuple[str, ...]]]:
    """(column, the values it may equal) for each comparison of the WHERE, all ANDed."""
    out: list[tuple[str, tuple[str, ...]]] = []

    def walk(cond: Any) -> None:
        if isinstance(cond, Or):
            raise SoqlError(MALFORMED_QUERY, "Disjunctions not supported")
        if isinstance(cond, Not):
            raise SoqlError(MALFORMED_QUERY, "Only equals comparisons permitted")
        if isinstance(cond, And):
            for item in cond.items:
                walk(item)
            return
        assert isinstance(cond, Comparison)
        if cond.op not in ("=", "in") or not isinstance(cond.field, FieldRef):
            raise SoqlError(MALFORMED_QUERY, "Only equals comparisons permitted")
        name = cond.field.text.lower()
        if name not in COLUMNS and name != _ENTITY:
            raise no_such_column(soql, cond.field.line, cond.field.column, cond.field.text, SOBJECT)
        out.append((name, tuple("" if v.value is None else str(v.value).lower() for v in cond.values)))

    if q.where is not None:
        walk(q.where)
    return out


def _row(obj: Any, f: Any) -> dict[str, Any]:
    developer = f.name[:-3] if f.custom and f.name.endswith("__c") else f.name
    return {
        "QualifiedApiName": f.name, "DeveloperName": developer, "Label": f.label, "MasterLabel": f.label,
        "DataType": f.type, "IsFieldHistoryTracked": bool(f.track_history), "DurableId": f"{obj.name}.{f.name}",
        "EntityDefinitionId": obj.name, "NamespacePrefix": None,
    }


def _holds(row: dict[str, Any], column: str, values: tuple[str, ...]) -> bool:
    if column == _ENTITY:
        have = row["EntityDefinitionId"]
    else:
        have = row[COLUMNS[column]]
    return ("" if have is None else str(have).lower()) in values


def _render(row: dict[str, Any], columns: list[str], version: str) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": {"type": SOBJECT,
                                          "url": f"/services/data/v{version}/sobjects/{SOBJECT}/{row['DurableId']}"}}
    for c in columns:
        if c == "EntityDefinition.QualifiedApiName":
            out["EntityDefinition"] = {"attributes": {"type": "EntityDefinition", "url": f"/services/data/v{version}/"
                                                      f"sobjects/EntityDefinition/{row['EntityDefinitionId']}"},
                                       "QualifiedApiName": row["EntityDefinitionId"]}
        else:
            out[c] = row[c]
    return out
