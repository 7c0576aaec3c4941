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

_BLOCK = 64  # registrations fuzzily compared per lead before narrowing by a second word
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
        by_token: dict[str, list[tuple[str, DealRegistration]]] = {}
        self.count = 0
        for reg in sorted(registrations, key=lambda r: r.id):
            if (reg.status or "").lower() != "approved":
                continue  # only approved registrations protect; expiry is checked per decision
            self.count += 1
            d = normalise_domain(reg.email_domain)
            if d:
                self.by_domain.setdefault(d, []).append(reg)
            words = normalise_company(reg.company).split()
            c = " ".join(sorted(words))  # sorted once here: token-sort similarity is then plain ratio
            for tok in set(words):
                if len(tok) >= 3:
                    by_token.setdefault(tok, []).append((c, reg))
        # per word: the names to compare (one list, handed to rapidfuzz whole), their registrations,
        # and the registration ids as a set for intersecting two words' lists
        self.by_token: dict[str, tuple[list[str], list[DealRegistration], frozenset[str]]] = {
            tok: ([name for name, _ in entries], [reg for _, reg in entries],
                  frozenset(reg.id for _, reg in entries))
            for tok, entries in by_token.items()
        }

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
        if words:
            company = " ".join(sorted(words))
            # Block on the lead's rarest known word (a name ≥ 90 % alike shares it); when even
            # that word is common ("global", "systems"), on registrations holding its two rarest.
            known = sorted((len(self.by_token[t][0]), t) for t in set(words) if t in self.by_token)
            if known:
                names, regs, _ = self.by_token[known[0][1]]
                if len(names) > _BLOCK and len(known) > 1:
                    both = self.by_token[known[1][1]][2]
                    keep = [i for i, reg in enumerate(regs) if reg.id in both]
                    names, regs = [names[i] for i in keep], [regs[i] for i in keep]
                for _, score, k in process.extract(company, names, scorer=fuzz.ratio,
                                                   score_cutoff=self.min_score, limit=None):
                    reg = regs[k]
                    if reg.id not in found and _live(reg, today):
                        found[reg.id] = RegistrationMatch(
                            reg, f"company {lead.company!r} ~ {reg.company!r} ({score:.0f})")
        return [found[k] for k in sorted(found)]


def _live(reg: DealRegistration, today: date) -> bool:
    return reg.expires is None or reg.expires >= today
