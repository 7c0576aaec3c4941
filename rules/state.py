"""Everything mutable the engine needs besides partners, as plain data jobs can persist.

The router only reads it; jobs calls `record_offer` once a decision is committed and
`record_outcome` when a partner answers, lets an offer lapse, the lead closes, or the
offer is withdrawn.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from dataclasses import dataclass, field
from datetime import datetime
from heapq import nsmallest
from typing import Any

from rules.model import Decision, DecisionKind
from rules.fiscal import OrgCalendar

OUTCOMES = ("accepted", "rejected", "lapsed", "closed", "lost", "withdrawn")
_KEEP_DAYS = 3  # daily counters older than this are dropped; only today's matter
# Rotation pointers kept: one per rule and per set of partners it admitted (a place, an
# industry…); a set that changed (a partner joined it) leaves its old pointer unused, so
# the least recently moved go first beyond this many.
_KEEP_ROTATIONS = 20_000
# Incumbents kept: a company's name and its email domain are a key each, so some 10,000
# companies at least. Beyond this many (and a tenth more, so the trim is not paid on every
# acceptance) the oldest go first; an org with a million accepted leads keeps its latest.
# Facts older than INCUMBENT_DAYS go at each partner sync (`forget_incumbents`). The job
# layer keeps them in a table of its own, capped alike (jobs/state/incumbents.py).
KEEP_INCUMBENTS = 20_000
KEEP_INCUMBENTS_MOST = KEEP_INCUMBENTS + KEEP_INCUMBENTS // 10
INCUMBENT_DAYS = 365
# Domains of webmail: a lead from a gmail.com address says nothing of its company, and
# taken for one, the first partner to accept a gmail lead would be offered every other.
FREE_MAIL = frozenset({"gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com",
                       "gmx.de", "gmx.net", "web.de", "aol.com", "proton.me", "protonmail.com", "live.com", "msn.com"})
# How a partner came to work a company, as the Lead's reason says it
INCUMBENT_HOW = {"lead": "accepted one of its leads", "opportunity": "on an opportunity of it"}
# Legal-form words dropped from company names before comparing them (and "the": "The Acme
# Company" is Acme Co.). Written with dots, a form is one word: "B.V." is "bv" (below).
_LEGAL_FORMS = frozenset(
    "inc incorporated llc ltd limited gmbh ag sa sas sarl bv nv plc co corp corporation company kk pty srl spa ab oy"
    " kg kgaa ohg ug se bvba sprl vof cv lp llp pte pvt ltda sl sro aps asa oyj kft zrt the"
    .split()
)
_PUNCTUATION = re.compile(r"[^\w\s]+")
# Initials written with dots ("B.V.", "N.V.", "S.p.A.", "L.L.C."), closed up before the
# punctuation goes: blanked, they were single letters ("b v") no legal form matched, and
# "Acme Logistics B.V." did not meet its registration as "Acme Logistics BV".
_DOTTED = re.compile(r"\b\w(?:\.\w)+\b\.?")
# The same blanking for plain-ASCII names (nearly all of them) as a bytes.translate table,
# a fifth of the regex's cost: every ASCII character that is neither \w nor \s becomes a space.
_ASCII_PUNCTUATION = bytes(c if chr(c).isalnum() or chr(c) == "_" or chr(c).isspace() else 32 for c in range(128)) \
    + bytes(range(128, 256))


# Not memoised either (see normalise_domain): measured in a routing run, the cache's misses
# cost more than its hits (incumbent look-ups) saved.
def company_words(name: str | None) -> list[str]:
    """The words of a company name, lower case, without punctuation or legal forms."""
    if not name:
        return []
    low = name.lower()
    if "." in low:
        low = _DOTTED.sub(_closed_up, low)
    if low.isascii():
        text = low.encode("ascii").translate(_ASCII_PUNCTUATION).decode("ascii")
    else:
        # accents as typed or not ("Société Générale", "Societe Generale"): letters without their marks
        folded = "".join(c for c in unicodedata.normalize("NFKD", low.casefold()) if not unicodedata.combining(c))
        text = _PUNCTUATION.sub(" ", folded)
    return [w for w in text.split() if w not in _LEGAL_FORMS]


def _closed_up(m: re.Match[str]) -> str:
    return m.group().replace(".", "")


def normalise_company(name: str | None) -> str:
    """Lower case, no punctuation or legal-form words: `ACME, Inc.` → `acme`."""
    return " ".join(company_words(name))


# German umlauts spelt out where a keyboard lacks them ("Mueller" for Müller, whose accent
# company_words drops: "muller"), and the legal forms of sole traders and associations
# ("e.K.", "e.V.", "GbR"), read alike on both sides of a comparison
_SPELT_OUT = re.compile(r"([aou])e")
_MORE_FORMS = frozenset({"ek", "ev", "eg", "gbr"})


def company_key_words(name: str | None) -> list[str]:
    """The words a company is recognised by: Müller, Mueller and MUELLER e.K. alike."""
    return [_SPELT_OUT.sub(r"\1", w) for w in company_words(name) if w not in _MORE_FORMS]


def company_key(name: str | None) -> str:
    """The key incumbents are kept under, read as deal registrations read a company."""
    return " ".join(company_key_words(name))


# Not memoised: nearly every lead has a domain of its own, and a cache that always misses
# costs more (its bookkeeping, and the memory it keeps warm) than the string operations.
def normalise_domain(domain: str | None) -> str:
    if not domain:
        return ""
    d = domain.strip().lower()
    if "://" in d:
        d = d.split("://", 1)[1]
    d = d.split("/", 1)[0].rpartition("@")[2]
    return d[4:] if d.startswith("www.") else d


def lead_domain(lead: Any) -> str | None:
    """The domain a lead's company is known by: its email domain, else its email's."""
    return lead.email_domain or (lead.email or "").rpartition("@")[2] or None


@lru_cache(maxsize=64)  # one `now` per routing run, asked once per offer
def day_key(now: datetime, time_zone: str | None = None) -> str:
    """The date daily caps count `now` on: the org's date (its time zone, UTC when unnamed)."""
    return OrgCalendar(time_zone=time_zone).day(now).date().isoformat()


