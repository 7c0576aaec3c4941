"""`GET /query?q=…&columns=true`: the columns a query selects, instead of its rows.

Salesforce answers `{"columnMetadata": [...], "entityName", "groupBy", "idSelected",
"keyPrefix"}`; a column reached through a lookup (`Owner.Name`) is the relationship's
column with the parent's fields in `joinColumns`, one level per hop. Salesforce's CLI
asks this before printing `sf data query` as a table and fails with "Value is not a
JsonArray" when `columnMetadata` is missing. A parent-to-child subquery is one column named
by its relationship, `aggregate: true`, with the child's columns in `joinColumns`: that is
how the CLI tells a subquery from a parent lookup.
"""
from __future__ import annotations

from typing import Any

from sandbox.soql.bind import Aggregation, Path, Plan
from sandbox.soql.execute import DEFAULT_VERSION, plan_for

_APEX_TYPES = {
    "id": "Id", "reference": "Id", "boolean": "Boolean", "int": "Integer", "double": "Double",
    "currency": "Decimal", "percent": "Decimal", "date": "Date", "datetime": "Datetime",
    "anyType": "Object",
}  # fmt: skip
_NUMBERS = frozenset(("int", "double", "currency", "percent"))


def _column(name: str, display: str, path: Path | None, join: list[dict], parent_type: str | None = None) -> dict:
    field = path.field if path is not None else None
    ftype = path.type if path is not None else "reference"
    return {
        "aggregate": False,
        "apexType": parent_type if path is None else _APEX_TYPES.get(ftype, "String"),
        "booleanType": ftype == "boolean",
        "columnName": name,
        "custom": bool(field is not None and field.custom),
        "displayName": display,
        "foreignKeyName": None,
        "insertable": bool(field is not None and field.createable),
        "joinColumns": join,
        "numberType": ftype in _NUMBERS,
        "textType": path is not None and ftype not in _NUMBERS and ftype not in _APEX_TYPES,
        "updatable": bool(field is not None and field.updateable),
    }


def _level(paths: list[Path], depth: int, prefix: str) -> list[dict]:
    """The columns at one hop depth, relationships grouped in first-selected order."""
    out: list[dict] = []
    groups: dict[str, list[Path]] = {}
    for path in paths:
        if len(path.hops) == depth:
            out.append(_column(path.name, prefix + path.name, path, []))
            continue
        hop = path.hops[depth]
        if hop.relationship not in groups:
            groups[hop.relationship] = []
            out.append({"relationship": hop.relationship, "targets": hop.targets})
        groups[hop.relationship].append(path)
    for i, entry in enumerate(out):
        if "relationship" in entry:
            rel = entry["relationship"]
            join = _level(groups[rel], depth + 1, f"{prefix}{rel}.")
            parent = entry["targets"][0] if len(entry["targets"]) == 1 else "Name"
            out[i] = _column(rel, prefix + rel, None, join, parent)
    return out


def _aggregate_columns(agg: Aggregation) -> list[dict]:
    """An aggregate query's columns, flat as its rows are: a grouped field by its key (so
    `Owner.Name` is `Name`), functions with `aggregate: true` and the text as displayName,
    which is what Salesforce's CLI prints as the header of an unaliased `exprN`."""
    out = []
    for o in agg.outputs:
        col = _column(o.key, o.display, o.path, [])
        if o.aggregate or o.path is None:
            col.update(
                aggregate=o.aggregate, apexType=_APEX_TYPES.get(o.type, "String"), booleanType=o.type == "boolean",
                custom=False, insertable=False, updatable=False, numberType=o.type in _NUMBERS,
                textType=o.type not in _NUMBERS and o.type not in _APEX_TYPES,
            )  # fmt: skip
        out.append(col)
    return out


def _record_columns(plan: Plan) -> list[dict]:
    """A record query's columns in SELECT order, each subquery where it was written."""
    paths = list(plan.fields)
    columns = _level(paths, 0, "")
    for child in reversed(plan.children):  # from the last, so earlier positions stay put
        col = _column(child.relationship, child.relationship, None, _record_columns(child.plan))
        col.update(aggregate=True, apexType=None, custom=child.relationship.endswith("__r"))
        columns.insert(len(_level(paths[: child.at], 0, "")), col)
    return columns


def column_metadata(soql: str, schema: Any, version: str = DEFAULT_VERSION) -> dict:
    """What `columns=true` answers for `soql` (raises SoqlError as the query itself would)."""
    plan = plan_for(soql, schema, version)
    paths = list(plan.fields)
    if plan.aggregation is not None:
        columns = _aggregate_columns(plan.aggregation)
    else:
        columns = [] if plan.is_count else _record_columns(plan)
    return {
        "columnMetadata": columns,
        "entityName": plan.sobject.name,
        "groupBy": plan.aggregation is not None and plan.aggregation.grouped,
        "idSelected": any(not p.hops and p.name == "Id" for p in paths),
        "keyPrefix": plan.sobject.key_prefix,
    }
