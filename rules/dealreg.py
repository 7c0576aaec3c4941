"""Deal registration protection: a partner that registered the deal first is not undercut.

Registrations are indexed at partner sync: by email domain (the lead's, or one it lies
under: acme.com covers jo@us.acme.com), and by company name
for fuzzy matching. A lead only fuzzy-compares against registrations that share a
blocking key with it — the pair of any two words of the normalised name, or the name
itself when it is one word — so common words ("global", "systems") cost nothing.

What that tolerates: case, punctuation, accents, umlauts spelt out (Mueller for Müller),
legal forms (Inc., GmbH & Co. KG, B.V. with or without its dots, e.K., a leading "The"),
word order and a typo
in one word of a name with three words or more (two words still match exactly). A typo
in one of only two words is not caught by name; the email domain usually is.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable

from rapidfuzz import fuzz, process

from rules.model import DealRegistration, Lead
from rules.state import FREE_MAIL, company_key_words, normalise_domain

_MAX_WORDS = 6  # words of a name used for blocking keys (15 pairs at most)


@dataclass(frozen=True, slots=True)
class RegistrationMatch:
    registration: DealRegistration
    how: str  # "email domain acme.com" | "company 'Acme' ~ 'ACME Inc.' (96)"


def _words(name: str | None) -> list[str]:
    return company_key_words(name)


def _keys(words: list[str]) -> list[str]:
    distinct = sorted(set(words))
    if len(distinct) <= 2:  # one word, or one pair: most names come down to this
        return distinct if len(distinct) == 1 else [distinct[0] + " " + distinct[1]]
    distinct = distinct[:_MAX_WORDS]
    return [a + " " + b for i, a in enumerate(distinct) for b in distinct[i + 1:]]


class DealRegistrations:
    def __init__(self, registrations: Iterable[DealRegistration], min_score: float = 90.0):
        self.min_score = min_score
        self.by_domain: dict[str, list[DealRegistration]] = {}
        # blocking key → (names word-sorted, their registrations): parallel lists, so that a lead
        # with one key hands rapidfuzz a ready list (process.extract on a list costs less than
        # scoring names one call at a time)
        self.by_key: dict[str, tuple[list[str], list[DealRegistration]]] = {}
        self.words: set[str] = set()  # every word of a registered name: most leads share fewer than two
        self.count = 0
        for reg in sorted(registrations, key=lambda r: r.id):
            if (reg.status or "").strip().lower() != "approved":
                continue  # only approved registrations protect; expiry is checked per decision
            self.count += 1
            d = normalise_domain(reg.email_domain)
            if d:
                self.by_domain.setdefault(d, []).append(reg)
            words = _words(reg.company)
            if words:
                name = " ".join(sorted(words))  # sorted once: token-sort similarity is then plain ratio
                self.words.update(words)
                for key in _keys(words):
                    names, regs = self.by_key.setdefault(key, ([], []))
                    names.append(name)
                    regs.append(reg)

    def matching(self, lead: Lead, now: datetime | date) -> list[RegistrationMatch]:
        """Approved, unexpired registrations for this lead, one per registration, by id.
        `now`: the org's date (a registration expires at the end of it), or a moment,
        whose UTC date is taken."""
        return self.matches(lead, now)[0]

    def matches(self, lead: Lead, now: datetime | date) -> tuple[list[RegistrationMatch], list[RegistrationMatch]]:
        """(the approved, unexpired registrations for this lead; the approved ones that would
        match it but expired before `now`'s date), each one per registration, by id."""
        if not self.count:
            return [], []
        today = None
        found: dict[str, RegistrationMatch] = {}
        expired: dict[str, RegistrationMatch] = {}
        domain = normalise_domain(lead.email_domain or (lead.email or "").rpartition("@")[2] or lead.website)
        if domain and domain not in FREE_MAIL:
            # the company's domain or one under it: a registration for acme.com covers jo@us.acme.com
            by_domain = self.by_domain.get(domain)
            if by_domain is None and domain.count(".") > 1:
                by_domain = next((self.by_domain[d] for d in _parents(domain) if d in self.by_domain), None)
            if by_domain:
                today = now.date() if isinstance(now, datetime) else now
                for reg in by_domain:
                    into = found if _live(reg, today) else expired
                    into.setdefault(reg.id, RegistrationMatch(reg, f"email domain {domain}"))
        words = _words(lead.company)
        vocabulary = self.words
        known = [w for w in words if w in vocabulary]
        if known and (len(known) >= 2 or len(set(words)) == 1):
            keys = _keys(known)
            names: list[str]
            regs: list[DealRegistration]
            if len(keys) == 1:  # the usual case
                names, regs = self.by_key.get(keys[0], ([], []))
            else:  # a registration may come up under several keys: found keeps it once
                names, regs = [], []
                for key in keys:
                    hit = self.by_key.get(key)
                    if hit:
                        names += hit[0]
                        regs += hit[1]
            if names:
                company = " ".join(sorted(words))
                for _, score, k in process.extract(company, names, scorer=fuzz.ratio, score_cutoff=self.min_score,
                                                   limit=None):
                    reg = regs[k]
                    if reg.id not in found and reg.id not in expired:
                        if today is None:
                            today = now.date() if isinstance(now, datetime) else now
                        into = found if _live(reg, today) else expired
                        into[reg.id] = RegistrationMatch(
                            reg, f"company {lead.company} matches the registered {reg.company} "
                                 f"(names {score:.0f}% alike)")
        return _by_id(found), _by_id(expired)


def _by_id(found: dict[str, RegistrationMatch]) -> list[RegistrationMatch]:
    if not found:
        return []
    return [found[k] for k in sorted(found)] if len(found) > 1 else list(found.values())


def _parents(domain: str) -> list[str]:
    """The domains `domain` lies under, nearest first, down to two labels: us.acme.com → acme.com."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(1, len(labels) - 1)]


def _live(reg: DealRegistration, today: date) -> bool:
    return reg.expires is None or reg.expires >= today
