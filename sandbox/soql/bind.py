"""Binding a parsed query to an org's schema: names resolved, types checked.

Everything Salesforce refuses before looking at a single row is refused here, with
its error code and a message pointing into the query: unknown object (INVALID_TYPE),
unknown field or relationship (INVALID_FIELD), an unknown child relationship in a
subquery's FROM (INVALID_TYPE), a literal of the wrong type for its field
(INVALID_FIELD), an operator the field type does not support
(INVALID_QUERY_FILTER_OPERATOR), a malformed id literal, OFFSET beyond 2,000, subqueries
nested deeper than the API version allows or more than 20 of them.
The result carries canonical names only, so the compiler never looks at text again.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from sandbox import describe, ids
from sandbox.schema import FieldDef, ObjectDef, Schema
from sandbox.soql import ast
from sandbox.soql.parser import AGGREGATES, DATE_FUNCTIONS
from sandbox.soql.errors import (
    INVALID_FIELD,
    INVALID_QUERY_FILTER_OPERATOR,
    MALFORMED_QUERY,
    NUMBER_OUTSIDE_VALID_RANGE,
    SoqlError,
    no_such_column,
    positioned,
    unknown_child_relationship,
    unknown_relationship,
    unsupported_type,
)

MAX_OFFSET = 2000
MAX_SUBQUERIES = 20  # "No more than 20 parent-to-child relationships can be specified in a query"
MAX_FIELDS_LIMIT = 200  # FIELDS(ALL) and FIELDS(CUSTOM) are unbounded: the REST API wants LIMIT <= 200

# Which field types each aggregate function takes (Salesforce's "Support for Field Types in
# Aggregate Functions"): COUNT, COUNT_DISTINCT, MIN and MAX anything but checkboxes,
# multi-select picklists, long text and anyType; SUM and AVG numbers only.
_NUMBER_TYPES = frozenset(("int", "double", "currency", "percent"))
_UNAGGREGATABLE = frozenset(("boolean", "multipicklist", "anyType"))
# Not groupable: numbers other than int, datetimes (group by DAY_ONLY() instead), multi-select
# picklists, long text areas, anyType.
_UNGROUPABLE = frozenset(("double", "currency", "percent", "datetime", "multipicklist", "anyType"))

# describe type -> how values compare
_KINDS = {
    "id": "id", "reference": "id",
    "string": "text", "textarea": "text", "picklist": "text", "email": "text", "phone": "text",
    "url": "text", "combobox": "text", "anyType": "text",
    "multipicklist": "multi",
    "boolean": "bool",
    "int": "number", "double": "number", "currency": "number", "percent": "number",
    "date": "date", "datetime": "datetime",
}  # fmt: skip
# what Salesforce calls the type in "must be of type X" messages
_TYPE_WORD = {"id": "id", "text": "string", "multi": "string", "bool": "boolean", "date": "date",
              "datetime": "dateTime"}  # fmt: skip

# Salesforce's polymorphic "Name" object: what a relationship like Lead.Owner (User or
# Group) exposes. A field the actual target lacks reads as null.
_NAME_OBJECT_FIELDS = {
    "Id": "id", "Name": "string", "Type": "picklist", "Alias": "string", "Email": "email",
    "FirstName": "string", "LastName": "string", "IsActive": "boolean", "Username": "string",
    "Title": "string", "Phone": "phone", "ProfileId": "reference", "UserRoleId": "reference",
    "LastReferencedDate": "datetime", "LastViewedDate": "datetime",
}  # fmt: skip
_NAME_BY_LOWER = {n.lower(): n for n in _NAME_OBJECT_FIELDS}
POLYMORPHIC_TYPE = "Name"


@dataclass(frozen=True, slots=True)
class Hop:
    fk: str  # the lookup field on the object we come from, e.g. "OwnerId"
    relationship: str  # its relationship name, the key in the JSON: "Owner"
    targets: tuple[str, ...]  # object names it may point to

    @property
    def polymorphic(self) -> bool:
        return len(self.targets) > 1


@dataclass(frozen=True, slots=True)
class Path:
    """A field reached from the queried object, through zero or more lookups."""

    hops: tuple[Hop, ...]
    name: str  # canonical field name on the last object (for polymorphic: on the Name object)
    type: str  # describe type
    kind: str  # id text multi bool number date datetime
    field: FieldDef | None  # None for the Name object's fields
    per_target: tuple[tuple[str, str | None], ...] = ()  # polymorphic: (object, its field name or None)

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(h.relationship for h in self.hops) + (self.name,)

    @property
    def long_text(self) -> bool:
        """Long text areas and anyType values: selectable, never filtered or sorted."""
        if self.type == "anyType":
            return True
        return self.type == "textarea" and self.field is not None and self.field.length > 255


@dataclass(frozen=True, slots=True)
class Test:
    """A bound comparison: `path op values`, values already coerced to the field's kind."""

    path: Path
    op: str
    values: tuple  # python values; relative dates stay ("relative", WORD, n)
    fn: str | None = None  # a date function applied to the field first: CALENDAR_YEAR(CreatedDate) = 2024
    slot: int | None = None  # HAVING: the test reads this slot of a group, not a record


