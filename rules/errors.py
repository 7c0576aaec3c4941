"""Problems in the files people edit, all reported at once with where and how to fix them, and
the name a typo meant. The bottom of the layers: config, mappings and rules report through it."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Iterable


# What a terminal acts on instead of showing: C0 and C1 controls, DEL, the line and
# paragraph separators (a line break to editors, log viewers and str.splitlines) and the
# marks that reorder text (bidi overrides, isolates). jobs/printable.py escapes org text by
# the same.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escaped(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in a file a person edits (config, mappings, rules): where, what, and the fix.

    The one shape every layer reports in, so `leadrouter validate` and a refused start
    read the same whichever file is wrong."""

    file: str
    line: int | None
    key: str  # dotted path, e.g. "ruleset[2].rule[1].when"
    message: str
    fix: str | None = None
    severity: str = "error"  # "error" stops start-up; "warning" is worth a look

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.severity}: {self.key}: {self.message}" if self.key else (
            f"{where}: {self.severity}: {self.message}")
        # one line whatever it quotes: a key written "\u001b[2J…" or "a\nb" in a TOML file
        return UNSAFE.sub(_escaped, f"{text} — fix: {self.fix}" if self.fix else text)


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
    another name, then the closest spelling (ignoring case, `_`, spaces and `__c` first) —
    or None. Never `word` itself."""
    pool = sorted({c for c in choices if c} - {word})
    if not word or not pool:
        return None
    lowered = {c.lower(): c for c in pool}
    if word.lower() in lowered:
        return lowered[word.lower()]
    meant = by_meaning(word, pool)
    if meant is not None:
        return meant
    folded: dict[str, str] = {}
    for c in pool:  # `Partner_Teir__c` and `partner tier` both find `Partner_Tier__c`
        folded.setdefault(_fold(c), c)
    hits = difflib.get_close_matches(_fold(word), list(folded), n=1, cutoff=0.72)
    if hits:
        return folded[hits[0]]
    hits = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[hits[0]] if hits else None


def did_you_mean(word: str, choices: Iterable[str], *, or_known: bool = True) -> str:
    """The fix for a name that is not one of `choices`: "did you mean 'x'?" for the one most
    likely meant; when none is close, the names there are ("known: a, b, …"), or "" when
    `or_known` is False (a message that lists the choices itself)."""
    choices = sorted(set(choices))
    guess = nearest(word, choices)
    if guess:
        return f"did you mean {guess!r}?"
    if not or_known:
        return ""
    shown = ", ".join(choices[:12]) + (" …" if len(choices) > 12 else "")
    return f"known: {shown}"


def toml_problem(file: str, text: str, exc: Exception, key: str = "") -> Problem:
    """tomllib's refusal of a file (config, mapping or rule file) in words, at its line, with
    the fix for what it refused: a key or table given twice is no quote or bracket problem."""
    said = str(exc)
    at = re.search(r"\(at line (\d+), column \d+\)$", said)
    line = int(at.group(1)) if at else None
    lines = text.splitlines()
    written = lines[line - 1].strip() if line is not None and line <= len(lines) else ""
    header = re.fullmatch(r"\[\[?[^\[\]]+\]\]?\s*(#.*)?", written)  # else the brackets are the problem
    twice = re.match(r"Cannot declare \((.*)\) twice", said)
    if twice and header:
        table = ".".join(part.strip().strip("'\"") for part in twice.group(1).split(",") if part.strip())
        return Problem(file, line, key, f"table [{table}] declared twice",
                       f"merge the two [{table}] tables into one: TOML declares a table once")
    if said.startswith("Cannot overwrite a value") and (header or "=" in written):
        name = written.partition("#")[0].strip("[] ") if header else written.partition("=")[0].strip()
        if name:
            return Problem(file, line, key, f"{name!r} is set twice (here and above)",
                           "keep one of the lines that set it and delete the other")
    return Problem(file, line, key, f"not valid TOML: {said}",
                   "fix the syntax at that line (quotes, brackets, `key = value`)")
