"""Turning a value a client sent into what the org stores, or refusing it as Salesforce does.

Accepts both JSON-decoded values (strings for dates, ints for doubles) and the
Python values the seeders pass (date, datetime). Reference existence is checked by
the store, which knows the records; this module knows only the field.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sandbox.errors import SalesforceError
from sandbox.schema import FieldDef

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TEXT_TYPES = frozenset(("string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "combobox"))


def _parser_error(value: Any, kind: str) -> SalesforceError:
    token = "VALUE_STRING" if isinstance(value, str) else f"VALUE_{type(value).__name__.upper()}"
    return SalesforceError(
        400, "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from {token} value {value} or request may be missing a required field",
    )  # fmt: skip


def to_utc_ms(value: datetime) -> datetime:
    """Salesforce keeps datetimes in UTC with millisecond precision."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def parse_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return to_utc_ms(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, str):
        try:
            return to_utc_ms(datetime.fromisoformat(value.strip()))
        except ValueError:
            pass
    raise _parser_error(value, "datetime")


def parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text[:10]) if len(text) > 10 and text[10] == "T" else date.fromisoformat(text)
        except ValueError:
            pass
    raise _parser_error(value, "date")


def _number(f: FieldDef, value: Any) -> float | int:
    if isinstance(value, bool):
        raise _parser_error(value, "double" if f.type != "int" else "int")
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise _parser_error(value, f.type) from None
    if not isinstance(value, (int, float, Decimal)):
        raise _parser_error(value, f.type)
    if f.type == "int":
        if value != int(value):
            raise _parser_error(value, "int")
        number: float | int = int(value)
    else:
        # Salesforce rounds to the field's scale half away from zero (2.5 → 3, -2.5 → -3), where
        # Python's round() goes to the even neighbour (2.5 → 2); from the decimal digits as sent
        number = _rounded(value, f.scale) if f.scale or f.precision else float(value)
    if f.precision and abs(number) >= 10 ** (f.precision - f.scale):
        raise SalesforceError(
            400, "NUMBER_OUTSIDE_VALID_RANGE",
            f"{f.label}: value outside of valid range on numeric field: {value}", [f.name],
        )  # fmt: skip
    return number


def _rounded(value: Any, scale: int) -> float:
    try:
        return float(Decimal(str(value)).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP))
    except InvalidOperation:  # beyond the digits a quantize keeps, or not finite: the range check says so
        return float(value)


def utf16_length(text: str) -> int:
    """A text's length as Salesforce holds it to a field's: in UTF-16 code units, as Java
    counts (Apex's String.length() and formula LEN count a 4-byte character, an emoji, as
    two; Salesforce Help 005166849). Not stated for the API's length check in so many
    words: this stand-in takes the stricter reading, so a client that fits it fits both."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def _text(f: FieldDef, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _parser_error(value, "String")
    text = value if isinstance(value, str) else str(value)
    if f.length and utf16_length(text) > f.length:
        raise SalesforceError(
            400, "STRING_TOO_LONG", f"{f.label}: data value too large: {text[:80]} (max length={f.length})", [f.name]
        )
    if f.type == "email" and text and not _EMAIL.match(text):
        raise SalesforceError(400, "INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {text}", [f.name])
    if f.restricted_picklist and text:
        allowed = f.picklist_values
        parts = text.split(";") if f.type == "multipicklist" else [text]
        for part in parts:
            if part not in allowed:
                raise SalesforceError(
                    400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{f.label}: bad value for restricted picklist field: {part}", [f.name],
                )  # fmt: skip
    return text


def coerce(f: FieldDef, value: Any) -> Any:
    """The stored form of `value` for field `f`; None stays None (nillability is the store's call)."""
    if value is None:
        return False if f.type == "boolean" else None
    t = f.type
    if t in _TEXT_TYPES:
        if value == "":
            return None  # Salesforce stores empty text as null
        return _text(f, value)
    if t == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _parser_error(value, "boolean")
    if t in ("double", "currency", "percent", "int"):
        return _number(f, value)
    if t == "datetime":
        return parse_datetime(value)
    if t == "date":
        return parse_date(value)
    if t in ("reference", "id"):
        if not isinstance(value, str):
            raise _parser_error(value, "id")
        return value  # the store checks the id's form and target
    return value