def _comparisons(cond) -> list:
    """Every Comparison under a condition."""
    if isinstance(cond, ast.Comparison):
        return [cond]
    if isinstance(cond, ast.Not):
        return _comparisons(cond.item)
    return [c for item in cond.items for c in _comparisons(item)]


@dataclass(frozen=True, slots=True)
class BoundOrder:
    path: Path
    descending: bool
    nulls_last: bool
    picklist: tuple[str, ...] = ()  # definition order, which is how Salesforce sorts picklists
    fn: str | None = None  # date function, as for Test
    slot: int | None = None  # aggregate query: sort groups by this slot


@dataclass(frozen=True, slots=True)
class Plan:
    sobject: ObjectDef
    fields: tuple[Path, ...]
    is_count: bool
    where: object  # Test | ast.And/Or/Not of Tests | None
    order_by: tuple[BoundOrder, ...]
    limit: int | None
    offset: int
    aggregation: "Aggregation | None" = None  # set for GROUP BY / aggregate function queries
    children: tuple["ChildPlan", ...] = ()  # parent-to-child subqueries, in SELECT order


@dataclass(frozen=True, slots=True)
class ChildPlan:
    """A parent-to-child subquery: the child object's own plan, read per parent record."""

    relationship: str  # the child relationship name as describe spells it: the key in the JSON
    fk: str  # the child's lookup field holding the parent's id
    plan: Plan  # fields, WHERE, ORDER BY, LIMIT, OFFSET and nested subqueries on the child object
    at: int  # how many of the parent's fields come before it in the SELECT list


@dataclass(frozen=True, slots=True)
class GroupKey:
    """One GROUP BY expression: a field, or a date function of one."""

    path: Path  # kind/type already those of the function's result
    fn: str | None


@dataclass(frozen=True, slots=True)
class Measure:
    """One aggregate function a query needs (in SELECT, HAVING or ORDER BY)."""

    fn: str  # COUNT COUNT_DISTINCT SUM AVG MIN MAX
    path: Path  # its argument; kind/type are the argument's (after a date function)
    date_fn: str | None
    result_type: str  # describe type of the answer: int for COUNT, the argument's for MIN/MAX, ...
    scale: int | None  # SUM of currency/double: rounded like the field
    picklist: tuple[str, ...] = ()  # MIN/MAX of a picklist go by definition order


@dataclass(frozen=True, slots=True)
class Output:
    """One column of an AggregateResult row."""

    key: str  # alias, exprN, or the grouped field's name
    slot: int  # groups come first in a group's values, then measures
    display: str  # as written: COUNT(Id), Routing_Status__c (columns=true displayName)
    aggregate: bool  # a function (columns=true says aggregate: true), not a plain grouped field
    type: str  # describe type of the value
    path: Path | None  # the grouped field, for columns=true