@dataclass
class Performance:
    offers: int = 0
    accepted: int = 0
    rejected: int = 0
    lapsed: int = 0
    closed: int = 0
    response_hours_total: float = 0.0
    responses: int = 0

    # Laplace-smoothed rates: a new partner starts at an even 50 %, not at 0 or 100 %.
    @property
    def acceptance_rate(self) -> float:
        return (self.accepted + 1) / (self.accepted + self.rejected + self.lapsed + 2)

    @property
    def conversion_rate(self) -> float:
        return (self.closed + 1) / (self.accepted + 2)

    @property
    def mean_response_hours(self) -> float | None:
        return self.response_hours_total / self.responses if self.responses else None


@dataclass
class RoutingState:
    excluded: dict[str, dict[str, str]] = field(default_factory=dict)  # lead → partner → "rejected"|"lapsed"
    open_offers: dict[str, int] = field(default_factory=dict)  # partner → offers it holds (offered or accepted)
    open_by_lead: dict[str, str] = field(default_factory=dict)  # lead → partner currently holding it
    daily: dict[str, dict[str, int]] = field(default_factory=dict)  # "YYYY-MM-DD" → partner → offers made that day
    rotation: dict[str, str] = field(default_factory=dict)  # rotation key → last partner id chosen
    rep_rotation: dict[str, str] = field(default_factory=dict)  # partner → last rep id offered
    performance: dict[str, Performance] = field(default_factory=dict)
    # "company:acme" / "domain:acme.com" → (partner, since when it works it: epoch seconds,
    # 0 when undated; how: a key of INCUMBENT_HOW). Those of the companies at hand: the job
    # layer keeps them all in a table of their own and hands the router the page's
    # (`take_incumbents`); what is learned meanwhile is kept here too, and in `learned`.
    incumbents: dict[str, tuple[str, int, str]] = field(default_factory=dict)
    # the facts learned since loaded (an acceptance, an Opportunity, a rebuild), for the job
    # layer to write to its table; not in the document
    learned: dict[str, tuple[str, int, str]] = field(default_factory=dict, compare=False, repr=False)
    # the newest fact the cap let go since loaded: one as old is not taken again; not saved
    incumbents_floor: int = field(default=0, compare=False, repr=False)
    offer_rule: dict[str, str] = field(default_factory=dict)  # lead → rule of its current offer (for hand-down)
    # the time zone whose days the daily caps count (the org's: the router sets it from the rule
    # book before deciding, so an offer is counted on the day its cap was checked); not saved
    day_zone: str | None = field(default=None, compare=False, repr=False)
    day_zones: dict[str, str] = field(default_factory=dict, compare=False, repr=False)  # partner → its own zone
    # (now, whose, partner → offers on its own today): the counts the caps read inline when
    # partners' days differ, kept up by record_offer while `now` is the same; not saved
    today: tuple[datetime, object, dict[str, int]] | None = field(default=None, compare=False, repr=False)

    def day_of(self, partner_id: str, now: datetime) -> str:
        """The date `now` counts on for the partner's daily cap: its own, else the org's."""
        return day_key(now, self.day_zones.get(partner_id, self.day_zone))

    # ---------------------------------------------------------------- reads
    def open_count(self, partner_id: str) -> int:
        return self.open_offers.get(partner_id, 0)

    def today_count(self, partner_id: str, now: datetime) -> int:
        day = self.daily.get(self.day_of(partner_id, now))
        return day.get(partner_id, 0) if day else 0

    def declined(self, lead_id: str) -> dict[str, str]:
        return self.excluded.get(lead_id) or {}

    def incumbent(self, company: str | None, domain: str | None) -> str | None:
        found = self.incumbent_of(company, domain)
        return found[0] if found else None

    def incumbent_of(self, company: str | None, domain: str | None) -> tuple[str, int, str] | None:
        """(partner, since, how) of the partner working the lead's company, known by its
        email domain or its name; where the two name different partners, the later one."""
        by_domain = by_name = None
        for key in incumbent_keys(company, domain):
            if key.startswith("domain:"):
                by_domain = self.incumbents.get(key)
            else:
                by_name = self.incumbents.get(key)
        if by_domain and by_name:
            return by_name if by_name[1] > by_domain[1] else by_domain
        return by_domain or by_name

    def perf(self, partner_id: str) -> Performance:
        return self.performance.get(partner_id) or Performance()

    # ---------------------------------------------------------------- writes
    def set_incumbent(self, partner_id: str, *, company: str | None = None, domain: str | None = None,
                      at: datetime | None = None, how: str = "lead") -> None:
        """The partner works this company since `at` (it accepted a lead of it, or is the
        partner on an open or recently won opportunity of it). A fact older than the one
        kept for the company changes nothing: the partner most recently on it wins."""
        since = int(at.timestamp()) if at is not None else 0
        kept, learned = self.incumbents, self.learned
        value = (partner_id, since, how)
        for k in incumbent_keys(company, domain):
            old = kept.get(k)
            if (old is None and (since > self.incumbents_floor or not since)) or (old is not None and old[1] <= since):
                kept[k] = learned[k] = value
        if len(kept) > KEEP_INCUMBENTS_MOST:
            # the oldest facts go, whatever order they were learned in, and none as old comes
            # back: a state rebuilt from the org (its leads in no order of time) keeps the
            # latest, as the live state does (the job layer's table is capped alike)
            gone = nsmallest(len(kept) - KEEP_INCUMBENTS, kept.items(), key=_since)
            for k, _ in gone:
                del kept[k]
                learned.pop(k, None)
            self.incumbents_floor = max(self.incumbents_floor, gone[-1][1][1])

    def take_incumbents(self, found: dict[str, tuple[str, int, str]]) -> None:
        """The incumbents the job layer read for the companies at hand (`incumbent_keys` of
        each lead); a fact learned since loaded that is as late stands."""
        kept = self.incumbents
        for k, value in found.items():
            old = kept.get(k)
            if old is None or old[1] < value[1]:
                kept[k] = value

    def forget_incumbents(self, before: datetime) -> int:
        """Drop what partners were learned to work before `before` (undated facts stay): how many."""
        cut = int(before.timestamp())
        old = [k for k, (_, since, _) in self.incumbents.items() if 0 < since < cut]
        for k in old:
            del self.incumbents[k]
            self.learned.pop(k, None)
        return len(old)

    def record_offer(self, decision: Decision, now: datetime) -> None:
        """The decision was committed: count the offer and move the rotations past the chosen ones."""
        rotation = decision.explanation.get("rotation")
        if rotation:
            pointers = self.rotation
            for key, chosen in rotation.items():  # moved to the end: the order is when each last turned
                pointers.pop(key, None)
                pointers[key] = chosen
            if len(pointers) > _KEEP_ROTATIONS:
                for key in list(pointers)[:len(pointers) - _KEEP_ROTATIONS]:
                    del pointers[key]
        if decision.kind is not DecisionKind.OFFER or not decision.partner_id:
            return
        pid = decision.partner_id
        previous = self.open_by_lead.get(decision.lead_id)
        if previous == pid:
            return  # the same offer recorded twice (a retried commit): count it once
        if previous:
            self._release(previous)
        self.open_by_lead[decision.lead_id] = pid
        if decision.rule:
            self.offer_rule[decision.lead_id] = decision.rule
        self.open_offers[pid] = self.open_offers.get(pid, 0) + 1
        counts = self.daily.setdefault(self.day_of(pid, now), {})
        counts[pid] = counts.get(pid, 0) + 1
        if self.today is not None:
            if self.today[0] is now:
                mine = self.today[2]
                mine[pid] = mine.get(pid, 0) + 1
            else:
                self.today = None
        if len(self.daily) > _KEEP_DAYS:
            for old in sorted(self.daily)[:-_KEEP_DAYS]:
                del self.daily[old]
        if decision.rep_id:
            self.rep_rotation[pid] = decision.rep_id
        perf = self.performance.get(pid)  # not setdefault: it would build a Performance every time
        if perf is None:
            perf = self.performance[pid] = Performance()
        perf.offers += 1

    def record_outcome(self, lead_id: str, partner_id: str, outcome: str, now: datetime,
                       response_hours: float | None = None) -> None:
        """accepted: the partner works it (still counts against capacity); rejected / lapsed: the
        partner is never offered this lead again; closed: the accepted lead was converted (best-fit
        reads `closed` as the partner's conversions); lost: the partner closed the accepted lead
        unconverted, which frees its capacity (no bar: the lead is over); withdrawn: the offer or the acceptance ended
        through nobody's answer — the partner paused, its rep left, a person took the lead over or
        asked for it to be routed again — so the capacity is freed and the track record left as
        it was (neither a conversion nor the partner's fault), and the lead's declines stand."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
        perf = self.performance.setdefault(partner_id, Performance())
        if outcome == "accepted":
            perf.accepted += 1
        elif outcome in ("rejected", "lapsed"):
            setattr(perf, outcome, getattr(perf, outcome) + 1)
            self.excluded.setdefault(lead_id, {})[partner_id] = outcome
            if self.open_by_lead.get(lead_id) == partner_id:
                del self.open_by_lead[lead_id]
                self._release(partner_id)
        else:
            if outcome == "closed":
                perf.closed += 1
                self.excluded.pop(lead_id, None)  # the lead is done; its history need not be kept
            if self.open_by_lead.get(lead_id) == partner_id:
                del self.open_by_lead[lead_id]
                self._release(partner_id)
            self.offer_rule.pop(lead_id, None)
        if response_hours is not None and outcome in ("accepted", "rejected"):
            perf.response_hours_total += float(response_hours)
            perf.responses += 1

    def record_held(self, lead_id: str, partner_id: str) -> None:
        """The partner holds the lead now without an offer of it being recorded: a pool lead
        its rep took, a lead back with the distributor once its resellers declined. It counts
        against the partner's capacity until closed or withdrawn, as an offer it accepted does
        (not against its daily cap: no new offer was made). Uncounted, such leads never filled
        a partner's Capacity__c, and each one closing freed room the partner did not hold."""
        if self.open_by_lead.get(lead_id) == partner_id:
            return  # counted already (the same hold seen twice)
        previous = self.open_by_lead.get(lead_id)
        if previous:
            self._release(previous)
        self.open_by_lead[lead_id] = partner_id
        self.open_offers[partner_id] = self.open_offers.get(partner_id, 0) + 1

    def bar(self, lead_id: str, target_id: str, outcome: str) -> None:
        """A pool queue (or any target without a track record) rejected or let this lead
        lapse: it is never offered this lead again."""
        self.excluded.setdefault(lead_id, {})[target_id] = outcome

    def _release(self, partner_id: str) -> None:
        n = self.open_offers.get(partner_id, 0) - 1
        if n > 0:
            self.open_offers[partner_id] = n
        else:
            self.open_offers.pop(partner_id, None)

    # ---------------------------------------------------------------- per-lead facts
    def take_leads(self, excluded: dict[str, dict[str, str]], holders: dict[str, str],
                   offer_rules: dict[str, str]) -> None:
        """The per-lead facts for the leads at hand (declined targets, who holds each,
        the rule of its current offer), as the state database's rows tell them. They
        are not part of the saved document: a burst of 100,000 open offers must not
        make every page load and save megabytes."""
        self.excluded = excluded
        self.open_by_lead = holders
        self.offer_rule = offer_rules

    # ---------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """The counters (small: per partner, per rotation key), not the per-lead facts nor the
        incumbents (some 70 bytes each, 1.4 MB at the cap: they are rows, written as learned)."""
        return {
            "version": 5,
            "open_offers": dict(self.open_offers),
            "daily": {k: dict(v) for k, v in self.daily.items()},
            "rotation": dict(self.rotation),
            "rep_rotation": dict(self.rep_rotation),
            "performance": {k: vars(v).copy() for k, v in self.performance.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RoutingState":
        version = data.get("version", 1)
        if version not in (1, 2, 3, 4, 5):
            raise ValueError(f"routing state version {data.get('version')!r} is newer than this leadrouter understands")
        # version 1 carried per-lead maps too; they are read from rows now (state migration 3).
        # Up to version 4 the document carried the incumbents: read as learned, so the next
        # save writes them where they are kept now (state migration 10 does it at once)
        found = document_incumbents(data)
        return cls(
            open_offers={k: int(v) for k, v in data.get("open_offers", {}).items()},
            daily={k: {p: int(n) for p, n in v.items()} for k, v in data.get("daily", {}).items()},
            rotation=dict(data.get("rotation", {})),
            rep_rotation=dict(data.get("rep_rotation", {})),
            performance={k: Performance(**v) for k, v in data.get("performance", {}).items()},
            incumbents=found, learned=dict(found),
        )


def incumbent_keys(company: str | None, domain: str | None) -> list[str]:
    """The keys a company's incumbent is kept under: its email domain (not a webmail one)
    and its name as deal registrations read it (umlauts spelt out, no legal form)."""
    d = normalise_domain(domain)
    keys = [f"domain:{d}"] if d and d not in FREE_MAIL else []
    if key := company_key(company):
        keys.append(f"company:{key}")
    return keys


def document_incumbents(data: dict[str, Any]) -> dict[str, tuple[str, int, str]]:
    """The incumbents a routing-state document of version 4 or before carried (none after)."""
    return _incumbents(data.get("incumbents") or {}, data.get("version", 1))


def _since(item: tuple[str, tuple[str, int, str]]) -> int:
    return item[1][1]


def _incumbents(saved: dict[str, Any], version: int) -> dict[str, tuple[str, int, str]]:
    """Incumbents as saved; before version 4 each was a partner alone (undated, learned
    from an accepted lead); before version 3 a company was keyed as typed ("mueller" for
    a Mueller, "muller" for a Müller), so the keys are made again from the saved ones: the
    key is all a saved document keeps of the name, and company_key of a key is its key.
    Where two old keys now meet, the one already in the new form wins."""
    if version >= 4:
        partners: dict[str, str] = {}  # one string per partner, not one per company it works
        hows = {h: h for h in INCUMBENT_HOW}
        return {k: (partners.setdefault(p, p), int(at), hows.get(how, how)) for k, (p, at, how) in saved.items()}
    if version >= 3:
        return {k: (p, 0, "lead") for k, p in saved.items()}

    def already_new(key: str) -> bool:
        kind, _, value = key.partition(":")
        return kind == "company" and value == company_key(value)

    out: dict[str, tuple[str, int, str]] = {}
    for key, partner in sorted(saved.items(), key=lambda kv: already_new(kv[0])):  # new-form keys last: they win
        kind, _, value = key.partition(":")
        out[f"company:{company_key(value)}" if kind == "company" else key] = (partner, 0, "lead")
    return out
