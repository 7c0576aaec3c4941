"""Lead-only and partner-only conditions, written in rule-engine's typed language.

rule-engine parses and type-checks each expression against the attribute schema the
mappings layer provides, so `ratng == "Hot"` fails at load time with "did you mean
'rating'". Evaluation then runs through a small closure tree built from rule-engine's
own checked AST: the interpreter costs 12–25 µs per call, the closures about 1 µs,
which is what lets a decision try several conditions inside a 50 µs budget. Nodes we
do not translate fall back to rule-engine's evaluator, and a property test holds the
two to the same answers.

One policy on top of rule-engine: a condition that needs a value the record lacks
(`amount >= 50000` on a lead without an amount) does not match, rather than raising.
"""
from __future__ import annotations

import datetime as dt
import decimal
import functools
import operator
import types as pytypes
import typing
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any, Callable, Mapping

import rule_engine
from rule_engine import DataType, errors as re_errors
from rule_engine.ast import base as ast_base
from rule_engine.ast import literal as ast_lit
from rule_engine.ast.binary import CoalesceExpression
from rule_engine.ast.binary.comparison import (
    ArithmeticComparisonExpression,
    ComparisonExpression,
    LogicExpression,
)
from rule_engine.ast.expression.access import ContainsExpression
from rule_engine.ast.expression.control import UnaryExpression
from rule_engine.ast.expression.resolution import SymbolExpression

from rules.values import NOT_CONSTANT as _NOT_CONSTANT  # noqa: F401
from rules.values import TIME_SYMBOLS, UTC, literal_value  # noqa: F401
from rules.values import Missing as _Missing  # noqa: F401
from rules.values import coerce as _coerce  # noqa: F401
from rules.values import eq as _eq  # noqa: F401

@functools.lru_cache(maxsize=256)  # a routing run decides a whole batch at one `now`
def time_values(now: dt.datetime) -> dict[str, dt.datetime]:
    """The TIME_SYMBOLS for one moment (UTC calendar)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    now = now.astimezone(UTC)
    today = dt.datetime(now.year, now.month, now.day, tzinfo=UTC)
    q0 = (now.month - 1) // 3 * 3 + 1
    quarter_start = dt.datetime(now.year, q0, 1, tzinfo=UTC)
    next_q = dt.datetime(now.year + (q0 == 10), 1 if q0 == 10 else q0 + 3, 1, tzinfo=UTC)
    next_m = dt.datetime(now.year + (now.month == 12), 1 if now.month == 12 else now.month + 1, 1, tzinfo=UTC)
    last = dt.timedelta(microseconds=1)
    return {
        "now": now,
        "today": today,
        "quarter_start": quarter_start,
        "quarter_end": next_q - last,
        "month_end": next_m - last,
        "year_end": dt.datetime(now.year + 1, 1, 1, tzinfo=UTC) - last,
    }


# ---------------------------------------------------------------- schema

def datatype_of(hint: Any) -> Any:
    """rule-engine type for a Python annotation. Optional values are declared as their
    base type: rule-engine would otherwise demand `??` on every comparison, which ops
    should not have to write; a missing value simply makes the condition not match."""
    if DataType.is_definition(hint):
        return hint
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is pytypes.UnionType:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return datatype_of(args[0]) if len(args) == 1 else DataType.UNDEFINED
    if origin in (frozenset, set):
        (inner,) = typing.get_args(hint) or (Any,)
        sub = datatype_of(inner)
        return DataType.SET(sub) if sub is not DataType.UNDEFINED else DataType.SET
    if origin in (list, tuple):
        items = typing.get_args(hint)
        sub = datatype_of(items[0]) if items else DataType.UNDEFINED
        return DataType.ARRAY(sub) if sub is not DataType.UNDEFINED and (origin is list or (len(items) == 2 and items[1] is Ellipsis)) else DataType.ARRAY
    if origin is dict or hint is dict:
        return DataType.MAPPING
    if hint in (frozenset, set):
        return DataType.SET
    if hint in (list, tuple):
        return DataType.ARRAY
    if hint is bool:
        return DataType.BOOLEAN
    if hint in (int, float, decimal.Decimal):
        return DataType.FLOAT
    if hint is str:
        return DataType.STRING
    if hint in (dt.date, dt.datetime):
        return DataType.DATETIME
    if hint is dt.timedelta:
        return DataType.TIMEDELTA
    return DataType.UNDEFINED


def schema_of(attributes: Mapping[str, Any] | type) -> dict[str, Any]:
    """Attribute name → rule-engine type, from a dataclass or a name → Python-type dict.

    A dataclass's `extra` dict is not itself a symbol: the mappings layer lists extra
    attributes by name in the dict form.
    """
    if isinstance(attributes, type):
        if not is_dataclass(attributes):
            raise TypeError(f"attributes come from a dataclass or a name → type mapping, not {attributes!r}")
        hints = typing.get_type_hints(attributes)
        return {f.name: datatype_of(hints[f.name]) for f in fields(attributes) if f.name != "extra"}
    return {name: datatype_of(hint) for name, hint in attributes.items()}


# ---------------------------------------------------------------- compiling

class ExpressionError(Exception):
    def __init__(self, message: str, fix: str | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix





def _re_resolver(thing: Any, name: str) -> Any:
    """Symbol lookup for rule-engine's own evaluator (the fallback path)."""
    record, tv = thing
    if name in tv:
        return tv[name]
    try:
        value = getattr(record, name)
    except AttributeError:
        extra = getattr(record, "extra", None) or {}
        if name not in extra:
            raise re_errors.SymbolResolutionError(name)
        value = extra[name]
    if isinstance(value, frozenset):
        return set(value)
    if isinstance(value, Enum):  # a str Enum (Tier.GOLD) resolves to its text
        return str(value.value)
    return value


