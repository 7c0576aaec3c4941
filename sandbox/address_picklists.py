"""State and Country/Territory Picklists, as an org has them once an admin turned them on.

What Salesforce Help documents (Let Users Select States, Countries, and Territories from
Picklists; State, Country, and Territory Picklist Fields; State and Country/Territory
Picklist Field-Syncing Logic):

* the address gains <prefix>CountryCode and <prefix>StateCode, picklists of ISO codes, the
  state dependent on the country; <prefix>Country and <prefix>State stay text columns and
  hold the code's integration value (the ISO name unless an admin edited it);
* 235 countries; states for the United States, Canada, Australia, Brazil, China, India,
  Ireland, Italy and Mexico; an admin may add states of other countries (Germany's Länder);
* a valid code written fills the integration value, a valid integration value fills the
  code; a code and value that disagree are refused on an update, and on a create the value
  is put right from the code; a state not in its country is refused; removing the country
  code removes the state code and both values.

What is not documented and is this stand-in's reading (real orgs answer REST clients so,
seen in integrations' bug reports, not in Salesforce's docs): each refusal is
FIELD_INTEGRITY_EXCEPTION; an integration value is matched exactly; the country list is
pycountry's ISO 3166 names (Salesforce's 235 differ in a few spellings: "Aland Islands").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import SalesforceError

# Salesforce's standard states: the countries it ships states for (Salesforce Help)
STANDARD_STATE_COUNTRIES = ("US", "CA", "AU", "BR", "CN", "IN", "IE", "IT", "MX")

# the addresses that get code picklists, by object
ADDRESSES = {"Lead": ("",), "Account": ("Billing", "Shipping")}


def _standard() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    import pycountry

    countries = {c.alpha_2: c.name for c in pycountry.countries}
    states: dict[str, dict[str, str]] = {}
    for s in pycountry.subdivisions:
        if s.country_code in STANDARD_STATE_COUNTRIES and s.parent_code is None:
            states.setdefault(s.country_code, {})[s.code.split("-", 1)[1]] = s.name
    return countries, states


def _problem(kind: str, label: str, name: str) -> SalesforceError:
    what = "a country/territory from the list of valid countries" if kind == "country" else \
        "a state from the list of valid states"
    return SalesforceError(400, "FIELD_INTEGRITY_EXCEPTION",
                           f"There's a problem with this {kind}, even though it may appear correct. "
                           f"Please select {what}.: {label}", [name])


@dataclass
class AddressPicklists:
    countries: dict[str, str]  # code → integration value
    states: dict[str, dict[str, str]] = field(default_factory=dict)  # country code → state code → value

    @classmethod
    def standard(cls, states: dict[str, dict[str, str]] | None = None) -> "AddressPicklists":
        countries, standard_states = _standard()
        for country, extra in (states or {}).items():
            standard_states.setdefault(country, {}).update(extra)
        return cls(countries, standard_states)

    def fields(self, prefix: str) -> list:
        from sandbox import standard

        label = (prefix + " ").lstrip()
        country = standard.pick(prefix + "CountryCode", list(self.countries), label=f"{label}Country Code",
                                restricted_picklist=True)
        country.length = 10
        country.picklist_entries = [(code, name, None) for code, name in self.countries.items()]
        entries = [(code, name, c) for c in self.countries for code, name in self.states.get(c, {}).items()]
        state = standard.pick(prefix + "StateCode", sorted({e[0] for e in entries}),
                              label=f"{label}State/Province Code", restricted_picklist=True)
        state.length = 10
        state.controller_name = prefix + "CountryCode"
        state.picklist_entries = entries
        return [country, state]

    def _country_of(self, value: str) -> str | None:
        return next((code for code, name in self.countries.items() if name == value), None)

    def sync(self, obj: Any, prefix: str, before: dict | None, values: dict, creating: bool) -> None:
        """`values` (what the client sent, coerced) made to agree as Salesforce syncs them, or refused."""
        cc, c, sc, s = (prefix + n for n in ("CountryCode", "Country", "StateCode", "State"))
        if not any(k in values for k in (cc, c, sc, s)):
            return
        old = before or {}
        label = lambda name: obj.fields[name].label  # noqa: E731
        # the country
        if cc in values and values[cc] is not None:
            code = values[cc]
            if c in values and values[c] != self.countries[code] and not creating:
                raise _problem("country", label(c), c)
        elif c in values and values[c] is not None:
            code = self._country_of(values[c])
            if code is None:
                raise _problem("country", label(c), c)
        elif cc in values or c in values:
            code = None
        else:
            code = old.get(cc)
        values[cc], values[c] = code, self.countries[code] if code else None
        # the state, in that country
        in_country = self.states.get(code, {}) if code else {}
        if sc in values and values[sc] is not None:
            state = values[sc]
            if state not in in_country:
                raise SalesforceError(400, "FIELD_INTEGRITY_EXCEPTION",
                                      "The existing country/territory doesn't recognize the state value for "
                                      f"field: {label(sc)}", [sc])
            if s in values and values[s] not in (None, in_country[state]) and not creating:
                raise _problem("state", label(s), s)
        elif s in values and values[s] is not None:
            state = next((k for k, v in in_country.items() if v == values[s]), None)
            if state is None:
                raise _problem("state", label(s), s)
        elif sc in values or s in values or code is None:
            state = None  # a country code removed takes the state with it
        else:
            state = old.get(sc)
            if state is not None and state not in in_country:
                raise SalesforceError(400, "FIELD_INTEGRITY_EXCEPTION",
                                      "The existing country/territory doesn't recognize the state value for "
                                      f"field: {label(sc)}", [sc])
        values[sc], values[s] = state, in_country[state] if state else None
