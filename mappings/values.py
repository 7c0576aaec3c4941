"""Per-record values: the Bad marker and the coercion into each attribute type.

Bad data is returned, not raised: a Bad travels up to the converter, which turns it
into `<field>: <why>` on an Unroutable — exceptions stay off the hot path.
"""
from __future__ import annotations

import json
import math
from datetime import date, datetime, timezone
from typing import Any, Callable

from .sfid import to18


class Bad:
    """Why a value could not be used. `soft`: keep `keep` (maybe None) and only warn."""

    __slots__ = ("why", "soft", "keep")

    def __init__(self, why: str, soft: bool = False, keep: Any = None):
        self.why = why
        self.soft = soft
        self.keep = keep

    def __repr__(self) -> str:
        return f"Bad({self.why!r}{', soft' if self.soft else ''})"


def show(value: Any, limit: int = 40) -> str:
    """A value quoted for a reason that must fit 255 chars: text in double quotes as written
    (an admin reads the Lead's reason; Python's repr quoted it in single quotes, or double
    ones when it held an apostrophe), a control character escaped so the reason stays one
    line; anything else as it prints."""
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= limit else text[: limit - 2] + '…"'
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def to_string(v: Any) -> Any:
    if type(v) is str:
        return v
    if isinstance(v, (bool, int, float)):
        return str(v).lower() if isinstance(v, bool) else str(v)
    return Bad(f"expected text, got {type(v).__name__} {show(v)}")


def to_int(v: Any) -> Any:
    t = type(v)
    if t is int:
        return v
    if t is float:
        # Number(18,0) fields come back as 42.0
        return int(v) if v.is_integer() else Bad(f"expected a whole number, got {show(v)}")
    if t is str:
        text = v.strip()
        if text.lstrip("+-").isdigit():
            return int(text)
        as_float = to_float(text)
        if type(as_float) is float and as_float.is_integer():
            return int(as_float)
        return Bad(f"expected a whole number, got {show(v)}")
    return Bad(f"expected a whole number, got {type(v).__name__} {show(v)}")


def to_float(v: Any) -> Any:
    t = type(v)
    if t is float:
        return v if math.isfinite(v) else Bad(f"expected a finite number, got {show(v)}")
    if t is int:
        return float(v)
    if t is str:
        try:
            out = float(v.strip())
        except ValueError:
            return Bad(f"expected a number, got {show(v)}")
        return out if math.isfinite(out) else Bad(f"expected a finite number, got {show(v)}")
    return Bad(f"expected a number, got {type(v).__name__} {show(v)}")


def to_bool(v: Any) -> Any:
    if v is True or v is False:
        return v
    if type(v) is str:
        low = v.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    if type(v) is int and v in (0, 1):
        return bool(v)
    return Bad(f"expected a checkbox value true or false, got {show(v)}")


def to_date(v: Any) -> Any:
    t = type(v)
    if t is date:
        return v
    if t is datetime:
        return v.date()
    if t is str:
        text = v.strip()
        try:
            return date.fromisoformat(text[:10]) if len(text) >= 10 and (len(text) == 10 or text[10] == "T") else date.fromisoformat(text)
        except ValueError:
            return Bad(f"expected a date like 2024-05-01, got {show(v)}")
    return Bad(f"expected a date, got {type(v).__name__} {show(v)}")


_UTC = timezone.utc


def to_datetime(v: Any) -> Any:
    t = type(v)
    if t is str:
        try:
            out = datetime.fromisoformat(v.strip())
        except ValueError:
            return Bad(f"expected a date-time like 2024-05-01T10:00:00.000+0000, got {show(v)}")
        if out.tzinfo is _UTC:  # "+0000" parses to the UTC singleton: nothing to convert
            return out
        # Salesforce always sends an offset; a bare time from a text field is read as UTC
        return out.replace(tzinfo=_UTC) if out.tzinfo is None else out.astimezone(_UTC)
    if t is datetime:
        return v.replace(tzinfo=_UTC) if v.tzinfo is None else v.astimezone(_UTC)
    if t is date:
        return datetime(v.year, v.month, v.day, tzinfo=_UTC)
    return Bad(f"expected a date-time, got {type(v).__name__} {show(v)}")


def to_id(v: Any) -> Any:
    if type(v) is str:
        out = to18(v.strip())
        if out is not None:
            return out
    return Bad(f"not a Salesforce id (15 or 18 letters and digits): {show(v)}")


def _elements(v: Any) -> Any:
    if type(v) is str:
        return [v]
    if isinstance(v, (list, tuple, set, frozenset)):
        out = []
        for x in v:
            if x is None or x == "":
                continue
            s = to_string(x)
            if type(s) is Bad:
                return s
            out.append(s)
        return out
    return Bad(f"expected a list of values, got {type(v).__name__} {show(v)}")


def to_set(v: Any) -> Any:
    items = _elements(v)
    return items if type(items) is Bad else frozenset(items)


def to_list(v: Any) -> Any:
    items = _elements(v)
    return items if type(items) is Bad else tuple(items)


COERCE: dict[str, Callable[[Any], Any]] = {
    "string": to_string, "int": to_int, "float": to_float, "bool": to_bool, "date": to_date,
    "datetime": to_datetime, "id": to_id, "set": to_set, "list": to_list,
}
