"""Binding a parsed query to an org's schema: names resolved, types checked.

Everything Salesforce refuses before looking at a single row is refused here, with
its error code and a message pointing into the query: unknown object (INVALID_TYPE),
unknown field or relationship (INVALID_FIELD), a literal of the wrong type for its
field (INVALID_FIELD), an operator the field type does not support
(INVALID_QUERY_FILTER_OPERATOR), a malformed id literal, OFFSET beyond 2,000.
The result carries canonical names only, so the compiler never looks at text again.
"""
from __future__ import annotations

from dataclasses import dataclass

from sandbox import ids
from sandbox.schema import FieldDef, ObjectDef, Schema
from sandbox.soql import ast
from sandbox.soql.errors import (
    INVALID_FIELD,
    INVALID_QUERY_FILTER_OPERATOR,
    MALFORMED_QUERY,
    NUMBER_OUTSIDE_VALID_RANGE,
    SoqlError,
    no_such_column,
    positioned,
    unknown_relationship,
    unsupported_type,
)

MAX_OFFSET = 2000

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


@dataclass(frozen=True, slots=True)
class BoundOrder:
    path: Path
    descending: bool
    nulls_last: bool
    picklist: tuple[str, ...] = ()  # definition order, which is how Salesforce sorts picklists


@dataclass(frozen=True, slots=True)
class Plan:
    sobject: ObjectDef
    fields: tuple[Path, ...]
    is_count: bool
    where: object  # Test | ast.And/Or/Not of Tests | None
    order_by: tuple[BoundOrder, ...]
    limit: int | None
    offset: int


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


class Binder:
    def __init__(self, soql: str, schema: Schema):
        self.soql = soql
        self.schema = schema

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

    def test(self, cmp: ast.Comparison, root: ObjectDef) -> Test:
        path = self.path(cmp.field, root)
        op = cmp.op
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
            return Test(path, op, (lit.like,))
        return Test(path, op, tuple(self.coerce(path, v) for v in cmp.values))

    def condition(self, cond, root: ObjectDef):
        if isinstance(cond, ast.Comparison):
            return self.test(cond, root)
        if isinstance(cond, ast.Not):
            return ast.Not(self.condition(cond.item, root))
        return type(cond)(tuple(self.condition(c, root) for c in cond.items))

    # the whole query ---------------------------------------------------------------
    def plan(self, query: ast.Query) -> Plan:
        root = self.schema.object(query.sobject)
        if root is None:
            raise unsupported_type(self.soql, query.sobject_line, query.sobject_column, query.sobject)
        fields: list[Path] = []
        seen: set[tuple[str, ...]] = set()
        for ref in query.fields:
            path = self.path(ref, root)
            if path.key in seen:
                raise positioned(
                    MALFORMED_QUERY, self.soql, ref.line, ref.column, f"duplicate field selected: {'.'.join(path.key)}"
                )
            seen.add(path.key)
            fields.append(path)
        where = self.condition(query.where, root) if query.where is not None else None
        order = []
        for key in query.order_by:
            path = self.path(key.field, root)
            if path.kind == "multi" or path.long_text:
                raise positioned(
                    INVALID_FIELD, self.soql, key.field.line, key.field.column,
                    f"field '{path.name}' can not be sorted in a query call",
                )  # fmt: skip
            picklist = tuple(path.field.picklist_values) if path.field is not None and path.type == "picklist" else ()
            order.append(BoundOrder(path, key.descending, key.nulls_last, picklist))
        if query.offset is not None and query.offset > MAX_OFFSET:
            raise SoqlError(NUMBER_OUTSIDE_VALID_RANGE, f"Maximum SOQL offset allowed is {MAX_OFFSET}")
        return Plan(root, tuple(fields), query.is_count, where, tuple(order), query.limit, query.offset or 0)
