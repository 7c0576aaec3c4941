"""Change event schemas and payloads, Avro-encoded the way Salesforce serves them.

One schema per selected object (`LeadChangeEvent`, `AccountChangeEvent`): first the
`ChangeEventHeader` record, then every field the object's change events carry, each
nullable with a null default. A change event carries only what changed: on CREATE and
UNDELETE every non-null field, on UPDATE the changed ones, on DELETE none. The header's
`changedFields`, `nulledFields` and `diffFields` are bitmaps, as the Pub/Sub API sends
them: a hex string ("0x…") whose bit n (least significant first) stands for the n-th
field of the schema (the header is field 0).

Left out, as in Salesforce: the Id (it is in `recordIds`), IsDeleted and SystemModstamp,
and calculated fields. Compound fields (Name, Address) stay flat here, where Salesforce
nests them as records with their own "parent-0x…" bitmaps.
"""
from __future__ import annotations

import hashlib
import io
import json
from datetime import date, datetime, timezone
from typing import Any

import fastavro

from sandbox.schema import FieldDef, ObjectDef

NAMESPACE = "com.sforce.eventbus"
CHANGE_TYPES = ("CREATE", "UPDATE", "DELETE", "UNDELETE", "GAP_CREATE", "GAP_UPDATE", "GAP_DELETE",
                "GAP_UNDELETE", "GAP_OVERFLOW")
_LEFT_OUT = frozenset(("Id", "IsDeleted", "SystemModstamp"))
_EPOCH = date(1970, 1, 1)

HEADER = {
    "type": "record", "name": "ChangeEventHeader", "namespace": NAMESPACE,
    "fields": [
        {"name": "entityName", "type": "string"},
        {"name": "recordIds", "type": {"type": "array", "items": "string"}},
        {"name": "changeType", "type": {"type": "enum", "name": "ChangeType", "namespace": NAMESPACE,
                                        "symbols": list(CHANGE_TYPES)}},
        {"name": "changeOrigin", "type": "string"},
        {"name": "transactionKey", "type": "string"},
        {"name": "sequenceNumber", "type": "int"},
        {"name": "commitTimestamp", "type": "long"},
        {"name": "commitNumber", "type": "long"},
        {"name": "commitUser", "type": "string"},
        {"name": "nulledFields", "type": {"type": "array", "items": "string"}},
        {"name": "diffFields", "type": {"type": "array", "items": "string"}},
        {"name": "changedFields", "type": {"type": "array", "items": "string"}},
    ],
}  # fmt: skip


def topic_entity(topic: str) -> str | None:
    """'/data/LeadChangeEvent' -> 'Lead'; None for anything else."""
    if topic.startswith("/data/") and topic.endswith("ChangeEvent") and topic != "/data/ChangeEvent":
        name = topic[len("/data/"):-len("ChangeEvent")]
        return name[:-2] + "__c" if name.endswith("__") else name
    return None


def _avro_type(f: FieldDef) -> Any:
    if f.type == "boolean":
        return "boolean"
    if f.type == "int":
        return "int"
    if f.type in ("double", "currency", "percent"):
        return "double"
    if f.type == "date":
        return {"type": "int", "logicalType": "date"}
    if f.type == "datetime":
        return {"type": "long", "logicalType": "timestamp-millis"}
    return "string"


class EventSchema:
    """One object's change event schema: JSON as served, its id, and the field order."""

    def __init__(self, obj: ObjectDef):
        self.entity = obj.name
        self.fields = [f for f in obj.fields.values() if f.name not in _LEFT_OUT and not f.calculated]
        self.json = json.dumps({
            "type": "record", "name": f"{obj.name.removesuffix('__c')}ChangeEvent", "namespace": NAMESPACE,
            "fields": [{"name": "ChangeEventHeader", "type": HEADER}]
            + [{"name": f.name, "type": ["null", _avro_type(f)], "doc": f"Data:{f.type}", "default": None}
               for f in self.fields],
        }, separators=(",", ":"))  # fmt: skip
        # Salesforce's schema ids are fingerprints of the schema: the same schema, the same id
        self.id = hashlib.sha256(self.json.encode()).hexdigest()[:22]
        self.parsed = fastavro.parse_schema(json.loads(self.json))
        self.position = {f.name: i + 1 for i, f in enumerate(self.fields)}  # 0 is the header

    def bitmap(self, names: list[str]) -> list[str]:
        bits = 0
        for name in names:
            if name in self.position:
                bits |= 1 << self.position[name]
        return [f"0x{bits:X}"] if bits else []

    def encode(self, header: dict, values: dict[str, Any]) -> bytes:
        record = {"ChangeEventHeader": header}
        for f in self.fields:
            record[f.name] = _avro_value(f, values.get(f.name))
        out = io.BytesIO()
        fastavro.schemaless_writer(out, self.parsed, record)
        return out.getvalue()


def _avro_value(f: FieldDef, value: Any) -> Any:
    if value is None:
        return None
    if f.type == "datetime" and isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if f.type == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    if f.type == "int":
        return int(value)
    if f.type in ("double", "currency", "percent"):
        return float(value)
    if f.type == "boolean":
        return bool(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)
