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
    field: FieldRef
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
    field: FieldRef
    descending: bool
    nulls_last: bool  # Salesforce sorts nulls first unless told NULLS LAST, whatever the direction


@dataclass(frozen=True, slots=True)
class Query:
    fields: tuple[FieldRef, ...]  # empty for COUNT()
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
