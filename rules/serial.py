"""A decision as JSON in one pass: `decision_json(d)` is `json.dumps(jsonable(d))` without
building the intermediate copy (jobs.lifecycle.jsonable walks every field of every
nested value in Python; here the C encoder walks it and calls back only for what it
cannot write itself: dataclasses, enums, datetimes, sets). Same text, byte for byte,
for the same separators: the benchmark and tests/rules/test_serial.py hold it to that.

`compact_audit(d)` is the audit entry without what it repeats (the explanation's own
lead id, kind, summary and rule set are the decision's) or what is empty.
"""
from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timezone
from enum import Enum
from typing import Any

_FIELDS: dict[type, tuple[str, ...]] = {}
_REPEATED = frozenset(("lead_id", "kind", "summary", "ruleset"))  # explanation keys the decision already holds


_STAMPS: dict[datetime, str] = {}  # a run's decisions share their moments: `now`, a deadline per offer window


def _stamp(value: datetime) -> str:
    """Salesforce's REST datetime (the form jobs.timeutil.format_sf_datetime writes)."""
    text = _STAMPS.get(value)
    if text is None:
        utc = value.astimezone(timezone.utc)  # equal instants in any zone: the same text
        text = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"
        if len(_STAMPS) >= 1024:
            _STAMPS.clear()
        _STAMPS[value] = text
    return text


def _scalar(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return _stamp(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _default(value: Any) -> Any:
    names = _FIELDS.get(type(value))
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[type(value)] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return {name: getattr(value, name) for name in names}
    if isinstance(value, (Enum, date)):
        return _scalar(value)
    if isinstance(value, (set, frozenset)):
        return sorted(_scalar(v) for v in value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable: {value!r:.80}")


# Without the circular-reference check (a set of every dict and list's id, kept while
# encoding): the same text ~15 % sooner; a decision is a tree, and one that were not
# would fail all the same (RecursionError instead of ValueError).
_ENCODE = json.JSONEncoder(default=_default, check_circular=False).encode


def to_json(value: Any, *, separators: tuple[str, str] | None = None) -> str:
    """Any decision-shaped value (dataclasses, enums, datetimes, sets, dicts, lists) as JSON."""
    if separators is None:
        return _ENCODE(value)
    return json.dumps(value, default=_default, separators=separators, check_circular=False)


def decision_json(decision: Any, *, separators: tuple[str, str] | None = None) -> str:
    """The full decision, explanation included, as JSON text."""
    return to_json(decision, separators=separators)


def compact_audit(decision: Any) -> dict[str, Any]:
    """The decision for the audit log, without repeats and empties: a dict of JSON-ready
    values and dataclasses (pass it to `to_json`). Two levels deep only (the explanation
    and each rule tried): a deeper walk would cost what it saves in bytes."""
    names = _FIELDS.get(type(decision)) or tuple(_default(decision))
    out = {name: value for name in names if (value := getattr(decision, name)) is not None}
    explanation = out.get("explanation")
    if isinstance(explanation, dict):
        slim = {k: v for k, v in explanation.items() if k not in _REPEATED and v is not None and v != [] and v != {}}
        tried = slim.get("rules")
        if isinstance(tried, list):
            slim["rules"] = [{k: v for k, v in r.items() if v is not None and v != [] and v != {}}
                             if isinstance(r, dict) else r for r in tried]  # fmt: skip
        out["explanation"] = slim
    return out
