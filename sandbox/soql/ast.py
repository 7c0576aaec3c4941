"""The parsed query: plain frozen dataclasses, independent of any org or schema.

Positions (1-based line and column) travel with every name and literal so binding
against a schema can point at the exact spot, as Salesforce's messages do.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union


@dataclass(frozen=True, slots=True)
class FieldRef:
    parts: tuple[str, ...]  # as written: ("Owner", "Name")
    line: int
    column: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class Call:
    """A function applied to a field: COUNT(Id), SUM(x), CALENDAR_YEAR(CreatedDate),
    toLabel(Status), FIELDS(ALL); COUNT() has no argument."""

    name: str  # upper-cased: COUNT, COUNT_DISTINCT, SUM, CALENDAR_YEAR, TOLABEL, FIELDS, ...
    arg: "FieldRef | Call | None"
    line: int
    column: int
    text: str  # as written, e.g. "COUNT(Id)": the column's displayName


Expr = Union[FieldRef, Call]


@dataclass(frozen=True, slots=True)
class Literal:
    """kind: string, number, date, datetime, boolean, null, relative.

    value: str / int|float / date / datetime / bool / None / (LITERAL_NAME, n|None).
    like: for strings, the LIKE pattern as a regex source (escaped `\\%`/`\\_` kept literal).
    """

    kind: str
    value: Any
    line: int
    column: int
    like: str | None = None


@dataclass(frozen=True, slots=True)
class Comparison:
    field: Expr  # a Call in HAVING (COUNT(Id) > 1) or for a date function in WHERE
    op: str  # = != < <= > >= like in notin includes excludes
    values: tuple[Literal, ...]  # one for scalar operators


@dataclass(frozen=True, slots=True)
class And:
    items: tuple["Condition", ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple["Condition", ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: "Condition"


Condition = Union[Comparison, And, Or, Not]


@dataclass(frozen=True, slots=True)
class OrderKey:
    field: Expr  # a Call for ORDER BY COUNT(Id) in an aggregate query
    descending: bool
    nulls_last: bool  # Salesforce sorts nulls first unless told NULLS LAST, whatever the direction


@dataclass(frozen=True, slots=True)
class SubQuery:
    """A parent-to-child subquery in the SELECT list: `(SELECT ... FROM Contacts)`.

    `query.sobject` is the child relationship name as written (`Contacts`, or
    `Account.Contacts` qualified by the parent object); binding resolves it."""

    query: "Query"
    line: int  # the opening parenthesis
    column: int


@dataclass(frozen=True, slots=True)
class SemiJoin:
    """`Id IN (SELECT AccountId FROM Contact …)` (NOT IN: an anti-join): the inner query,
    whose FROM names an object; the value of a `semi` / `antisemi` Comparison."""

    query: "Query"
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Query:
    # the SELECT list in order: fields, function calls and parent-to-child subqueries;
    # empty for COUNT(); FIELDS(...) still unexpanded
    fields: tuple["Expr | SubQuery", ...]
    is_count: bool
    sobject: str
    sobject_line: int
    sobject_column: int
    where: Condition | None
    order_by: tuple[OrderKey, ...]
    limit: int | None
    offset: int | None
    offset_line: int = 0
    offset_column: int = 0
    aliases: tuple[str | None, ...] = ()  # one per field, None when not aliased
    alias_positions: tuple[tuple[int, int], ...] = ()
    group_by: tuple[Expr, ...] = ()
    having: Condition | None = None
    with_mode: str | None = None  # SECURITY_ENFORCED, USER_MODE or SYSTEM_MODE
