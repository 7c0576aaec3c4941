"""Formula fields, evaluated when a record is read, by the org's clock.

Salesforce stores no value for a formula field: it evaluates the formula each time the record
is read (a record GET, SOQL, the UI API), and refuses a write to it. The sandbox models one
formula shape, the one the package ships (Lead.Offer_Seconds_Left__c):

    (<DateTime field> - NOW()) * <number>

a DateTime minus NOW() is a number of days, so `* 86400` gives seconds, `* 1440` minutes. A
blank DateTime gives a blank result (formulaTreatBlanksAs BlankAsBlank, which the metadata
check requires). Any other formula is refused where the metadata is read, naming this shape:
the sandbox is no formula engine, and a formula it cannot evaluate must not deploy silently.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from sandbox.definitions import FieldDef, ObjectDef

SHAPE = "(<DateTime field> - NOW()) * <number>"
_FORMULA = re.compile(
    r"\s*\(\s*(?P<field>[A-Za-z][A-Za-z0-9_]*)\s*-\s*NOW\s*\(\s*\)\s*\)\s*\*\s*(?P<factor>\d+(?:\.\d+)?)\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Formula:
    text: str
    operand: str  # the DateTime field NOW() is taken from
    factor: Decimal


@lru_cache(maxsize=64)
def parse(text: str) -> Formula:
    """The formula, or ValueError saying which shape the sandbox evaluates."""
    m = _FORMULA.fullmatch(text or "")
    if m is None:
        raise ValueError(f"the sandbox org evaluates only formulas of the shape {SHAPE}, e.g. "
                         f"(Offer_Deadline__c - NOW()) * 86400; not {text!r}")  # fmt: skip
    return Formula(text, m["field"], Decimal(m["factor"]))


def evaluate(f: FieldDef, record: dict, now: datetime) -> Any:
    """The field's value for `record` at the org's `now`: blank when its DateTime is blank,
    else rounded half away from zero to the field's scale, as Salesforce returns a Number
    formula (a float, as the REST API writes a Number)."""
    assert f.formula is not None
    formula = parse(f.formula)
    start = record.get(formula.operand)
    if not isinstance(start, datetime):
        return None
    # (start - now) in days times the factor, with no float detour for the day's 86,400 s
    delta = start - now
    micros = Decimal((delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds)
    value = micros / Decimal(86400 * 1_000_000) * formula.factor
    return float(value.quantize(Decimal(1).scaleb(-f.scale), rounding=ROUND_HALF_UP))


def read(f: FieldDef | None, name: str, record: dict, now: datetime) -> Any:
    """What a reader shows for field `name` of `record`: the stored value, or a formula's value now."""
    if f is not None and f.formula is not None:
        return evaluate(f, record, now)
    return record.get(name)


def operand_problem(obj: ObjectDef, f: FieldDef) -> str | None:
    """Why `f`'s formula cannot be evaluated on `obj`, in Salesforce's words where it has them;
    None when it can."""
    if f.formula is None:
        return None
    operand = parse(f.formula).operand
    target = obj.field(operand)
    if target is None:
        return f"Formula of {obj.name}.{f.name}: Field {operand} does not exist. Check spelling."
    if target.type != "datetime":
        return (f"Formula of {obj.name}.{f.name}: {operand} is a {target.type} field; the sandbox org evaluates "
                f"{SHAPE} with a DateTime field only")  # fmt: skip
    return None
