"""Amounts in the org's corporate currency, in an org with multiple currencies.

With multi-currency on (Setup → Company Information → Currencies), every currency field
of a Lead is in the lead's own currency (CurrencyIsoCode): a rule's `amount >= 50000`
would hold 50,000 yen to the same bar as 50,000 dollars. Each lead attribute read from
currency fields is turned into the corporate currency at the org's conversion rate
(CurrencyType.ConversionRate: units of that currency per one of the corporate currency).
Leads use these static rates even where advanced currency management dates the rates of
opportunities (Salesforce converts only opportunities with dated rates), so this is the
figure an admin's report on Leads shows in the corporate currency.

A lead in a currency the org does not list as active has no usable amount: the value is
dropped as an unknown country is (the condition needing it is false), and the reason says
which currency, and where to activate it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

from .converter import DROPPED, Unroutable

CURRENCY_FIELD = "CurrencyIsoCode"
# where a converted lead keeps what it was converted from, for explain: (code, rate)
CONVERTED_FROM = "converted_from_currency"


@dataclass(frozen=True)
class OrgCurrencies:
    """The org's corporate currency, its active currencies' rates, and the lead attributes
    read from currency fields (the others — counts, scores — are never converted)."""

    corporate: str
    rates: Mapping[str, float]
    attributes: frozenset[str]
    labels: Mapping[str, str]  # attribute → the label a reason names ("Deal Amount")

    def convert(self, lead: Any, record: Mapping[str, Any]) -> Any:
        """`lead` with its currency attributes in the corporate currency."""
        if lead.__class__ is Unroutable or not self.attributes:
            return lead
        code = record.get(CURRENCY_FIELD)
        if code == self.corporate:
            return lead
        extra = lead.extra
        present = {a: v for a in self.attributes
                   if (v := extra.get(a) if a in extra else getattr(lead, a, None)) is not None}
        if not present:
            return lead
        rate = self.rates.get(code) if isinstance(code, str) else None
        extra = dict(extra)
        if rate is None or not rate > 0:
            why = (f"the lead's currency {code!r} is not an active currency of the org; activate it in Setup → "
                   f"Manage Currencies (with its rate), or set the lead's Currency" if code else
                   "the lead has no currency (CurrencyIsoCode) in a multi-currency org")
            dropped = dict(extra.get(DROPPED) or {})
            dropped.update({a: f"{self.labels.get(a, a)}: {why}" for a in present})
            extra[DROPPED] = dropped
            converted = dict.fromkeys(present)
        else:
            converted = {a: v / rate for a, v in present.items()}
            extra[CONVERTED_FROM] = (code, rate)
        standard = {a: v for a, v in converted.items() if a not in lead.extra}
        extra.update({a: v for a, v in converted.items() if a in lead.extra})
        return replace(lead, **standard, extra=extra)


def currency_attributes(sources: Mapping[str, tuple[str, ...]], field_types: Mapping[str, str]) -> frozenset[str]:
    """The attributes read only from currency fields (`field_types`: field → describe type)."""
    return frozenset(name for name, fields in sources.items()
                     if fields and all(field_types.get(f) == "currency" for f in fields))


def in_corporate_currency(convert: Callable[[dict], Any], currencies: OrgCurrencies | None) -> Callable[[dict], Any]:
    """A lead converter whose amounts come out in the corporate currency."""
    if currencies is None or not currencies.attributes:
        return convert

    def converted(record: dict) -> Any:
        return currencies.convert(convert(record), record)

    return converted
