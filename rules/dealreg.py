"""Deal registration protection: a partner that registered the deal first is not undercut.

Registrations are indexed at partner sync: by email domain (exact) and by the tokens
of the normalised company name, so a lead only fuzzy-compares against registrations
sharing a word with it, not against all of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable

from rapidfuzz import fuzz, process

from rules.model import DealRegistration, Lead
from rules.state import normalise_company, normalise_domain

_FREE_MAIL = frozenset({"gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "gmx.de", "web.de",
                        "aol.com", "proton.me", "protonmail.com", "live.com", "msn.com"})


@dataclass(frozen=True, slots=True)
class RegistrationMatch:
    registration: DealRegistration
    how: str  # "email domain acme.com" | "company 'Acme' ~ 'ACME Inc.' (96)"


class DealRegistrations:
    def __init__(self, registrations: Iterable[DealRegistration], min_score: float = 90.0):
        self.min_score = min_score
        self.by_domain: dict[str, list[DealRegistration]] = {}
        self.by_token: dict[str, list[tuple[str, DealRegistration]]] = {}
        self.count = 0
        for reg in sorted(registrations, key=lambda r: r.id):
            if (reg.status or "").lower() != "approved":
                continue  # only approved registrations protect; expiry is checked per decision
            self.count += 1
            d = normalise_domain(reg.email_domain)
            if d:
                self.by_domain.setdefault(d, []).append(reg)
            c = normalise_company(reg.company)
            for tok in set(c.split()):
                if len(tok) >= 3:
                    self.by_token.setdefault(tok, []).append((c, reg))

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
        company = normalise_company(lead.company)
        if company:
            # Block on the lead's rarest known word (a name ≥ 90 % alike shares it); common
            # words ("global", "systems") would otherwise pull in half the book.
            tokens = sorted((len(self.by_token[t]), t) for t in set(company.split()) if t in self.by_token)
            pool: dict[str, tuple[str, DealRegistration]] = {}
            for n, tok in tokens[:1]:
                for name, reg in self.by_token.get(tok, ()):
                    if reg.id not in found and _live(reg, today):
                        pool[reg.id] = (name, reg)
            if pool:
                ids = sorted(pool)
                hits = process.extract(company, [pool[i][0] for i in ids], scorer=fuzz.token_sort_ratio,
                                       score_cutoff=self.min_score, limit=None)
                for _, score, k in hits:
                    reg = pool[ids[k]][1]
                    found[reg.id] = RegistrationMatch(reg, f"company {lead.company!r} ~ {reg.company!r} ({score:.0f})")
        return [found[k] for k in sorted(found)]


def _live(reg: DealRegistration, today: date) -> bool:
    return reg.expires is None or reg.expires >= today
