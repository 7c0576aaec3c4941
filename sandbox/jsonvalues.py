"""Stored values in the JSON form the REST API uses."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sandbox import formula
from sandbox.schema import ObjectDef


def json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        # 2024-05-01T10:00:00.000+0000: milliseconds, numeric UTC offset without colon
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"
    if isinstance(value, date):
        return value.isoformat()
    return value


def format_datetime(value: datetime) -> str:
    return json_value(value)


def record_url(version: str, sobject: str, id18: str) -> str:
    return f"/services/data/v{version}/sobjects/{sobject}/{id18}"


def record_json(obj: ObjectDef, record: dict, version: str, fields: list[str] | None = None, *,
                now: datetime) -> dict:
    """A record as GET /sobjects/X/{id} returns it: attributes, then every field (or the asked ones);
    a formula field evaluated at `now`, the org's clock as the record is read."""
    out: dict[str, Any] = {"attributes": {"type": obj.name, "url": record_url(version, obj.name, record["Id"])}}
    names = fields if fields is not None else list(obj.fields)
    for name in names:
        out[name] = json_value(formula.read(obj.fields.get(name), name, record, now))
    return out
