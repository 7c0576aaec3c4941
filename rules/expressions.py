"""Lead-only and partner-only conditions, written in rule-engine's typed language.

rule-engine parses and type-checks each expression against the attribute schema the
mappings layer provides, so `ratng == "Hot"` fails at load time with "did you mean
'rating'". Decisions then evaluate a condition one way only: the Python function
`rules/codegen.py` generates from rule-engine's checked AST (a few hundred nanoseconds,
where rule-engine's interpreter costs 12–25 µs), which hands the nodes it does not
translate (regular expressions, arithmetic, set operators) to rule-engine's evaluator.
`Condition.matches_interpreted` — rule-engine evaluating the whole condition — is not a
second path for decisions: it is the reference a property test holds the generated
code to (tests/rules/test_expressions.py).

One policy on top of rule-engine: a condition that needs a value the record lacks
(`amount >= 50000` on a lead without an amount) does not match, rather than raising.
"""
from __future__ import annotations

import datetime as dt
import decimal
import functools
import re
import types as pytypes
import typing
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any, Callable, Mapping

import rule_engine
from rule_engine import DataType, errors as re_errors

from rules.bounded import RegexRefused, TooDeep, _nodes, bound_regexes, check_depth
from rules.codegen import CodeGen
from rules.errors import nearest
from rules.literals import respell_compared
from rules.fiscal import UTC_CALENDAR, OrgCalendar, months_after as _months_after
from rules.values import TIME_SYMBOLS, UTC


@functools.lru_cache(maxsize=256)  # a routing run decides a whole batch at one `now`
def time_values(now: dt.datetime, calendar: OrgCalendar = UTC_CALENDAR) -> dict[str, dt.datetime]:
    """The TIME_SYMBOLS for one moment: `now` itself, and the org's calendar (rules/fiscal.py):
    its time zone's today, its fiscal quarter and year, each day written as rules write
    dates, midnight UTC."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    now = now.astimezone(UTC)
    today = calendar.day(now)
    last = dt.timedelta(microseconds=1)
    return {
        "now": now,
        "today": today,
        "quarter_start": calendar.quarter_start(now),
        "quarter_end": calendar.quarter_end(now),
        "month_end": _months_after(today.replace(day=1), 1) - last,
        "year_end": calendar.year_end(now),
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
    def __init__(self, message: str, fix: str | None = None, symbol: str | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.symbol = symbol  # the unknown attribute, when that is what is wrong


def _re_resolver(thing: Any, name: str) -> Any:
    """Symbol lookup for rule-engine's evaluator: the nodes the generated code hands it,
    and the reference evaluation (`matches_interpreted`)."""
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


class Condition:
    """A compiled, type-checked condition. `matches(record, time_vars)`."""

    __slots__ = ("text", "symbols", "rule", "matches", "always", "_reads")

    def __init__(self, text: str, rule: rule_engine.Rule, fast: Callable[[Any, Any], bool], symbols: frozenset[str]):
        self.text = text
        self.rule = rule
        # matches(record, time_vars) -> bool: the generated function itself, which reads an
        # absent value, or one of the wrong kind in this record, as "does not match"
        self.matches = fast
        self.symbols = symbols
        self.always = text.strip().lower() in ("", "true")
        self._reads: tuple[str, ...] | None = None  # the attributes its own AST names, once asked

    def matches_interpreted(self, record: Any, tv: Mapping[str, Any]) -> bool:
        """rule-engine's own evaluation; the reference the fast path is tested against."""
        try:
            return bool(self.rule.matches((record, tv)))
        except (re_errors.EvaluationError, TypeError, OverflowError, decimal.InvalidOperation):
            return False

    def holds_values(self, record: Any, tv: Mapping[str, Any]) -> bool:
        """Whether the record holds every value this condition reads (none missing or null)."""
        if self._reads is None:
            from rule_engine.ast import SymbolExpression

            self._reads = tuple(sorted({n.name for n in _nodes(self.rule.statement.expression)
                                        if isinstance(n, SymbolExpression)}))
        for name in self._reads:
            if name in tv:
                continue
            try:
                if _re_resolver((record, tv), name) is None:
                    return False
            except re_errors.SymbolResolutionError:
                return False
        return True

    def evaluation_error(self, record: Any, tv: Mapping[str, Any]) -> str | None:
        """Why this condition cannot be evaluated on a record that holds every value it reads
        (`amount / (amount - amount)`), as rule-engine says it; None when it can be, or when a
        value it reads is missing (no match, by policy, not an error). Decisions never ask:
        an error is no match there; `leadrouter validate` asks, over the org's leads."""
        if not self.holds_values(record, tv):
            return None
        try:
            self.rule.evaluate((record, tv))
        except re_errors.ArithmeticError as exc:
            cause = exc.__context__
            if cause is not None and not isinstance(cause, ZeroDivisionError) and "division" not in str(exc):
                return f"a number too large to compute (overflow: {type(cause).__name__})"
            return str(exc.message)
        except re_errors.EvaluationError as exc:
            return str(exc.message)
        except (TypeError, OverflowError, ValueError, decimal.InvalidOperation) as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    def __repr__(self) -> str:
        return f"Condition({self.text!r})"


