"""How every condition is evaluated when routing: a checked rule-engine AST turned into
one Python function, so a condition costs a few hundred nanoseconds instead of rule-engine's
12–25 µs walk over its tree.

rule-engine parses and type-checks; this module only decides how to evaluate what it
accepted. The generated function reads attributes inline (`L.amount`), keeps rule-engine's
meaning (strict equality, `in` on sets and text, `??`) and raises `Missing` where
rule-engine would fail on an absent value, which the caller reads as "does not match".
Nodes without a translation (regular expressions, arithmetic, set operators, mappings) are
evaluated inside it by rule-engine itself, node by node. This is the one path; rule-engine
evaluating a whole condition is only the reference test_expressions holds it to.
"""
from __future__ import annotations

import decimal
import itertools
import math
from typing import Any, Callable, Mapping

from rule_engine import DataType, errors as re_errors
from rule_engine.ast import literal as ast_lit
from rule_engine.ast.binary import CoalesceExpression
from rule_engine.ast.binary.comparison import ArithmeticComparisonExpression, ComparisonExpression, LogicExpression
from rule_engine.ast.expression.access import ContainsExpression
from rule_engine.ast.expression.control import UnaryExpression
from rule_engine.ast.expression.resolution import SymbolExpression

from rules.values import NOT_CONSTANT as _NOT_CONSTANT
from rules.values import TIME_SYMBOLS, literal_value
from rules.values import Missing as _Missing
from rules.values import coerce as _coerce
from rules.values import eq as _eq

_ORDER = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def _missing() -> Any:
    raise _Missing


def _interpreted(node: Any) -> Callable[[Any], Any]:
    """rule-engine's own evaluation of one node the generated code has no translation for:
    the value in our runtime form, `Missing` where rule-engine cannot evaluate it."""
    def evaluate(thing: Any) -> Any:
        try:
            return _coerce(node.evaluate(thing))
        # OverflowError: date arithmetic past year 1 or 9999 (a 0001-01-01 placeholder minus
        # 30 days); no date, as no value: the condition does not hold for this lead
        except (re_errors.EvaluationError, TypeError, OverflowError, decimal.InvalidOperation):
            raise _Missing from None
    return evaluate


def _ordered(a: Any, b: Any, op: str) -> bool:
    if a is None or b is None:
        if a is None and b is None:
            return op in ("<=", ">=")
        raise _Missing
    if type(a) is bool or type(b) is bool:
        if type(a) is not type(b):
            raise _Missing
    holds: bool  # two values of one kind (numbers, text, dates) compare to a bool
    if op == "<":
        holds = a < b
    elif op == "<=":
        holds = a <= b
    elif op == ">":
        holds = a > b
    else:
        holds = a >= b
    return holds


class CodeGen:
    def __init__(self, schema: Mapping[str, Any], direct: frozenset[str]):
        self.schema = schema
        self.direct = direct
        self.consts: list[Any] = []
        self.funcs: list[Callable[[Any], Any]] = []
        self.names = itertools.count()

    def compile(self, node: Any) -> Callable[[Any, Any], bool]:
        # the try lives in the generated function: one call per condition, not two
        source = (f"def _condition(L, T):\n    try:\n        return bool({self.expr(node)})\n"
                  f"    except (_Missing, TypeError):\n        return False\n")
        env: dict[str, Any] = {"K": self.consts, "F": self.funcs, "C": _coerce, "EQ": _eq, "ORD": _ordered, "M": _missing,
               "_Missing": _Missing}
        exec(compile(source, "<rule condition>", "exec"), env)  # noqa: S102 — source built from a checked AST
        fn: Callable[[Any, Any], bool] = env["_condition"]
        return fn

    # ------------------------------------------------------------------ pieces
    def const(self, value: Any) -> str:
        if value is None or isinstance(value, bool):
            return repr(value)
        # repr(inf) and repr(nan) are not Python: `amount < 1e400` is rule-engine's inf
        if type(value) is str or (type(value) is float and math.isfinite(value)):
            return repr(value)
        self.consts.append(value)
        return f"K[{len(self.consts) - 1}]"

    def tmp(self) -> str:
        return f"_v{next(self.names)}"

    def constant(self, node: Any) -> Any:
        return literal_value(node)

    def symbol(self, name: str) -> str:
        if name in TIME_SYMBOLS:
            return f"T[{name!r}]"
        kind = self.schema.get(name, DataType.UNDEFINED)
        if name in self.direct and name.isidentifier():
            # text, flags, numbers and sets compare as Python has them; dates become UTC datetimes
            if kind in (DataType.STRING, DataType.BOOLEAN, DataType.FLOAT) or DataType.is_type(kind, DataType.SET):
                return f"L.{name}"
            return f"C(L.{name})"
        return f"C(L.extra.get({name!r}) if L.extra else None)"

    # ------------------------------------------------------------------ nodes
    def expr(self, node: Any) -> str:
        value = self.constant(node)
        if value is not _NOT_CONSTANT:
            return self.const(value)
        if isinstance(node, SymbolExpression) and node.scope is None:
            return self.symbol(node.name)
        if isinstance(node, LogicExpression):
            joiner = " and " if node.type == "and" else " or "
            return f"bool({self.expr(node.left)}{joiner}{self.expr(node.right)})"
        if isinstance(node, UnaryExpression) and node.type == "not":
            return f"(not {self.expr(node.right)})"
        if type(node) is ComparisonExpression and node.type in ("eq", "ne"):
            return self.equality(node)
        if isinstance(node, ArithmeticComparisonExpression) and node.type in _ORDER:
            return f"ORD({self.expr(node.left)}, {self.expr(node.right)}, {_ORDER[node.type]!r})"
        if isinstance(node, ContainsExpression):
            return self.contains(node)
        if isinstance(node, CoalesceExpression):
            v = self.tmp()
            return f"({self.expr(node.right)} if ({v} := {self.expr(node.left)}) is None else {v})"
        if isinstance(node, (ast_lit.ArrayExpression, ast_lit.SetExpression)):
            make = "tuple" if isinstance(node, ast_lit.ArrayExpression) else "frozenset"
            return f"{make}(({', '.join(self.expr(e) for e in node.value)},))"
        self.funcs.append(_interpreted(node))
        return f"F[{len(self.funcs) - 1}]((L, T))"

    def equality(self, node: Any) -> str:
        negate = node.type == "ne"
        left, right = node.left, node.right
        lit = self.constant(right)
        other = left
        if lit is _NOT_CONSTANT:
            lit, other = self.constant(left), right
        if lit is None:
            test = f"({self.expr(other)} is None)"
        elif type(lit) is str:
            # a str Enum value equals its text, as rule-engine sees the resolved value
            test = f"({self.expr(other)} == {lit!r})"
        else:
            test = f"EQ({self.expr(left)}, {self.expr(right)})"
        return f"(not {test})" if negate else test

    def contains(self, node: Any) -> str:
        member = self.expr(node.member)
        items = self.constant(node.container)
        if items is not _NOT_CONSTANT and isinstance(items, (tuple, frozenset)) and all(
                type(i) is str for i in items):
            v = self.tmp()
            # membership in a list of text: only text can be a member
            return f"(type({v} := {member}) is str and {v} in {self.const(frozenset(items))})"
        container = self.expr(node.container)
        v = self.tmp()
        return f"(M() if ({v} := {container}) is None else ({member} in {v}))"


