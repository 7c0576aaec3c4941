"""Problems found in a rule file, all reported at once with where and how to fix them."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None
    key: str  # dotted path, e.g. "ruleset[2].rule[1].when"
    message: str
    fix: str | None = None
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.key}: {self.message}"
        return f"{text} ({self.fix})" if self.fix else text


class RulesError(ValueError):
    """Every error in a rule file, so ops fix them in one pass rather than one per run."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(
            f"{len(problems)} problem(s) in the routing rules:\n" + "\n".join(f"  {p}" for p in problems)
        )


# Names people reach for, by meaning rather than spelling: Salesforce's own field names,
# CRM synonyms. Folded (lower case, no _ - space, no __c) → the attribute it means.
MEANINGS: dict[str, str] = {
    "leadsource": "source", "origin": "source", "channel": "source", "sourcechannel": "source",
    "zip": "postal_code", "zipcode": "postal_code", "postcode": "postal_code", "postal": "postal_code",
    "plz": "postal_code", "region": "state", "province": "state", "county": "state", "subdivision": "state",
    "statecode": "state", "countrycode": "country", "nation": "country", "sector": "industry",
    "vertical": "industry", "product": "products", "productinterest": "products", "solutions": "products",
    "solution": "products", "dealsize": "amount", "dealamount": "amount", "dealvalue": "amount",
    "opportunityamount": "amount", "value": "amount", "budget": "amount", "expectedclosedate": "close_date",
    "closedate": "close_date", "closingdate": "close_date", "headcount": "employees",
    "employeecount": "employees", "numberofemployees": "employees", "companysize": "employees",
    "staff": "employees", "revenue": "annual_revenue", "turnover": "annual_revenue", "locale": "language",
    "preferredlanguage": "language", "lang": "language", "owner": "owner_id", "partner": "partner_id",
    "partneraccount": "partner_id", "partneraccountid": "partner_id", "account": "company",
    "accountname": "company", "organisation": "company", "organization": "company", "companyname": "company",
    "mail": "email", "emailaddress": "email", "domain": "email_domain", "emaildomain": "email_domain",
    "url": "website", "web": "website", "site": "website", "temperature": "rating", "latitude": "lat",
    "longitude": "lon", "lng": "lon", "createddate": "created", "createdat": "created",
    "routingstatus": "routing_status", "partnerresponse": "response", "donotroute": "do_not_route",
    "isconverted": "converted", "isdeleted": "deleted", "level": "tier", "partnerlevel": "tier",
    "partnertier": "tier", "program": "programs", "certification": "certifications",
    "certs": "certifications", "languagesspoken": "languages", "territory": "coverage",
    "territories": "coverage", "timezone": "time_zone", "tz": "time_zone", "maxoffers": "capacity",
    "firstname": "first_name", "lastname": "last_name", "surname": "last_name",
}
_PREFIXES = ("lead", "partner", "account", "user", "rep")


def _fold(name: str) -> str:
    name = name.strip()
    if name.lower().endswith("__c"):
        name = name[:-3]
    return "".join(ch for ch in name.lower() if ch.isalnum())


def by_meaning(word: str, choices: Iterable[str]) -> str | None:
    """The choice `word` means though it is spelt otherwise: lead_source → source,
    LeadSource → source, PostalCode → postal_code, zip → postal_code."""
    known = {_fold(c): c for c in choices}
    folded = _fold(word)
    candidates = [folded] + [folded[len(p):] for p in _PREFIXES if folded.startswith(p) and len(folded) > len(p)]
    for f in candidates:
        if f in known:
            return known[f]
        meant = MEANINGS.get(f)
        if meant is not None and _fold(meant) in known:
            return known[_fold(meant)]
    return None


def nearest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most likely meant — same name in another case, the same meaning under
    another name, then the closest spelling — or None. Never `word` itself."""
    choices = sorted(set(choices) - {word})
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return lowered[word.lower()]
    meant = by_meaning(word, choices)
    if meant is not None:
        return meant
    hits = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[hits[0]] if hits else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    choices = sorted(set(choices))
    guess = nearest(word, choices)
    if guess:
        return f"did you mean {guess!r}?"
    shown = ", ".join(choices[:12]) + (" …" if len(choices) > 12 else "")
    return f"known: {shown}"


class LineFinder:
    """Finds the line of a key in TOML text.

    tomllib gives no positions, so we scan: the n-th `[[ruleset]]` header, then the
    key inside that block. Good enough to point a person at the right line.
    """

    _HEADER = re.compile(r"^\s*\[\[?\s*([^\[\]#]*?)\s*\]\]?\s*(#.*)?$")

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self._headers: dict[str, list[int]] | None = None

    def header(self, name: str, occurrence: int = 0) -> int | None:
        # every header's lines, found in one pass: asked once per rule, a rescan each time
        # made loading quadratic in the file's length
        if self._headers is None:
            self._headers = {}
            for i, line in enumerate(self.lines):
                m = self._HEADER.match(line)
                if m:
                    self._headers.setdefault(m.group(1), []).append(i + 1)
        found = self._headers.get(name.strip(), ())
        return found[occurrence] if 0 <= occurrence < len(found) else None

    def key(self, key: str, start: int | None = None) -> int | None:
        """First line at or after `start` (1-based) that assigns `key`, stopping at the next header."""
        pat = re.compile(r"^\s*\"?" + re.escape(key) + r"\"?\s*=")
        begin = (start or 1) - 1
        for i in range(begin, len(self.lines)):
            line = self.lines[i]
            if i > begin and start is not None and re.match(r"^\s*\[", line):
                break
            if pat.match(line):
                return i + 1
        return start

    def anywhere(self, needle: str) -> int | None:
        for i, line in enumerate(self.lines):
            if needle in line:
                return i + 1
        return None
