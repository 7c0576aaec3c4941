"""Deal registration protection: a partner that registered the deal first is not undercut.

Registrations are indexed at partner sync: by email domain (exact), and by company name
for fuzzy matching. A lead only fuzzy-compares against registrations that share a
blocking key with it — the pair of any two words of the normalised name, or the name
itself when it is one word — so common words ("global", "systems") cost nothing.

What that tolerates: case, punctuation, legal forms (Inc., GmbH), word order and a typo
in one word of a name with three words or more (two words still match exactly). A typo
in one of only two words is not caught by name; the email domain usually is.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable

from rapidfuzz import fuzz, process

from rules.model import DealRegistration, Lead
from rules.state import normalise_company, normalise_domain

_MAX_WORDS = 6  # words of a name used for blocking keys (15 pairs at most)
_FREE_MAIL = frozenset({"gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "gmx.de", "web.de",
                        "aol.com", "proton.me", "protonmail.com", "live.com", "msn.com"})


@dataclass(frozen=True, slots=True)
class RegistrationMatch:
    registration: DealRegistration
    how: str  # "email domain acme.com" | "company 'Acme' ~ 'ACME Inc.' (96)"


def _keys(words: list[str]) -> list[str]:
    distinct = sorted(set(words))
    if len(distinct) == 1:
        return distinct
    distinct = distinct[:_MAX_WORDS]
    return [a + " " + b for i, a in enumerate(distinct) for b in distinct[i + 1:]]


class DealRegistrations:
    def __init__(self, registrations: Iterable[DealRegistration], min_score: float = 90.0):
        self.min_score = min_score
        self.by_domain: dict[str, list[DealRegistration]] = {}
        self.by_key: dict[str, list[tuple[str, DealRegistration]]] = {}
        self.words: set[str] = set()  # every word of a registered name: most leads share fewer than two
        self.count = 0
        for reg in sorted(registrations, key=lambda r: r.id):
            if (reg.status or "").lower() != "approved":
                continue  # only approved registrations protect; expiry is checked per decision
            self.count += 1
            d = normalise_domain(reg.email_domain)
            if d:
                self.by_domain.setdefault(d, []).append(reg)
            words = normalise_company(reg.company).split()
            if words:
                name = " ".join(sorted(words))  # sorted once: token-sort similarity is then plain ratio
                self.words.update(words)
                for key in _keys(words):
                    self.by_key.setdefault(key, []).append((name, reg))

    def matching(self, lead: Lead, now: datetime) -> list[RegistrationMatch]:
        """Approved, unexpired registrations for this lead, one per registration, by id."""
        if not self.count:
            return []
        today = now.date() if isinstance(now, datetime) else now
        found: dict[str, RegistrationMatch] = {}
        domain = normalise_domain(lead.email_domain or (lead.email or "").rpartition("@")[2] or lead.website)
        if domain and domain not in _FREE_MAIL:
            for reg in self.by_domain.get(domain, ()):
                if _live(reg, today):
                    found.setdefault(reg.id, RegistrationMatch(reg, f"email domain {domain}"))
        words = normalise_company(lead.company).split()
        known = [w for w in words if w in self.words]
        if known and (len(known) >= 2 or len(set(words)) == 1):
            candidates: dict[str, tuple[str, DealRegistration]] = {}
            by_key = self.by_key
            for key in _keys(known):
                for name, reg in by_key.get(key, ()):
                    candidates[reg.id] = (name, reg)
            if candidates:
                company = " ".join(sorted(words))
                ids = sorted(candidates)
                for _, score, k in process.extract(company, [candidates[i][0] for i in ids], scorer=fuzz.ratio,
                                                   score_cutoff=self.min_score, limit=None):
                    reg = candidates[ids[k]][1]
                    if reg.id not in found and _live(reg, today):
                        found[reg.id] = RegistrationMatch(
                            reg, f"company {lead.company!r} ~ {reg.company!r} ({score:.0f})")
        return [found[k] for k in sorted(found)] if found else []


def _live(reg: DealRegistration, today: date) -> bool:
    return reg.expires is None or reg.expires >= today