def _symbol_getter(name: str, direct: frozenset[str]) -> Callable[[Any], Any]:
    if name in TIME_SYMBOLS:
        return lambda t: t[1][name]
    if name in direct:
        get = operator.attrgetter(name)

        def from_attr(t: Any) -> Any:
            return _coerce(get(t[0]))
        return from_attr

    def from_extra(t: Any) -> Any:
        extra = getattr(t[0], "extra", None)
        return _coerce(extra.get(name)) if extra else None
    return from_extra


_ORDERED = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}


class _Builder:
    def __init__(self, direct: frozenset[str]):
        self.direct = direct

    def build(self, node: Any) -> Callable[[Any], Any]:
        constant = self.constant(node)
        if constant is not _NOT_CONSTANT:
            return lambda t: constant
        if isinstance(node, (ast_lit.ArrayExpression, ast_lit.SetExpression)):
            parts = [self.build(e) for e in node.value]
            make = tuple if isinstance(node, ast_lit.ArrayExpression) else frozenset
            return lambda t: make(part(t) for part in parts)
        if isinstance(node, ast_base.LiteralExpressionBase) and not isinstance(node, ast_lit.MappingExpression):
            value = _coerce(node.value)
            return lambda t: value
        if isinstance(node, SymbolExpression) and node.scope is None:
            return _symbol_getter(node.name, self.direct)
        if isinstance(node, LogicExpression):
            left, right = self.build(node.left), self.build(node.right)
            if node.type == "and":
                return lambda t: bool(left(t) and right(t))
            return lambda t: bool(left(t) or right(t))
        if isinstance(node, ArithmeticComparisonExpression) and node.type in _ORDERED:
            return self._ordered(node)
        if type(node) is ComparisonExpression and node.type in ("eq", "ne"):
            left, right = self.build(node.left), self.build(node.right)
            if node.type == "eq":
                return lambda t: _eq(left(t), right(t))
            return lambda t: not _eq(left(t), right(t))
        if isinstance(node, ContainsExpression):
            return self._contains(node)
        if isinstance(node, UnaryExpression) and node.type == "not":
            inner = self.build(node.right)
            return lambda t: not inner(t)
        if isinstance(node, CoalesceExpression):
            left, right = self.build(node.left), self.build(node.right)

            def coalesce(t: Any) -> Any:
                v = left(t)
                return right(t) if v is None else v
            return coalesce
        return self._fallback(node)

    def constant(self, node: Any) -> Any:
        return literal_value(node)

    def _ordered(self, node: Any) -> Callable[[Any], Any]:
        op = _ORDERED[node.type]
        left, right = self.build(node.left), self.build(node.right)

        def compare(t: Any) -> bool:
            a, b = left(t), right(t)
            if a is None or b is None:
                if a is None and b is None:
                    return node.type in ("le", "ge")
                raise _Missing
            if type(a) is not type(b):
                raise _Missing
            holds: bool = op(a, b)
            return holds
        return compare

    def _contains(self, node: Any) -> Callable[[Any], Any]:
        member = self.build(node.member)
        items = self.constant(node.container)
        if items is not _NOT_CONSTANT and items is not None:
            if isinstance(items, str):
                def in_text(t: Any) -> bool:
                    m = member(t)
                    if type(m) is not str:
                        raise _Missing
                    return m in items
                return in_text
            try:
                lookup = frozenset((type(v), v) for v in items)
            except TypeError:
                lookup = None
            if lookup is not None:
                return lambda t: (type(m := member(t)), m) in lookup
        container = self.build(node.container)

        def contains(t: Any) -> bool:
            c, m = container(t), member(t)
            if c is None:
                raise _Missing
            if type(c) is str:
                if type(m) is not str:
                    raise _Missing
                return m in c
            try:
                return m in c
            except TypeError:
                return False
        return contains

    def _fallback(self, node: Any) -> Callable[[Any], Any]:
        def interpret(t: Any) -> Any:
            try:
                return _coerce(node.evaluate(t))
            except (re_errors.EvaluationError, TypeError, decimal.InvalidOperation):
                raise _Missing
        return interpret


