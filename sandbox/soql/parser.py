"""SOQL text -> `ast.Query`, through the lark grammar in `soql.lark`.

Parsing is pure and connectors repeat the same query text every cycle, so results
are kept in an LRU cache keyed by the text. Every syntax problem becomes
MALFORMED_QUERY pointing at the row and column, as Salesforce reports it.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from sandbox.soql import dates
from sandbox.soql.ast import And, Call, Comparison, Expr, FieldRef, Literal, Not, Or, OrderKey, Query, SemiJoin, SubQuery
from sandbox.soql.errors import MALFORMED_QUERY, positioned

AGGREGATES = frozenset(("COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"))
DATE_FUNCTIONS = frozenset((
    "CALENDAR_MONTH", "CALENDAR_QUARTER", "CALENDAR_YEAR", "DAY_IN_MONTH", "DAY_IN_WEEK", "DAY_IN_YEAR",
    "DAY_ONLY", "FISCAL_MONTH", "FISCAL_QUARTER", "FISCAL_YEAR", "HOUR_IN_DAY", "WEEK_IN_MONTH", "WEEK_IN_YEAR",
))  # fmt: skip
KNOWN_FUNCTIONS = AGGREGATES | DATE_FUNCTIONS | {"TOLABEL", "FIELDS"}
FIELDS_GROUPS = ("ALL", "STANDARD", "CUSTOM")
WITH_MODES = ("SECURITY_ENFORCED", "USER_MODE", "SYSTEM_MODE")
_OPS = {"=": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
# The escapes Salesforce documents for quoted strings; \% and \_ only mean something in LIKE.
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.S)


class _Problem(Exception):
    """Raised inside the transformer; `parse` turns it into a positioned SoqlError."""

    def __init__(self, line: int, column: int, text: str):
        super().__init__(text)
        self.line, self.column, self.text = line, column, text


def _decode_string(token: Token) -> Literal:
    body = token.value[1:-1]
    value: list[str] = []
    like: list[str] = []
    pos = 0
    for m in _ESCAPE.finditer(body):
        for ch in body[pos : m.start()]:
            value.append(ch)
            like.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        code = m.group(1)
        if code in ("%", "_"):
            value.append("\\" + code)  # outside LIKE the backslash stays part of the text
            like.append(re.escape(code))
        elif code in _ESCAPES:
            value.append(_ESCAPES[code])
            like.append(re.escape(_ESCAPES[code]))
        elif code[0] == "u" and len(code) == 5:
            ch = chr(int(code[1:], 16))
            value.append(ch)
            like.append(re.escape(ch))
        else:
            raise _Problem(
                token.line,
                token.column,
                f"Invalid string literal {token.value}. Illegal character sequence '\\{code}' in string literal.",
            )
        pos = m.end()
    for ch in body[pos:]:
        value.append(ch)
        like.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
    return Literal("string", "".join(value), token.line, token.column, like="".join(like))


def _parse_datetime(token: Token) -> datetime:
    text = token.value
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _Problem(token.line, token.column, f"invalid datetime: '{text}' (use YYYY-MM-DDThh:mm:ssZ)") from None
    return parsed.astimezone(timezone.utc)


def _text(expr: Expr | None) -> str:
    if expr is None:
        return ""
    return expr.text


class _ToAst(Transformer):
    """Bottom-up: lark calls one method per rule with the already-built children."""

    def field_path(self, names: list[Token]) -> FieldRef:
        return FieldRef(tuple(str(n) for n in names), names[0].line, names[0].column)

    def function_call(self, children: list) -> Call:
        name: Token = children[0]
        fn = name.value.upper()
        arg = children[1] if len(children) > 1 else None
        if fn not in KNOWN_FUNCTIONS:
            raise _Problem(
                name.line, name.column,
                f"function {name.value}() is not supported by the sandbox; it knows {', '.join(sorted(KNOWN_FUNCTIONS))}",
            )  # fmt: skip
        if arg is None and fn != "COUNT":
            raise _Problem(name.line, name.column + len(name.value) + 1, "unexpected token: ')'")
        if isinstance(arg, Call) and not (fn in AGGREGATES and arg.name in DATE_FUNCTIONS):
            raise _Problem(arg.line, arg.column, f"unexpected token: '{arg.text.split('(')[0]}'")
        if fn == "FIELDS" and (arg is None or len(arg.parts) != 1 or arg.parts[0].upper() not in FIELDS_GROUPS):
            where = arg if arg is not None else name
            raise _Problem(where.line, where.column, "FIELDS() takes ALL, STANDARD or CUSTOM")
        return Call(fn, arg, name.line, name.column, f"{name.value}({_text(arg)})")

    @v_args(meta=True)
    def subquery(self, meta, children: list) -> SubQuery:
        select: list[tuple[Expr | SubQuery, Token | None]] = children[0][1]
        relationship: FieldRef = children[1]
        for expr, alias in select:
            if alias is not None:  # only aggregate expressions take aliases, and a subquery has none
                raise _Problem(alias.line, alias.column, f"unexpected token: '{alias.value}'")
            if isinstance(expr, Call) and expr.name in AGGREGATES:
                raise _Problem(expr.line, expr.column, f"aggregate functions are not allowed in a subquery: {expr.text}")
        query = _query(select, relationship.text, relationship.line, relationship.column, dict(children[2:]))
        return SubQuery(query, meta.line, meta.column)

    # literals ------------------------------------------------------------------------
    def string(self, children: list[Token]) -> Literal:
        return _decode_string(children[0])

    def number(self, children: list[Token]) -> Literal:
        tok = children[0]
        text = tok.value
        value: int | float = float(text) if "." in text else int(text)
        return Literal("number", value, tok.line, tok.column)

    def date(self, children: list[Token]) -> Literal:
        tok = children[0]
        try:
            value = date.fromisoformat(tok.value)
        except ValueError:
            raise _Problem(tok.line, tok.column, f"invalid date: '{tok.value}' (use YYYY-MM-DD)") from None
        return Literal("date", value, tok.line, tok.column)

    def datetime(self, children: list[Token]) -> Literal:
        tok = children[0]
        return Literal("datetime", _parse_datetime(tok), tok.line, tok.column)

    def word(self, children: list[Token]) -> Literal:
        tok = children[0]
        word = tok.value.upper()
        n = int(children[1]) if len(children) > 1 else None
        if n is None and word in ("TRUE", "FALSE"):
            return Literal("boolean", word == "TRUE", tok.line, tok.column)
        if n is None and word == "NULL":
            return Literal("null", None, tok.line, tok.column)
        problem = dates.check(word, n)
        if problem and dates.is_unknown(word):
            raise _Problem(tok.line, tok.column, f"unexpected token: '{tok.value}'")
        if problem:
            raise _Problem(tok.line, tok.column, problem)
        return Literal("relative", (word, n), tok.line, tok.column)

    def value_list(self, children: list[Literal]) -> tuple[Literal, ...]:
        return tuple(children)

    # conditions ----------------------------------------------------------------------
    def compare(self, children: list) -> Comparison:
        field, op, value = children
        return Comparison(field, _OPS[op.value], (value,))

    def like(self, children: list) -> Comparison:
        field, _kw, value = children
        return Comparison(field, "like", (value,))

    def in_(self, children: list) -> Comparison:
        return Comparison(children[0], "in", children[-1])

    def not_in(self, children: list) -> Comparison:
        return Comparison(children[0], "notin", children[-1])

    def includes(self, children: list) -> Comparison:
        return Comparison(children[0], "includes", children[-1])

    def excludes(self, children: list) -> Comparison:
        return Comparison(children[0], "excludes", children[-1])

    def semi_join(self, children: list) -> Comparison:
        sub: SubQuery = children[-1]
        negated = any(isinstance(c, Token) and c.type == "NOT" for c in children)
        return Comparison(children[0], "antisemi" if negated else "semi", (SemiJoin(sub.query, sub.line, sub.column),))  # type: ignore[arg-type]

    def and_(self, children: list) -> And:
        return And(tuple(c for c in children if not isinstance(c, Token)))

    def or_(self, children: list) -> Or:
        return Or(tuple(c for c in children if not isinstance(c, Token)))

    def not_(self, children: list) -> Not:
        return Not(children[-1])

    def where_clause(self, children: list):
        return ("where", children[0])

    # tail clauses --------------------------------------------------------------------
    def order_key(self, children: list) -> OrderKey:
        field = children[0]
        descending = any(isinstance(c, Token) and c.type == "DESC" for c in children)
        nulls_last = any(isinstance(c, Token) and c.type == "LAST" for c in children)
        return OrderKey(field, descending, nulls_last)

    def order_clause(self, children: list):
        return ("order", tuple(children))

    def limit_clause(self, children: list[Token]):
        return ("limit", int(children[0]))

    def offset_clause(self, children: list[Token]):
        return ("offset", children[0])

    def with_clause(self, children: list[Token]):
        mode = children[0]
        if mode.value.upper() not in WITH_MODES:
            raise _Problem(
                mode.line, mode.column,
                f"WITH {mode.value} is not supported by the sandbox; it accepts WITH {', WITH '.join(WITH_MODES)}",
            )  # fmt: skip
        return ("with", mode.value.upper())

    def group_clause(self, children: list):
        return ("group", tuple(children))

    def having_clause(self, children: list):
        return ("having", children[0])

    def select_item(self, children: list) -> tuple[Expr | SubQuery, Token | None]:
        return (children[0], children[1] if len(children) > 1 else None)

    def select_list(self, children: list):
        return ("select", children)

    def start(self, children: list) -> Query:
        sobject: Token = children[1]
        return _query(children[0][1], sobject.value, sobject.line, sobject.column, dict(children[2:]))


def _query(select: list[tuple[Expr | SubQuery, Token | None]], sobject: str, line: int, column: int, clauses: dict) -> Query:
    """One SELECT statement, the outer query or a subquery, from its transformed clauses."""
    for expr, alias in select:
        if isinstance(expr, SubQuery) and alias is not None:  # a subquery's name is its relationship
            raise _Problem(alias.line, alias.column, f"unexpected token: '{alias.value}'")
    counts = [e for e, _ in select if isinstance(e, Call) and e.name == "COUNT" and e.arg is None]
    is_count = bool(counts)
    if counts and (len(select) > 1 or select[0][1] is not None):
        raise _Problem(
            counts[0].line, counts[0].column,
            "COUNT() must be the only element in the SELECT list: use COUNT(Id) beside other fields",
        )  # fmt: skip
    if is_count and "group" in clauses:
        raise _Problem(counts[0].line, counts[0].column, "COUNT() can not be used with GROUP BY: use COUNT(Id)")
    offset_tok: Token | None = clauses.get("offset")
    aliases = tuple(a.value if a is not None else None for _, a in select)
    return Query(
        fields=() if is_count else tuple(e for e, _ in select),
        is_count=is_count,
        sobject=sobject,
        sobject_line=line,
        sobject_column=column,
        where=clauses.get("where"),
        order_by=clauses.get("order", ()),
        limit=clauses.get("limit"),
        offset=int(offset_tok) if offset_tok is not None else None,
        offset_line=offset_tok.line if offset_tok is not None else 0,
        offset_column=offset_tok.column if offset_tok is not None else 0,
        aliases=() if is_count else aliases,
        alias_positions=() if is_count else tuple((a.line, a.column) if a is not None else (0, 0) for _, a in select),
        group_by=clauses.get("group", ()),
        having=clauses.get("having"),
        with_mode=clauses.get("with"),
    )


_GRAMMAR = (Path(__file__).parent / "soql.lark").read_text(encoding="utf-8")
_LARK = Lark(_GRAMMAR, parser="lalr", maybe_placeholders=False, propagate_positions=True)


def _end_position(soql: str) -> tuple[int, int]:
    rows = soql.split("\n")
    return len(rows), len(rows[-1]) + 1


def _syntax_error(soql: str, err: UnexpectedInput):
    if isinstance(err, UnexpectedToken):
        tok = err.token
        if tok.type == "$END":
            line, column = _end_position(soql)
            return positioned(MALFORMED_QUERY, soql, line, column, "unexpected token: <EOF>")
        return positioned(MALFORMED_QUERY, soql, tok.line, tok.column, f"unexpected token: '{tok.value}'")
    if isinstance(err, UnexpectedCharacters):
        char = soql[err.pos_in_stream]
        if char == "'":
            text = "unterminated string literal: a quote ' opens a string that is never closed (escape quotes inside as \\')"
        else:
            text = f"unexpected token: '{char}'"
        return positioned(MALFORMED_QUERY, soql, err.line, err.column, text)
    line, column = _end_position(soql)
    return positioned(MALFORMED_QUERY, soql, line, column, "unexpected token: <EOF>")


@lru_cache(maxsize=512)
def parse(soql: str) -> Query:
    """Parse one SOQL statement; raises SoqlError(MALFORMED_QUERY) with the position."""
    if not isinstance(soql, str) or not soql.strip():
        raise positioned(MALFORMED_QUERY, soql or "", 1, 1, "unexpected token: <EOF>")
    try:
        tree = _LARK.parse(soql)
    except UnexpectedInput as err:
        raise _syntax_error(soql, err) from None
    try:
        return _ToAst().transform(tree)
    except _Problem as problem:
        raise positioned(MALFORMED_QUERY, soql, problem.line, problem.column, problem.text) from None
    except Exception as err:  # lark wraps callback errors in VisitError
        inner = getattr(err, "orig_exc", None)
        if isinstance(inner, _Problem):
            raise positioned(MALFORMED_QUERY, soql, inner.line, inner.column, inner.text) from None
        raise
