"""Personal data the state database does not need, left out of what it keeps.

The state keeps each lead as last read, so a lapse can be redistributed without an
API read. Routing needs the company, the place, the products — not the person's name,
phone or mailbox. Fields mapped to personal attributes are dropped from the stored
copy unless a rule condition names the attribute; an email keeps only its domain
(deal registrations match on it). The lead in Salesforce is untouched: this is about
what a copied state file would give away.
"""
from __future__ import annotations

import re
from typing import Any, Callable

# Routing attributes that describe a person rather than the deal.
PERSONAL = ("first_name", "last_name", "email", "phone", "mobile", "title", "street", "description", "name")
_EMAIL = "email"


def minimiser(mappings: Any, book: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A function trimming one lead record to what the state may keep."""
    used = _names_in_conditions(book)
    sources = mappings.source_fields("lead")  # attribute -> the fields it is read from
    drop: set[str] = set()
    mask: set[str] = set()
    for name, fields in sources.items():
        if name in PERSONAL and name not in used:
            (mask if name == _EMAIL else drop).update(fields)
    # a field another (kept) attribute reads stays: e.g. Email also feeds email_domain
    kept = [(n, fields) for n, fields in sources.items() if n not in PERSONAL or n in used]
    drop -= {f for _, fields in kept for f in fields}
    mask -= {f for n, fields in kept if n != "email_domain" for f in fields}
    if not drop and not mask:
        return lambda rec: rec

    def trim(rec: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in rec.items() if k not in drop}
        for f in mask:
            value = out.get(f)
            if isinstance(value, str) and "@" in value:
                out[f] = "redacted@" + value.rpartition("@")[2]
            elif value:
                out[f] = None
        return out

    return trim


def _names_in_conditions(book: Any) -> set[str]:
    conditions = [g.when for g in getattr(book, "gate", ())]
    conditions += [rs.when for rs in getattr(book, "rulesets", ())]
    conditions += [r.when for r in getattr(book, "rules", ())]
    names: set[str] = set()
    for c in conditions:
        names |= set(getattr(c, "symbols", ()) or ())
        names |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", getattr(c, "text", "") or ""))
    return names