class Condition:
    """A compiled, type-checked condition. `matches(record, time_vars)`."""

    __slots__ = ("text", "symbols", "rule", "matches", "always")

    def __init__(self, text: str, rule: rule_engine.Rule, fast: Callable[[Any, Any], bool], symbols: frozenset[str]):
        self.text = text
        self.rule = rule
        # matches(record, time_vars) -> bool: the generated function itself, which reads an
        # absent value, or one of the wrong kind in this record, as "does not match"
        self.matches = fast
        self.symbols = symbols
        self.always = text.strip().lower() in ("", "true")

    def matches_interpreted(self, record: Any, tv: Mapping[str, Any]) -> bool:
        """rule-engine's own evaluation; the reference the fast path is tested against."""
        try:
            return bool(self.rule.matches((record, tv)))
        except (re_errors.EvaluationError, TypeError, decimal.InvalidOperation):
            return False

    def __repr__(self) -> str:
        return f"Condition({self.text!r})"


class Compiler:
    """Compiles conditions against one schema (lead or partner)."""

    def __init__(self, schema: Mapping[str, Any], *, direct: frozenset[str] | None = None, with_time: bool = True):
        types_ = dict(schema)
        self.schema = dict(schema)
        if with_time:
            types_.update(TIME_SYMBOLS)
        self.names = frozenset(types_)
        self.context = rule_engine.Context(
            type_resolver=rule_engine.type_resolver_from_dict(types_),
            resolver=_re_resolver,
            default_timezone="utc",
            mapping_attribute_lookup=False,
        )
        self.builder = _Builder(direct if direct is not None else frozenset(schema))

    def _same_type_fix(self, text: str) -> str:
        """How to write the value the attribute compares with; for a date, how to write a date."""
        import re

        used = [n for n in sorted(self.schema) if re.search(rf"\b{re.escape(n)}\b", text)]
        dated = [n for n in used if self.schema[n] in (dt.date, dt.datetime) or getattr(self.schema[n], "name", "") == "DATETIME"]
        if dated:
            n = dated[0]
            return (f"{n} is a date: write a date as d\"2026-12-31\" (a date and time as d\"2026-12-31T17:00:00Z\"), "
                    f"or compare with today, quarter_end, month_end, year_end — e.g. {n} <= d\"2026-12-31\"")
        numeric = [n for n in used if self.schema[n] in (int, float) or getattr(self.schema[n], "name", "") == "FLOAT"]
        if numeric:
            return f"{numeric[0]} is a number: write it without quotes, e.g. {numeric[0]} >= 10000"
        return "compare values of the same type (numbers with numbers, text with quoted text)"

    def compile(self, text: str) -> Condition:
        from rules.bounded import RegexRefused, TooDeep, bound_regexes, check_depth

        source = text if text.strip() else "true"
        try:
            check_depth(source)  # before the recursive parser sees it
        except TooDeep as exc:
            raise ExpressionError(exc.message, exc.fix) from None
        try:
            rule = rule_engine.Rule(source, context=self.context)
        except re_errors.SymbolResolutionError as exc:
            from rules.errors import nearest

            guess = nearest(exc.symbol_name, self.names) or exc.suggestion  # by meaning first: lead_source → source
            fix = f"did you mean {guess!r}?" if guess else "known attributes: " + ", ".join(sorted(self.names))
            raise ExpressionError(f"unknown attribute {exc.symbol_name!r} in {text!r}", fix) from None
        except re_errors.RuleSyntaxError as exc:
            token = getattr(exc, "token", None)
            at = f" near {token.value!r}" if token is not None and getattr(token, "value", None) else " (incomplete expression)"
            raise ExpressionError(
                f"syntax error{at} in {text!r}",
                "rule-engine syntax: ==, !=, <, >=, and, or, not, 'x' in products, [\"a\", \"b\"] arrays",
            ) from None
        except re_errors.EngineError as exc:
            raise ExpressionError(f"{exc.message if hasattr(exc, 'message') else exc} in {text!r}",
                                  self._same_type_fix(text)) from None
        except (RecursionError, MemoryError):  # the text checks above should make this unreachable
            raise ExpressionError(f"condition too deeply nested to read: {text[:80]!r}…", TooDeep("").fix) from None
        try:
            bound_regexes(rule.statement.expression)
        except RegexRefused as exc:
            raise ExpressionError(exc.message, exc.fix) from None
        from rules.codegen import CodeGen  # imports this module's helpers

        try:
            fast = CodeGen(self.schema, self.builder.direct, self.builder.build).compile(rule.statement.expression)
        except (RecursionError, MemoryError, SyntaxError):  # Python's own nesting limits
            raise ExpressionError(f"condition too deeply nested to compile: {text[:80]!r}…", TooDeep("").fix) from None
        return Condition(text, rule, fast, frozenset(self.context.symbols))