@dataclass(frozen=True, slots=True)
class Aggregation:
    groups: tuple[GroupKey, ...]
    measures: tuple[Measure, ...]
    outputs: tuple[Output, ...]
    having: object  # Tests with `slot` set, combined by ast.And/Or/Not, or None
    order_by: tuple[BoundOrder, ...]  # with `slot` set
    grouped: bool  # GROUP BY given: no groups -> no rows (else one row, even over nothing)


def restore_id_case(value: str) -> str | None:
    """The canonical 18-char form of an id literal, or None when it is not an id.

    18-char ids are case-insensitive in Salesforce: the suffix encodes the case of the
    first 15 characters, so a lower-cased id still names exactly one record.
    """
    if len(value) == 18:
        suffix = value[15:].upper()
        chars = list(value[:15])
        for chunk, flag_char in enumerate(suffix):
            pos = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345".find(flag_char)
            if pos < 0:
                return None
            for i in range(5):
                c = chars[chunk * 5 + i]
                chars[chunk * 5 + i] = c.upper() if pos & (1 << i) else c.lower()
        value = "".join(chars) + suffix
    return ids.to18(value) if ids.is_valid(value) else None


def child_levels(version: str) -> int:
    """How deep subqueries may nest: one level up to API 57.0; from 58.0 four below the root
    ("up to five levels of parent-to-child relationship", the root counting as the first)."""
    try:
        return 4 if float(version) >= 58.0 else 1
    except ValueError:
        return 4


