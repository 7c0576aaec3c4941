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
spelling wins over the partners' (it is what conditions compare with). Partners are
read the same way when they are indexed: 'preferred' in Partner_Programs__c meets
`programs = ["Preferred"]`, 'technology' in Industries__c a rule's `industry == "Technology"`.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Iterable, TypeVar

from rules.literals import compared_values
from rules.model import Lead, Partner

_LEAD_FIELDS = frozenset(f.name for f in dataclasses.fields(Lead)) - {"extra"}
_PARTNER_FIELDS = frozenset(f.name for f in dataclasses.fields(Partner)) - {"extra", "reps"}
# lead attribute -> the partner postings (rules/index.py) its matcher compares it with
_MATCHED = {"industry": "industry", "products": "product", "language": "language"}
# lead attribute -> the partner attribute its matcher compares it with
_PARTNER_SIDE = {"industry": "industries", "products": "products", "language": "languages"}


R = TypeVar("R", Lead, Partner)


def fold(value: str) -> str:
    return value.strip().casefold()


def _add(known: dict[str, dict[str, str]], attr: str, values: Iterable[Any]) -> None:
    table = known.setdefault(attr, {})
    for v in values:
        if isinstance(v, str) and v.strip():
            table.setdefault(fold(v), v)


def _lead_literals(book: Any) -> dict[str, dict[str, str]]:
    known: dict[str, dict[str, str]] = {}
    for cond in [g.when for g in book.gate] + [rs.when for rs in book.rulesets] + [r.when for r in book.rules]:
        for attr, value in compared_values(cond.rule.statement):
            _add(known, attr, (value,))
    _add(known, "products", book.settings.certifications_for_products)
    return known


class Spelling:
    __slots__ = ("_fields", "_extras")

    def __init__(self, known: dict[str, dict[str, str]], direct: frozenset[str] = _LEAD_FIELDS):
        # attribute -> (values already spelt right, folded -> spelling)
        tables = {a: (frozenset(t.values()), t) for a, t in known.items() if t}
        self._fields = tuple((a, *tables[a]) for a in sorted(tables) if a in direct)
        self._extras = tuple((a, *tables[a]) for a in sorted(tables) if a not in direct)

    @classmethod
    def build(cls, book: Any, index: Any) -> "Spelling":
        """For leads: the rule file's values, then the (indexed) partners'."""
        known = _lead_literals(book)
        for attr, postings in _MATCHED.items():
            _add(known, attr, sorted(getattr(index, postings, {})))  # sorted: the same spelling in every process
        return cls(known)

    @classmethod
    def for_partners(cls, book: Any) -> "Spelling":
        """For partners: the rule file's values for them (partner conditions, matchers), and
        its lead values for what a lead's industry, products and language meet."""
        known: dict[str, dict[str, str]] = {}
        # a tier in the org's spelling, whatever case an Account or the rule file gives it
        # (the rule file's tiers are read in it too: rules/book.py): what explain names, and
        # what [settings.tier_weights] and `weighted` rules count by
        _add(known, "tier", getattr(book, "tier_names", ()))
        for rule in book.rules:
            for attr, value in compared_values(rule.partners.rule.statement):
                _add(known, attr, (value,))
            _add(known, "programs", rule.match.programs)
            _add(known, "certifications", (*rule.match.certifications, *rule.match.certifications_all))
        for certs in book.settings.certifications_for_products.values():
            _add(known, "certifications", certs)
        for lead_attr, table in _lead_literals(book).items():
            if lead_attr in _PARTNER_SIDE:
                _add(known, _PARTNER_SIDE[lead_attr], table.values())
        return cls(known, _PARTNER_FIELDS)

    def lead(self, lead: Lead) -> Lead:
        """`lead` itself when every value is spelt as the rules and partners spell it, else
        a copy with those values respelt (the caller's lead is never changed)."""
        return self.record(lead)

    def record(self, record: R) -> R:
        """A lead or a partner, respelt (a copy) or as it was (itself)."""
        changes: dict[str, Any] = {}
        for attr, right, table in self._fields:
            value = getattr(record, attr)
            if value is None or value in right:
                continue
            respelt = _respell(value, right, table)
            if respelt is not value:
                changes[attr] = respelt
        extra = record.extra
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
        if not changes:
            return record
        copy = _copy(record)
        for attr, value in changes.items():
            setattr(copy, attr, value)
        return copy


def _copy(record: R) -> R:
    """A shallow copy of a slotted dataclass, without the cost of dataclasses.replace
    (an org whose every lead is typed in lower case respells each one)."""
    cls = type(record)
    new = object.__new__(cls)
    for name in _SLOTS.get(cls) or _SLOTS.setdefault(cls, tuple(f.name for f in dataclasses.fields(cls))):
        object.__setattr__(new, name, getattr(record, name))
    return new


_SLOTS: dict[type, tuple[str, ...]] = {}


def _respell(value: Any, right: frozenset[str], table: dict[str, str]) -> Any:
    if type(value) is str:
        return table.get(fold(value), value)
    if type(value) is frozenset:
        if value <= right:
            return value
        out = frozenset(table.get(fold(v), v) if type(v) is str else v for v in value)
        return value if out == value else out
    return value