def _set_compared_with_null(expression: Any) -> str | None:
    """The set attribute an `==` / `!=` compares with null, if any."""
    from rule_engine.ast import ComparisonExpression, NullExpression, SymbolExpression

    for node in _nodes(expression):
        if isinstance(node, ComparisonExpression) and node.type in ("eq", "ne"):
            for one, other in ((node.left, node.right), (node.right, node.left)):
                if (isinstance(one, SymbolExpression) and isinstance(other, NullExpression)
                        and getattr(one.result_type, "name", "") == "SET"):
                    return str(one.name)
    return None


_DIVISIONS = {"tdiv": "/", "fdiv": "//", "mod": "%"}


def _divided_by_zero(expression: Any) -> str | None:
    """`amount / 0`, `amount % (1 - 1)`: a division by a constant zero (rule-engine has worked
    out the constant part as it read) errs for every record; the division as written, if any."""
    from rule_engine.ast import ArithmeticExpression, FloatExpression, SymbolExpression

    for node in _nodes(expression):
        if (isinstance(node, ArithmeticExpression) and node.type in _DIVISIONS
                and isinstance(node.right, FloatExpression) and node.right.value == 0):
            left = node.left.name if isinstance(node.left, SymbolExpression) else "…"
            return f"{left} {_DIVISIONS[node.type]} 0"
    return None


def _symbols_read(expression: Any) -> frozenset[str]:
    """The names this condition reads. Not the compiler's context's symbols: one context
    serves every condition of a rule file and gathers the names of all conditions read so
    far, so a gate check failing on `amount` blamed an unreadable Country another check read."""
    from rule_engine.ast import SymbolExpression

    return frozenset(n.name for n in _nodes(expression) if isinstance(n, SymbolExpression) and not n.scope)


def _arithmetic_error(exc: Exception, text: str) -> ExpressionError:
    """rule-engine's 'arithmetic error' on a constant part, said for what it is: a division
    by zero, or a number past the largest one a condition can hold."""
    if "division by zero" in str(getattr(exc, "message", exc)):
        return ExpressionError(f"division by zero in {text!r}: the condition has no value for any lead",
                               "divide by a number other than 0, or leave the division out")
    return ExpressionError(f"a number in {text!r} is too large to compute (overflow): it is past the largest "
                           "number a condition can hold",
                           "write the number the condition means (e.g. amount < 1e12), not a power that "
                           "overflows")


def _unquoted_value(symbol: str, source: str) -> str | None:
    """The fix when the unknown name is a value written without quotes (rating == Hot, a
    list [Web, "Partner"]): not the attribute spelt most like it."""
    name = re.escape(symbol)
    compared = re.search(rf"(\b\w+\s*(?:==|!=)\s*){name}\b(?!\s*\()", source)
    if compared:
        return f'text goes in quotes: {compared.group(1)}"{symbol}"'
    if re.search(rf"\[[^\]]*(?<![\w\"']){name}\b[^\]]*\]", source):
        return f'text goes in quotes: "{symbol}" in the list'
    return None


