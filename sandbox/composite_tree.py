"""sObject Tree: POST /composite/tree/{type} creates nested records in one call.

The body is `{"records": [...]}`; each record carries `attributes.type` and
`attributes.referenceId` and may hold its children under a child relationship name
(`"Contacts": {"records": [...]}`), which get the parent's new id in the relationship's
lookup field. At most 200 records, 5 types, 5 levels. Records are created level by
level (every tree's root, then every second level, ...), in request order within a
level, and the answer lists them so. It is all or nothing: the first record that fails
rolls the others back and the answer is 400 with that record's referenceId and errors.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox import composite, describe, sharing
from sandbox.errors import SalesforceError
from sandbox.https_server import Request, Response
from sandbox.rest import auto_assign, sobject
from sandbox.definitions import ObjectDef

if TYPE_CHECKING:
    from sandbox.handle import RunningOrg as Sandbox

MAX_RECORDS = 200
MAX_TYPES = 5
MAX_DEPTH = 5
_REFERENCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")


@dataclass
class _Node:
    reference_id: str
    obj: ObjectDef
    fields: dict[str, Any]
    level: int
    parent: _Node | None = None
    parent_field: str | None = None
    id: str | None = None


class _Failed(Exception):
    def __init__(self, node: _Node, error: dict[str, Any]):
        super().__init__(node.reference_id)
        self.node, self.error = node, error


def _invalid(message: str, code: str = "INVALID_INPUT") -> SalesforceError:
    return SalesforceError(400, code, message)


class _Parser:
    def __init__(self, sb: Sandbox, version: str):
        self.sb, self.version = sb, version
        self.nodes: list[_Node] = []
        self.refs: set[str] = set()
        self._children: dict[str, dict[str, tuple[str, str]]] = {}

    def relationships(self, obj: ObjectDef) -> dict[str, tuple[str, str]]:
        """Child relationship name (lower case) -> (child object, its lookup field)."""
        if obj.name not in self._children:
            described = describe.describe_sobject(obj, self.sb.org.schema, self.version)
            self._children[obj.name] = {
                c["relationshipName"].lower(): (c["childSObject"], c["field"])
                for c in described["childRelationships"] if c["relationshipName"]
            }  # fmt: skip
        return self._children[obj.name]

    def records(self, value: Any, where: str) -> list[Any]:
        records = value.get("records") if isinstance(value, dict) else None
        if not isinstance(records, list) or not records:
            raise _invalid(f'{where}: expected {{"records": [...]}} with at least one record', "JSON_PARSER_ERROR")
        return records

    def walk(self, record: Any, expected: ObjectDef, level: int, parent: _Node | None, parent_field: str | None) -> None:
        if level > MAX_DEPTH:
            raise _invalid(f"sObject trees can be at most {MAX_DEPTH} levels deep")
        if not isinstance(record, dict):
            raise _invalid("each record must be a JSON object", "JSON_PARSER_ERROR")
        attributes = record.get("attributes")
        if not isinstance(attributes, dict) or not attributes.get("type") or not attributes.get("referenceId"):
            raise _invalid("each record needs attributes with its type and a referenceId", "JSON_PARSER_ERROR")
        ref = attributes["referenceId"]
        if not isinstance(ref, str) or not _REFERENCE_ID.match(ref):
            raise _invalid(f"Invalid referenceId '{ref}': start with a letter or digit; use only letters, digits and underscores")  # fmt: skip
        if ref in self.refs:
            raise _invalid(f"Duplicate ReferenceId provided in the request: {ref}")
        self.refs.add(ref)
        obj = sobject(self.sb, str(attributes["type"]))
        if obj.name != expected.name:
            raise _invalid(f"record {ref} is of type {obj.name}; at this place of the tree the type is {expected.name}")
        node = _Node(ref, obj, {}, level, parent, parent_field)
        self.nodes.append(node)
        if len(self.nodes) > MAX_RECORDS:
            raise _invalid(f"A tree request can hold at most {MAX_RECORDS} records", "LIMIT_EXCEEDED")
        for key, value in record.items():
            if key == "attributes":
                continue
            if isinstance(value, dict):
                relationship = self.relationships(obj).get(key.lower())
                if relationship is None:
                    raise _invalid(f"record {ref}: {key} is not a child relationship of {obj.name}", "INVALID_FIELD")
                child_obj = sobject(self.sb, relationship[0])
                for child in self.records(value, f"{ref}.{key}"):
                    self.walk(child, child_obj, level + 1, node, relationship[1])
            else:
                node.fields[key] = value


def create_tree(sb: Sandbox, request: Request) -> Response:
    root = sobject(sb, request.params["type"])
    parser = _Parser(sb, request.version)
    for record in parser.records(request.json(), "the request body"):
        parser.walk(record, root, 1, None, None)
    types = {n.obj.name for n in parser.nodes}
    if len(types) > MAX_TYPES:
        raise _invalid(f"A tree request can hold records of at most {MAX_TYPES} types, got {len(types)}", "LIMIT_EXCEEDED")
    ordered = sorted(parser.nodes, key=lambda n: n.level)  # stable: request order within a level
    fault = getattr(request, "record_faults", None)
    failing = fault.failing_records(len(ordered)) if fault else set()
    assign = auto_assign(request)
    try:
        with sb.org.atomic():
            for i, node in enumerate(ordered):
                _create(sb, request, node, i in failing, fault, assign)
    except _Failed as failed:
        return Response(400, {"hasErrors": True, "results": [{"referenceId": failed.node.reference_id, "errors": [failed.error]}]})  # fmt: skip
    sb.counters.add_records_written(len(ordered))
    return Response(201, {"hasErrors": False, "results": [{"referenceId": n.reference_id, "id": n.id} for n in ordered]})


def _create(sb: Sandbox, request: Request, node: _Node, faulted: bool, fault: Any, assign: bool) -> None:
    if faulted:
        raise _Failed(node, composite._fault_error(fault.code))
    fields = dict(node.fields)
    if any(k.lower() == "id" for k in fields):
        raise _Failed(node, SalesforceError(400, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: Id. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", ["Id"]).to_save_error())  # fmt: skip
    if node.parent is not None and node.parent_field:
        fields = {k: v for k, v in fields.items() if k.lower() != node.parent_field.lower()}
        fields[node.parent_field] = node.parent.id
    try:
        sharing.check_create(sb.org, request.user_id, node.obj.name, fields)
        node.id = sb.org.create(node.obj.name, fields, as_user=request.user_id, auto_assign=assign)
    except SalesforceError as exc:
        raise _Failed(node, exc.to_save_error()) from None