class Binder:
    def __init__(self, soql: str, schema: Schema, max_child_levels: int = 4):
        self.soql = soql
        self.schema = schema
        self.max_child_levels = max_child_levels
        self._subqueries = 0

    # names -------------------------------------------------------------------------
    def path(self, ref: ast.FieldRef, root: ObjectDef) -> Path:
        parts = list(ref.parts)
        # `SELECT Lead.Name FROM Lead` is legal: the object name may qualify its own fields
        if len(parts) > 1 and parts[0].lower() == root.name.lower() and root.relationship(parts[0]) is None:
            parts = parts[1:]
        obj: ObjectDef | None = root
        targets: tuple[str, ...] = (root.name,)
        hops: list[Hop] = []
        column = ref.column
        for rel_name in parts[:-1]:
            if obj is None:  # past a polymorphic hop: the Name object has no relationships
                raise unknown_relationship(self.soql, ref.line, column, rel_name)
            fk = obj.relationship(rel_name)
            if fk is None:
                raise unknown_relationship(self.soql, ref.line, column, rel_name)
            hop = Hop(fk.name, fk.relationship_name or rel_name, tuple(fk.reference_to))
            hops.append(hop)
            targets = hop.targets
            if hop.polymorphic:
                obj = None
            else:
                obj = self.schema.object(targets[0])
                if obj is None:  # a lookup to an object the sandbox does not emulate
                    raise unknown_relationship(self.soql, ref.line, column, rel_name)
            column += len(rel_name) + 1
        last = parts[-1]
        if obj is None:
            canonical = _NAME_BY_LOWER.get(last.lower())
            if canonical is None:
                raise no_such_column(self.soql, ref.line, column, last, POLYMORPHIC_TYPE)
            per_target = []
            for t in targets:
                tdef = self.schema.object(t)
                f = tdef.field(canonical) if tdef else None
                per_target.append((t, f.name if f else None))
            ftype = _NAME_OBJECT_FIELDS[canonical]
            return Path(tuple(hops), canonical, ftype, _KINDS[ftype], None, tuple(per_target))
        f = obj.field(last)
        if f is None:
            raise no_such_column(self.soql, ref.line, column, last, obj.name)
        return Path(tuple(hops), f.name, f.type, _KINDS.get(f.type, "text"), f)

    # literals ----------------------------------------------------------------------
    def _wrong_type(self, path: Path, lit: ast.Literal) -> SoqlError:
        word = _TYPE_WORD.get(path.kind) or ("integer" if path.type == "int" else "double")
        quoted = "should be enclosed in quotes" if path.kind in ("text", "multi", "id") else "should not be enclosed in quotes"
        return positioned(
            INVALID_FIELD, self.soql, lit.line, lit.column,
            f"value of filter criterion for field '{path.name}' must be of type {word} and {quoted}",
        )  # fmt: skip

    def coerce(self, path: Path, lit: ast.Literal):
        kind = path.kind
        if lit.kind == "null":
            # Salesforce documents `Checkbox = null` as `= false` (a boolean is never null)
            return False if kind == "bool" else None
        if kind == "id":
            if lit.kind != "string":
                raise self._wrong_type(path, lit)
            if lit.value == "":
                return None
            id18 = restore_id_case(lit.value)
            if id18 is None:
                raise positioned(
                    INVALID_QUERY_FILTER_OPERATOR, self.soql, lit.line, lit.column, f"invalid ID field: {lit.value}"
                )
            return id18
        if kind in ("text", "multi"):
            if lit.kind != "string":
                raise self._wrong_type(path, lit)
            return lit.value
        if kind == "bool":
            if lit.kind != "boolean":
                raise self._wrong_type(path, lit)
            return lit.value
        if kind == "number":
            if lit.kind != "number":
                raise self._wrong_type(path, lit)
            return lit.value
        if kind == "date" and lit.kind in ("date", "relative"):
            return ("relative",) + lit.value if lit.kind == "relative" else lit.value
        if kind == "datetime" and lit.kind in ("datetime", "relative"):
            return ("relative",) + lit.value if lit.kind == "relative" else lit.value
        raise self._wrong_type(path, lit)

    # conditions --------------------------------------------------------------------
    def _bad_operator(self, cmp: ast.Comparison, text: str) -> SoqlError:
        return positioned(INVALID_QUERY_FILTER_OPERATOR, self.soql, cmp.field.line, cmp.field.column, text)

    def test(self, cmp: ast.Comparison, root: ObjectDef, bound: Path | None = None) -> Test:
        fn = None
        if bound is not None:
            path = bound
        elif isinstance(cmp.field, ast.Call):
            if cmp.field.name in DATE_FUNCTIONS:
                path, fn = self.date_path(cmp.field, root), cmp.field.name
            elif cmp.field.name in ("TOLABEL", "FIELDS"):
                path = self.label_path(cmp.field, root)
            else:
                raise self._malformed(cmp.field, f"aggregate functions are only allowed in HAVING, not in WHERE: {cmp.field.text}")  # fmt: skip
        else:
            path = self.path(cmp.field, root)
        op = cmp.op
        if op in ("semi", "antisemi"):
            return self.semi_join(cmp, path, root)
        if path.long_text:
            raise positioned(
                INVALID_FIELD, self.soql, cmp.field.line, cmp.field.column,
                f"field '{path.name}' can not be filtered in a query call",
            )  # fmt: skip
        if op == "like" and path.kind != "text":
            raise self._bad_operator(cmp, f"invalid operator on {path.type} field '{path.name}': LIKE needs a text field")
        if op in ("includes", "excludes") and path.kind != "multi":
            raise self._bad_operator(cmp, "includes or excludes operator only valid on multipicklist field")
        if op in ("<", "<=", ">", ">=") and path.kind in ("bool", "multi"):
            raise self._bad_operator(cmp, f"invalid operator on {path.type} field '{path.name}': {op} is not supported")
        if op in ("in", "notin", "like") and path.kind == "multi":
            raise self._bad_operator(
                cmp, f"invalid operator on multipicklist field '{path.name}': use INCLUDES or EXCLUDES"
            )
        if op == "like":
            lit = cmp.values[0]
            if lit.kind != "string":
                raise self._wrong_type(path, lit)
            return Test(path, op, (lit.like,), fn)
        return Test(path, op, tuple(self.coerce(path, v) for v in cmp.values), fn)

    def semi_join(self, cmp: ast.Comparison, path: Path, root: ObjectDef) -> Test:
        """`field IN (SELECT f FROM Object …)`: `field` an Id or a lookup, the inner query one
        Id or lookup field of an object, no aggregate, subquery or semi-join of its own; the
        Test's value is the inner query's plan, run per execution (compile.py)."""
        sub: ast.SemiJoin = cmp.values[0]  # type: ignore[assignment]
        if getattr(self, "_in_semi_join", False):
            raise self._malformed(sub, "Nesting of semi join sub-selects is not supported")
        if path.type not in ("id", "reference") or cmp.field is None or isinstance(cmp.field, ast.Call):
            raise self._malformed(cmp.field, f"a semi-join's left operand must be an Id or a reference field, not {path.type} field {path.name}")  # fmt: skip
        inner_root = self.schema.object(sub.query.sobject)
        if inner_root is None:
            raise unsupported_type(self.soql, sub.line, sub.column, sub.query.sobject)
        self._in_semi_join = True
        try:
            plan = self._plan(sub.query, inner_root, 1)
        finally:
            self._in_semi_join = False
        if plan.is_count or plan.children or len(plan.fields) != 1 or plan.fields[0].type not in ("id", "reference") \
                or plan.fields[0].hops:  # fmt: skip
            raise self._malformed(sub, "a semi-join's inner query selects exactly one Id or reference field of its object")  # fmt: skip
        return Test(path, cmp.op, (plan,), None)

    def condition(self, cond, root: ObjectDef):
        if isinstance(cond, ast.Comparison):
            return self.test(cond, root)
        if isinstance(cond, ast.Or):
            semi = next((c for c in _comparisons(cond) if c.op in ("semi", "antisemi")), None)
            if semi is not None:
                raise self._malformed(semi.values[0], "Semi join sub-selects are not allowed with the 'OR' operator")
        if isinstance(cond, ast.Not):
            return ast.Not(self.condition(cond.item, root))
        return type(cond)(tuple(self.condition(c, root) for c in cond.items))

    # functions ---------------------------------------------------------------------
    def _malformed(self, node, text: str) -> SoqlError:
        return positioned(MALFORMED_QUERY, self.soql, node.line, node.column, text)

    def date_path(self, call: ast.Call, root: ObjectDef) -> Path:
        """The field under a date function, typed as the function's result."""
        if call.name == "FIELDS":
            raise self._malformed(call, "FIELDS() is only allowed in the SELECT list")
        arg = call.arg
        if not isinstance(arg, ast.FieldRef):
            raise self._malformed(call, f"{call.name}() takes a date or dateTime field")
        path = self.path(arg, root)
        if path.kind not in ("date", "datetime") or (path.kind == "date" and call.name == "HOUR_IN_DAY"):
            raise self._malformed(call, f"{call.name}() needs a {'dateTime' if call.name == 'HOUR_IN_DAY' else 'date or dateTime'} field, not {path.type} field {path.name}")  # fmt: skip
        if call.name == "DAY_ONLY":
            if path.kind != "datetime":
                raise self._malformed(call, f"DAY_ONLY() needs a dateTime field, not {path.type} field {path.name}")
            return replace(path, type="date", kind="date", field=None)
        return replace(path, type="int", kind="number", field=None)

    def label_path(self, call: ast.Call, root: ObjectDef) -> Path:
        """toLabel(field): picklist labels, which are the values in the sandbox (it keeps no
        translations), so the path is the field's own."""
        if call.name != "TOLABEL":
            raise self._malformed(call, f"{call.name}() is only allowed in the SELECT list")
        if not isinstance(call.arg, ast.FieldRef):
            raise self._malformed(call, "toLabel() takes a picklist field")
        path = self.path(call.arg, root)
        if path.type not in ("picklist", "multipicklist") and not (path.name == "Type" and path.field is None):
            raise self._malformed(call, f"toLabel() takes a picklist field, not {path.type} field {path.name}")
        return path

    def expand_fields(self, query: ast.Query, root: ObjectDef) -> list[tuple[ast.Expr | ast.SubQuery, str | None, tuple[int, int]]]:  # fmt: skip
        """The SELECT list with FIELDS(ALL|STANDARD|CUSTOM) replaced by the fields it names."""
        items: list[tuple[ast.Expr | ast.SubQuery, str | None, tuple[int, int]]] = []
        aliases = query.aliases or (None,) * len(query.fields)
        positions = query.alias_positions or ((0, 0),) * len(query.fields)
        for expr, alias, pos in zip(query.fields, aliases, positions):
            if not (isinstance(expr, ast.Call) and expr.name == "FIELDS"):
                items.append((expr, alias, pos))
                continue
            group = expr.arg.text.upper() if expr.arg is not None else ""
            if group in ("ALL", "CUSTOM") and (query.limit is None or query.limit > MAX_FIELDS_LIMIT):
                raise SoqlError(MALFORMED_QUERY, f"The SOQL FIELDS function must have a LIMIT of at most {MAX_FIELDS_LIMIT}")  # fmt: skip
            for f in root.fields.values():
                if group == "ALL" or (group == "CUSTOM") == f.custom:
                    items.append((ast.FieldRef((f.name,), expr.line, expr.column), None, (0, 0)))
        return items

    # the whole query ---------------------------------------------------------------
    def plan(self, query: ast.Query) -> Plan:
        root = self.schema.object(query.sobject)
        if root is None:
            raise unsupported_type(self.soql, query.sobject_line, query.sobject_column, query.sobject)
        return self._plan(query, root, 0)

    def _plan(self, query: ast.Query, root: ObjectDef, depth: int) -> Plan:
        items = self.expand_fields(query, root)
        if query.offset is not None and query.offset > MAX_OFFSET:
            raise SoqlError(NUMBER_OUTSIDE_VALID_RANGE, f"Maximum SOQL offset allowed is {MAX_OFFSET}")
        subqueries = [e for e, _, _ in items if isinstance(e, ast.SubQuery)]
        if _is_aggregate(query, items):
            if depth:
                function = next((e for e, _, _ in items if isinstance(e, ast.Call) and e.name != "TOLABEL"), None)
                raise self._malformed(function or sub_position(query), "aggregate functions are not allowed in a subquery")  # fmt: skip
            if subqueries:
                raise self._malformed(subqueries[0], "an aggregate query can not have parent-to-child subqueries")
            return self.aggregate_plan(query, root, items)
        fields: list[Path] = []
        children: list[ChildPlan] = []
        seen: set[tuple[str, ...]] = set()
        for expr, alias, pos in items:
            if isinstance(expr, ast.SubQuery):
                child = self.child_plan(expr, root, query, depth + 1, len(fields))
                if any(c.relationship == child.relationship for c in children):
                    raise self._malformed(expr, f"Cannot follow the same aggregate relationship twice: {child.relationship}")
                children.append(child)
                continue
            if alias is not None:
                raise positioned(MALFORMED_QUERY, self.soql, pos[0], pos[1], "only aggregate expressions use field aliasing")  # fmt: skip
            path = self.label_path(expr, root) if isinstance(expr, ast.Call) else self.path(expr, root)
            if path.key in seen:
                raise positioned(
                    MALFORMED_QUERY, self.soql, expr.line, expr.column, f"duplicate field selected: {'.'.join(path.key)}"
                )
            seen.add(path.key)
            fields.append(path)
        where = self.condition(query.where, root) if query.where is not None else None
        order = []
        for key in query.order_by:
            if isinstance(key.field, ast.Call):
                if key.field.name in DATE_FUNCTIONS:
                    path = self.date_path(key.field, root)
                    order.append(BoundOrder(path, key.descending, key.nulls_last, (), key.field.name))
                    continue
                path = self.label_path(key.field, root)
            else:
                path = self.path(key.field, root)
            self._check_sortable(path, key.field)
            order.append(BoundOrder(path, key.descending, key.nulls_last, _picklist(path)))
        return Plan(
            root, tuple(fields), query.is_count, where, tuple(order), query.limit, query.offset or 0,
            children=tuple(children),
        )  # fmt: skip

    def child_plan(self, sub: ast.SubQuery, parent: ObjectDef, outer: ast.Query, depth: int, at: int) -> ChildPlan:
        """A subquery of `parent`'s query: its FROM names one of `parent`'s child relationships."""
        if depth > self.max_child_levels:
            levels = "1 level" if self.max_child_levels == 1 else f"{self.max_child_levels} levels"
            raise self._malformed(sub, f"SOQL statements cannot query aggregate relationships more than {levels} away from the root entity object.")  # fmt: skip
        self._subqueries += 1
        if self._subqueries > MAX_SUBQUERIES:
            raise self._malformed(sub, f"No more than {MAX_SUBQUERIES} parent-to-child relationships can be specified in a query")  # fmt: skip
        query = sub.query
        line, column = query.sobject_line, query.sobject_column
        parts = query.sobject.split(".")
        if len(parts) == 2 and parts[0].lower() == parent.name.lower():  # Account.Contacts
            column += len(parts[0]) + 1
            parts = parts[1:]
        name = parts[0] if len(parts) == 1 else query.sobject
        found = None
        for rel_name, child, fk in describe.child_relationships(parent, self.schema):
            if rel_name is not None and rel_name.lower() == name.lower():
                found = (rel_name, child, fk)
                break
        if found is None:
            raise unknown_child_relationship(self.soql, line, column, name)
        rel_name, child, fk = found
        if query.offset is not None and outer.limit != 1:
            raise positioned(
                MALFORMED_QUERY, self.soql, query.offset_line, query.offset_column,
                "OFFSET is allowed in a subquery only when the outer query has LIMIT 1",
            )  # fmt: skip
        return ChildPlan(rel_name, fk.name, self._plan(query, child, depth), at)

    def _check_sortable(self, path: Path, node) -> None:
        if path.kind == "multi" or path.long_text:
            raise positioned(
                INVALID_FIELD, self.soql, node.line, node.column, f"field '{path.name}' can not be sorted in a query call"
            )

    # aggregate queries -------------------------------------------------------------
    def measure(self, call: ast.Call, root: ObjectDef) -> Measure:
        arg = call.arg
        if isinstance(arg, ast.Call):
            path, date_fn = self.date_path(arg, root), arg.name
        else:
            path, date_fn = self.path(arg, root), None  # type: ignore[arg-type]
        ftype = path.type
        if (
            ftype in _UNAGGREGATABLE
            or path.long_text
            or (call.name in ("SUM", "AVG") and ftype not in _NUMBER_TYPES)
        ):
            raise self._malformed(call, f"field {path.name} does not support aggregate operator {call.name}")
        if call.name in ("COUNT", "COUNT_DISTINCT"):
            result, scale = "int", None
        elif call.name == "AVG":
            result, scale = ("double" if ftype == "int" else ftype), None
        elif call.name == "SUM":
            result, scale = ftype, (path.field.scale if path.field is not None and ftype != "int" else None)
        else:
            result, scale = ftype, None
        picklist = _picklist(path) if call.name in ("MIN", "MAX") else ()
        return Measure(call.name, path, date_fn, result, scale, picklist)

    def group_key(self, expr: ast.Expr, root: ObjectDef) -> GroupKey:
        if isinstance(expr, ast.Call):
            if expr.name in AGGREGATES:
                raise self._malformed(expr, f"Grouped field should not be aggregated: {expr.text}")
            if expr.name == "TOLABEL":
                return GroupKey(self.label_path(expr, root), None)
            return GroupKey(self.date_path(expr, root), expr.name)
        path = self.path(expr, root)
        if path.type in _UNGROUPABLE or path.long_text:
            raise positioned(
                INVALID_FIELD, self.soql, expr.line, expr.column, f"field '{path.name}' can not be grouped in a query call"
            )
        return GroupKey(path, None)

    def aggregate_plan(self, query: ast.Query, root: ObjectDef, items) -> Plan:
        groups = [self.group_key(e, root) for e in query.group_by]
        group_slots = {(g.path.key, g.fn): i for i, g in enumerate(groups)}
        measures: list[Measure] = []

        def slot_of(expr: ast.Expr, problem: str) -> tuple[int, Path, str | None]:
            """The slot an expression reads in a group: a grouped expression or a measure."""
            if isinstance(expr, ast.Call) and expr.name in AGGREGATES:
                m = self.measure(expr, root)
                key = (m.fn, m.path.key, m.date_fn)
                for i, other in enumerate(measures):
                    if (other.fn, other.path.key, other.date_fn) == key:
                        return len(groups) + i, _result_path(m), m.fn
                measures.append(m)
                return len(groups) + len(measures) - 1, _result_path(m), m.fn
            if isinstance(expr, ast.Call):
                g = self.group_key(expr, root)
            else:
                g = GroupKey(self.path(expr, root), None)
            slot = group_slots.get((g.path.key, g.fn))
            if slot is None:
                raise self._malformed(expr, f"{problem}: {expr.text}")
            return slot, groups[slot].path, None

        outputs: list[Output] = []
        seen: set[str] = set()
        n_expr = 0
        for expr, alias, pos in items:
            slot, path, fn = slot_of(expr, "Field must be grouped or aggregated")
            is_function = isinstance(expr, ast.Call) and expr.name != "TOLABEL"
            if alias is not None:
                key = alias
            elif is_function:
                key, n_expr = f"expr{n_expr}", n_expr + 1
            else:
                key = path.name
            if key.lower() in seen:
                line, column = pos if alias is not None else (expr.line, expr.column)
                raise positioned(MALFORMED_QUERY, self.soql, line, column, f"duplicate alias: {key}")
            seen.add(key.lower())
            grouped_field = None if is_function else path
            outputs.append(Output(key, slot, expr.text, is_function, path.type, grouped_field))
        if not query.group_by and query.limit is not None:
            raise SoqlError(MALFORMED_QUERY, "a query with aggregate functions and no GROUP BY may not have a LIMIT: it answers one row")  # fmt: skip

        def having(cond):
            if isinstance(cond, ast.Comparison):
                slot, path, _ = slot_of(cond.field, "Having field must be grouped or aggregated")
                return replace(self.test(cond, root, path), slot=slot)
            if isinstance(cond, ast.Not):
                return ast.Not(having(cond.item))
            return type(cond)(tuple(having(c) for c in cond.items))

        having_cond = having(query.having) if query.having is not None else None
        order = []
        for okey in query.order_by:
            slot, path, _ = slot_of(okey.field, "Ordered field must be grouped or aggregated")
            self._check_sortable(path, okey.field)
            order.append(BoundOrder(path, okey.descending, okey.nulls_last, _picklist(path), None, slot))
        where = self.condition(query.where, root) if query.where is not None else None
        aggregation = Aggregation(
            tuple(groups), tuple(measures), tuple(outputs), having_cond, tuple(order), bool(query.group_by)
        )
        return Plan(root, (), False, where, (), query.limit, query.offset or 0, aggregation)


def sub_position(query: ast.Query) -> ast.FieldRef:
    """Where a subquery's FROM names its relationship, for messages about the whole subquery."""
    return ast.FieldRef((query.sobject,), query.sobject_line, query.sobject_column)


def _is_aggregate(query: ast.Query, items) -> bool:
    def is_function(expr) -> bool:  # a subquery is neither
        return isinstance(expr, ast.Call) and (expr.name in AGGREGATES or expr.name in DATE_FUNCTIONS)

    return (
        bool(query.group_by)
        or query.having is not None
        or any(is_function(e) for e, _, _ in items)
        or any(isinstance(k.field, ast.Call) and k.field.name in AGGREGATES for k in query.order_by)
    )


def _picklist(path: Path) -> tuple[str, ...]:
    return tuple(path.field.picklist_values) if path.field is not None and path.type == "picklist" else ()


def _result_path(m: Measure) -> Path:
    """What a measure's value compares and sorts like."""
    if m.fn in ("MIN", "MAX"):
        return m.path
    return replace(m.path, type=m.result_type, kind="number", field=None)