def _foreign_operator(source: str) -> str | None:
    """The fix for an operator of another language: SQL's =, C's && and ||."""
    bare = re.sub(r'"[^"]*"|\'[^\']*\'', '""', source)  # not inside a quoted value
    if "&&" in bare:
        return "write and, not &&"
    if "||" in bare:
        return "write or, not ||"
    if re.search(r"(?<![=!<>])=(?![=~])", bare):
        return "compare with ==, not =: e.g. rating == \"Hot\""
    return None


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
        # attributes read straight off the record; the others come from its `extra` dict
        self.direct = direct if direct is not None else frozenset(schema)

    def _same_type_fix(self, text: str) -> str:
        """How to write the value the attribute compares with; for a date, how to write a date."""
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

    def compile(self, text: str, respell: Mapping[str, Callable[[str], str | None]] | None = None) -> Condition:
        """`respell`: attribute → how a quoted value compared with it is meant (rules/literals.py
        respell_compared), applied before the condition is compiled."""
        source = text if text.strip() else "true"
        try:
            check_depth(source)  # before the recursive parser sees it
        except TooDeep as exc:
            raise ExpressionError(exc.message, exc.fix) from None
        try:
            rule = rule_engine.Rule(source, context=self.context)
        except re_errors.SymbolResolutionError as exc:
            guess = nearest(exc.symbol_name, self.names) or exc.suggestion  # by meaning first: lead_source → source
            fix = _unquoted_value(exc.symbol_name, source) or (
                f"did you mean {guess!r}?" if guess else "known attributes: " + ", ".join(sorted(self.names)))
            raise ExpressionError(f"unknown attribute {exc.symbol_name!r} in {text!r}", fix, exc.symbol_name) from None
        except re_errors.RuleSyntaxError as exc:
            token = getattr(exc, "token", None)
            at = f" near {token.value!r}" if token is not None and getattr(token, "value", None) else " (incomplete expression)"
            raise ExpressionError(
                f"syntax error{at} in {text!r}",
                _foreign_operator(source)
                or "rule-engine syntax: ==, !=, <, >=, and, or, not, 'x' in products, [\"a\", \"b\"] arrays",
            ) from None
        except re_errors.RegexSyntaxError as exc:  # before EngineError: the pattern, not the types, is wrong
            raise ExpressionError(f"{exc.value!r} is not a regular expression ({exc.error.msg}, at position "
                                  f"{exc.error.pos}) in {text!r}",
                                  "check the pattern's brackets ( ) [ ] and escapes; in a TOML \"…\" string a "
                                  "backslash is written twice (\"\\\\d+\"), in a '…' string once") from None
        except re_errors.ArithmeticError as exc:  # rule-engine works out constant parts as it reads: 1 / 0
            raise _arithmetic_error(exc, text) from None
        except re_errors.EngineError as exc:
            raise ExpressionError(f"{exc.message if hasattr(exc, 'message') else exc} in {text!r}",
                                  self._same_type_fix(text)) from None
        except OverflowError:  # rule-engine works out constant parts as it reads: d"9999-12-31" + t"P1D"
            raise ExpressionError(f"a value in {text!r} is out of range (a date falls between 0001-01-01 and "
                                  "9999-12-31)",
                                  "write a date within those years; compare with today, quarter_end… plus or "
                                  "minus a duration (today + t\"P30D\") instead of a far-off date") from None
        except (RecursionError, MemoryError):  # the text checks above should make this unreachable
            raise ExpressionError(f"condition too deeply nested to read: {text[:80]!r}…", TooDeep("").fix) from None
        empty = _set_compared_with_null(rule.statement.expression)
        if empty:
            raise ExpressionError(
                f"{empty} is a set (a multi-select picklist) and is never null in {text!r}: a record without "
                f"any has the empty set, so `{empty} != null` holds for every record and `{empty} == null` for none",
                f"write `not {empty}.is_empty` (has at least one) or `{empty}.is_empty` (has none)", empty)
        zero = _divided_by_zero(rule.statement.expression)
        if zero:
            raise ExpressionError(
                f"division by zero in {text!r}: `{zero}` has no value for any lead, so the condition never holds",
                "divide by a number other than 0 (or by an attribute), or leave the division out")
        try:
            bound_regexes(rule.statement.expression)
        except RegexRefused as exc:
            raise ExpressionError(exc.message, exc.fix) from None
        for attr, spell in (respell or {}).items():
            respell_compared(rule.statement.expression, attr, spell)
        try:
            fast = CodeGen(self.schema, self.direct).compile(rule.statement.expression)
        except (RecursionError, MemoryError, SyntaxError):  # Python's own nesting limits
            raise ExpressionError(f"condition too deeply nested to compile: {text[:80]!r}…", TooDeep("").fix) from None
        return Condition(text, rule, fast, _symbols_read(rule.statement.expression))
