"""A partner's own limits (capacity, daily cap, routing weight) must be above zero.

A negative Capacity__c used to slip through: the router read "-5 open offers allowed"
and least-loaded scoring even ranked such a partner as the emptiest. The rules file
refuses such values at load; a partner record cannot be refused (it is the org's data,
read at every sync), so it is warned about, naming the account and the value, and made
safe: a negative cap becomes 0 (the partner takes no new offers until someone fixes
the record), a negative weight 0 (never drawn when offers are weighted by weight).
"""
from __future__ import annotations

import math
from typing import Any, Callable

from rules import model

from .converter import Warn

# attribute → what a value of 0 or less does to the partner, as the warning says it
_EFFECT = {
    "capacity": "takes no new offers until it is 1 or more (blank = the rules' max_open_offers)",
    "daily_cap": "takes no new offers until it is 1 or more (blank = the rules' max_offers_per_day)",
    "weight": "is never drawn when a rule weighs offers by weight; set a number above 0 (blank = 1)",
}


# limits counted in leads: a fraction is read as the whole number below it (warned), where it
# would otherwise fail the whole-number check and drop the partner from routing for a decimal
_WHOLE = ("capacity", "daily_cap")


def checked_partners(convert: Callable[[dict], Any], labels: dict[str, str], warn: Warn | None,
                     whole: dict[str, tuple[str, ...]] | None = None) -> Callable[[dict], Any]:
    """Wrap a partner converter: values of 0 or less are warned about; negatives become 0.
    `whole`: attribute → the fields it reads, for the limits counted in whole leads."""
    fields = [(attr, f) for attr, fs in (whole or {}).items() if attr in _WHOLE for f in fs]

    def check(record: dict) -> Any:
        for attr, f in fields:
            value = _fraction(record.get(f))
            if value is not None:
                record = {**record, f: float(math.floor(value))}
                if warn is not None:
                    warn(record.get("Id") or "?", f"partner {record.get('Name')!r}: {labels.get(attr, f)} is "
                                                   f"{value:g}, not a whole number; read as {math.floor(value)}")
        p = convert(record)
        if p.__class__ is not model.Partner:
            return p
        for attr, effect in _EFFECT.items():
            value = getattr(p, attr)
            if value is None or value > 0:
                continue
            if value < 0:
                setattr(p, attr, 0 if attr != "weight" else 0.0)
            if warn is not None:
                warn(p.id, f"partner {p.name!r}: {labels.get(attr, attr)} is {value:g}, it must be above 0; "
                           f"treated as 0: the partner {effect}")
        return p

    return check


def _fraction(v: Any) -> float | None:
    """A finite number with a fractional part (2.5, "2.5"), else None."""
    if type(v) is str:
        try:
            v = float(v.strip())
        except ValueError:
            return None
    if type(v) is float and math.isfinite(v) and not v.is_integer():
        return v
    return None
