"""A lead's picklist values read in the spelling the rules and the partners use.

Salesforce keeps a value of an unrestricted picklist as it was written: a web form, a
data load or an integration brings "technology", "hot" and "web " into an org whose
picklists say Technology, Hot and Web. A rule compares values as the rule file writes
them (`rating == "Hot"`, `source in ["Web"]`) and the matchers compare a lead's industry,
products and language with the partners' own: read as typed, those leads passed every
rule by, and a channel manager saw a hot web lead go to the catch-all rule set.

So before a lead is decided, each of its text values (and each item of a set) that
differs from a value the rule file or a partner writes only in case or surrounding
spaces is read in that spelling; any other value stays as it is. The rule file's
spelling wins over the partners' (it is what conditions compare with).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Iterable

from rules.literals import compared_values
from rules.model import Lead

_LEAD_FIELDS = frozenset(f.name for f in dataclasses.fields(Lead)) - {"extra"}
# lead attribute -> the partner postings (rules/index.py) its matcher compares it with
_MATCHED = {"industry": "industry", "products": "product", "language": "language"}


def fold(value: str) -> str:
    return value.strip().casefold()


class Spelling:
    __slots__ = ("_fields", "_extras")

    def __init__(self, known: dict[str, dict[str, str]]):
        # attribute -> (values already spelt right, folded -> spelling)
        tables = {a: (frozenset(t.values()), t) for a, t in known.items() if t}
        self._fields = tuple((a, *tables[a]) for a in sorted(tables) if a in _LEAD_FIELDS)
        self._extras = tuple((a, *tables[a]) for a in sorted(tables) if a not in _LEAD_FIELDS)

    @classmethod
    def build(cls, book: Any, index: Any) -> "Spelling":
        known: dict[str, dict[str, str]] = {}

        def add(attr: str, values: Iterable[Any]) -> None:
            table = known.setdefault(attr, {})
            for v in values:
                if isinstance(v, str) and v.strip():
                    table.setdefault(fold(v), v)

        conditions = [g.when for g in book.gate] + [rs.when for rs in book.rulesets] + [r.when for r in book.rules]
        for cond in conditions:
            for attr, value in compared_values(cond.rule.statement):
                add(attr, (value,))
        add("products", book.settings.certifications_for_products)
        for attr, postings in _MATCHED.items():
            add(attr, sorted(getattr(index, postings, {})))  # sorted: the same spelling in every process
        return cls(known)

    def lead(self, lead: Lead) -> Lead:
        """`lead` itself when every value is spelt as the rules and partners spell it, else
        a copy with those values respelt (the caller's lead is never changed)."""
        changes: dict[str, Any] = {}
        for attr, right, table in self._fields:
            value = getattr(lead, attr)
            if value is None or value in right:
                continue
            respelt = _respell(value, right, table)
            if respelt is not value:
                changes[attr] = respelt
        extra = lead.extra
        if extra and self._extras:
            new_extra = None
            for attr, right, table in self._extras:
                value = extra.get(attr)
                if value is None or type(value) not in (str, frozenset) or value in right:
                    continue
                respelt = _respell(value, right, table)
                if respelt is not value:
                    new_extra = new_extra if new_extra is not None else dict(extra)
                    new_extra[attr] = respelt
            if new_extra is not None:
                changes["extra"] = new_extra
        return dataclasses.replace(lead, **changes) if changes else lead


def _respell(value: Any, right: frozenset[str], table: dict[str, str]) -> Any:
    if type(value) is str:
        return table.get(fold(value), value)
    if type(value) is frozenset:
        if value <= right:
            return value
        out = frozenset(table.get(fold(v), v) if type(v) is str else v for v in value)
        return value if out == value else out
    return value
