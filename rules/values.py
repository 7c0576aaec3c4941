"""What a condition's values are at run time.

rule-engine checks a condition's types (`rules/expressions.py`) and `rules/codegen.py`
generates the Python that evaluates it; both read values the same way, defined once
here: numbers as floats, dates as UTC datetimes, sets frozen, rule-engine's equality,
literals, an absent value, the time symbols.
"""
from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from rule_engine import DataType
from rule_engine.parser import Parser
from rule_engine.ast import base as ast_base
from rule_engine.ast import literal as ast_lit

UTC = dt.timezone.utc

# Symbols about "now" a condition may use; values come from the `now` passed in, never the clock.
TIME_SYMBOLS: dict[str, Any] = {
    "now": DataType.DATETIME,
    "today": DataType.DATETIME,
    "quarter_start": DataType.DATETIME,
    "quarter_end": DataType.DATETIME,
    "month_end": DataType.DATETIME,
    "year_end": DataType.DATETIME,
}
# Names a condition reads as something else than an attribute: rule-engine's words and the time symbols.
RESERVED_NAMES: frozenset[str] = frozenset(Parser.reserved_words) | frozenset(TIME_SYMBOLS)
# The lead-potential score the predictive learner puts on each lead (`score >= 0.6`): a
# lead attribute of the same name would be overwritten by it whenever a rule learns.
LEAD_SCORE = "score"


NOT_CONSTANT = object()


class Missing(Exception):
    """A value the condition needs is absent: the whole condition does not match."""


def coerce(value: Any) -> Any:
    """Our runtime representation: numbers as float, dates as UTC datetimes, sets frozen."""
    t = type(value)
    if t is bool or t is str or value is None or t is float:
        return value
    if t is int or t is decimal.Decimal:
        return float(value)
    if t is dt.datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if t is dt.date:
        return dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
    if t is set:
        return frozenset(coerce(v) for v in value)
    if t is tuple or t is list:
        return tuple(coerce(v) for v in value)
    if isinstance(value, str):  # str enums
        return str(value.value) if hasattr(value, "value") else str(value)
    return value


_NUMBERS = (int, float)


def literal_value(node: Any) -> Any:
    """The value of a literal (arrays and sets of literals included), else NOT_CONSTANT."""
    if isinstance(node, (ast_lit.ArrayExpression, ast_lit.SetExpression)):
        items = [literal_value(e) for e in node.value]
        if any(i is NOT_CONSTANT for i in items):
            return NOT_CONSTANT
        return tuple(items) if isinstance(node, ast_lit.ArrayExpression) else frozenset(items)
    if isinstance(node, ast_lit.MappingExpression) or not isinstance(node, ast_base.LiteralExpressionBase):
        return NOT_CONSTANT
    return coerce(node.value)


def eq(a: Any, b: Any) -> bool:
    """rule-engine's equality: values of different kinds are never equal (1 is not true),
    but whole and fractional numbers compare by value."""
    ta, tb = type(a), type(b)
    return a == b if ta is tb or (ta in _NUMBERS and tb in _NUMBERS) else False
