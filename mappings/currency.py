"""Amounts in the org's corporate currency, in an org with multiple currencies.

With multi-currency on (Setup → Company Information → Currencies), every currency field
of a Lead is in the lead's own currency (CurrencyIsoCode): a rule's `amount >= 50000`
would hold 50,000 yen to the same bar as 50,000 dollars. Each lead attribute read from
currency fields is turned into the corporate currency at the org's conversion rate
(CurrencyType.ConversionRate: units of that currency per one of the corporate currency).
Leads use these static rates even where advanced currency management dates the rates of
opportunities (Salesforce converts only opportunities with dated rates), so this is the
figure an admin's report on Leads shows in the corporate currency.

An org with advanced currency management (`dated`) keeps rates by date range for
opportunities (DatedConversionRate: StartDate up to NextStartDate, none for the range that
runs on): a won opportunity's Amount converts at the rate of the range holding its
CloseDate, as Salesforce's reports convert it (`DatedRates`). An API client tells such an
org by DatedConversionRate answering a query at all: Salesforce offers the object only to
multi-currency orgs with advanced currency management enabled (INVALID_TYPE otherwise).

A lead in a currency the org does not list as active has no usable amount: the value is
dropped as an unknown country is (the condition needing it is false), and the reason says
which currency, and where to activate it.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Callable, Iterable, Mapping

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
    dated: bool = False  # advanced currency management: opportunities convert at DatedConversionRate

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


class DatedRates:
    """An org's dated conversion rates (DatedConversionRate rows: IsoCode, ConversionRate,
    StartDate, NextStartDate), asked for the rate of a currency on a day."""

    def __init__(self, rows: Iterable[Mapping[str, Any]]) -> None:
        ranges: dict[str, list[tuple[date, date | None, float]]] = {}
        for r in rows:
            code, rate, start = r.get("IsoCode"), r.get("ConversionRate"), _date(r.get("StartDate"))
            if not isinstance(code, str) or not isinstance(rate, (int, float)) or not rate > 0 or start is None:
                continue
            ranges.setdefault(code, []).append((start, _date(r.get("NextStartDate")), float(rate)))
        self._starts: dict[str, list[date]] = {}
        self._ranges: dict[str, list[tuple[date, date | None, float]]] = {}
        for code, rs in ranges.items():
            rs.sort(key=lambda x: x[0])
            self._ranges[code] = rs
            self._starts[code] = [x[0] for x in rs]

    def rate(self, code: str | None, day: date | None) -> float | None:
        """Units of `code` per one of the corporate currency on `day`: the range whose
        StartDate ≤ day < NextStartDate; None where no range holds the day."""
        if code is None or day is None or code not in self._ranges:
            return None
        i = bisect_right(self._starts[code], day) - 1
        if i < 0:
            return None
        start, following, rate = self._ranges[code][i]
        return rate if following is None or day < following else None


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None
