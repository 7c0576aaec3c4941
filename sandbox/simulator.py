"""Partner reps answering offers in the portal, on the org's simulated clock.

Each partner has a behaviour profile (how often its reps accept, reject or ignore an
offer, and how long they take). The first time the simulator sees an offer — a lead
with `Routing_Status__c = 'Offered'`, keyed by lead id and `Offered_At__c` — it
decides the rep's answer once, from a random stream seeded by the simulator's seed,
the lead and the offer time, so the same run plays out the same way whatever the
step cadence. The answer is written when the clock reaches its response time:

- pushed offer (owner is a partner rep): `Partner_Response__c` = Accepted, or Rejected
  with a reason from the restricted list (`Rejection_Reason_Code__c`) and in words
  (`Rejection_Reason__c`), as the portal component writes them; ignoring writes
  nothing and the offer lapses;
- pool offer (owner is a queue with partner reps as members): every member rep decides;
  the earliest one that accepts takes the lead (OwnerId moves from the queue to them).

Writes go through `org.update(..., as_user=rep)`, as a portal edit would: the rep is
LastModifiedBy and SystemModstamp moves. A lead that already carries a response is
left alone: re-offering it is the connector's move, and it clears the response then.

Optionally (`people=` a per-lead chance per step) internal users touch leads as
they do in real orgs: change an owner by hand, tick Do_Not_Route__c, convert a lead.
"""
from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sandbox import ids
from sandbox.errors import SalesforceError

# Rejection_Reason_Code__c's restricted values (salesforce/…/Rejection_Reason_Code__c), and
# how often reps pick each; Rejection_Reason__c gets the code in words, as the portal
# component writes it: "No capacity", or "Out of territory: <the rep's words>".
REJECTION_CODES = ("Out of territory", "No capacity", "Not our product/industry", "Existing customer", "Bad data",
                   "Other")
_REASON_MIX = {"Out of territory": 30, "No capacity": 25, "Not our product/industry": 20, "Existing customer": 8,
               "Bad data": 10, "Other": 7}
# a behaviour leans to its own reason: busy and absent partners lack capacity, picky ones the fit
_REASON_LEAN = {"slow": "No capacity", "ghost": "No capacity", "picky": "Not our product/industry"}
_REASON_WORDS = {
    "Out of territory": ("we only cover the north of the country", "too far from our office", "not our region"),
    "No capacity": ("team fully booked this month", "two reps on leave", "quarter-end crunch"),
    "Not our product/industry": ("we do not sell this product line", "no references in this industry"),
    "Existing customer": ("already a customer of ours", "in a deal with another partner"),
    "Bad data": ("phone number does not work", "company closed", "contact left the company"),
    "Other": ("duplicate of a lead we already work", "customer asked not to be contacted by partners",
              "conflict of interest"),
}  # fmt: skip
REJECTION_REASONS = tuple(f"{code}: {words}" for code in REJECTION_CODES for words in _REASON_WORDS[code]) + tuple(
    c for c in REJECTION_CODES if c != "Other")  # every Rejection_Reason__c text the simulator writes
_SHORTEST_DELAY_HOURS = 1 / 60  # nobody answers within the minute


@dataclass(frozen=True)
class Profile:
    """How a partner's reps answer: chances to accept and reject (the rest is ignored)
    and the response time range in hours after the offer. Within the range, times are
    log-normal, as people answer: most near the range's geometric middle, a long tail of
    late ones (the range is ±2 standard deviations); (h, h) is exactly h hours."""

    name: str
    accept: float
    reject: float
    delay_hours: tuple[float, float]

    def __post_init__(self) -> None:
        if not (0 <= self.accept <= 1 and 0 <= self.reject <= 1 and self.accept + self.reject <= 1):
            raise ValueError(f"profile {self.name!r}: accept ({self.accept}) and reject ({self.reject}) must be "
                             f"chances between 0 and 1 that add up to at most 1 (the rest is ignored)")
        lo, hi = self.delay_hours
        if not 0 <= lo <= hi:
            raise ValueError(f"profile {self.name!r}: delay_hours {self.delay_hours} must be (low, high) with 0 <= low <= high")

    def delay(self, rng: random.Random) -> timedelta:
        """How long one rep takes to answer one offer."""
        lo, hi = self.delay_hours
        if hi <= lo:
            return timedelta(hours=lo)
        floor = max(lo, min(hi, _SHORTEST_DELAY_HOURS))
        median, sigma = math.sqrt(floor * hi), math.log(hi / floor) / 4
        hours = rng.lognormvariate(math.log(median), sigma) if sigma > 0 else median
        return timedelta(hours=min(hi, max(lo, hours)))

    def rejection(self, rng: random.Random) -> tuple[str, str]:
        """(Rejection_Reason_Code__c, Rejection_Reason__c) for one rejection."""
        lean = _REASON_LEAN.get(self.name)
        weights = [w * (3 if code == lean else 1) for code, w in _REASON_MIX.items()]
        code = rng.choices(REJECTION_CODES, weights=weights)[0]
        if code == "Other" or rng.random() < 0.5:  # Other always comes with words, as the component demands
            return code, f"{code}: {rng.choice(_REASON_WORDS[code])}"
        return code, code


PROFILES: dict[str, Profile] = {
    "eager": Profile("eager", accept=0.8, reject=0.1, delay_hours=(0.05, 1.0)),
    "steady": Profile("steady", accept=0.6, reject=0.25, delay_hours=(1.0, 8.0)),
    "picky": Profile("picky", accept=0.35, reject=0.5, delay_hours=(0.5, 6.0)),
    "slow": Profile("slow", accept=0.6, reject=0.2, delay_hours=(20.0, 40.0)),
    "ghost": Profile("ghost", accept=0.2, reject=0.1, delay_hours=(2.0, 30.0)),
}
# how common each behaviour is among partners when nobody says otherwise
PROFILE_MIX = {"eager": 25, "steady": 35, "picky": 15, "slow": 15, "ghost": 10}


@dataclass
class SimStats:
    """What one step did."""

    accepted: int = 0
    rejected: int = 0
    ignored: int = 0
    pool_taken: int = 0
    owner_changed: int = 0
    do_not_route: int = 0
    converted: int = 0
    closed_lost: int = 0  # with a market: accepted leads that ended without a conversion
    failed: int = 0
    events: list[tuple[str, str, str | None]] = field(default_factory=list)  # (lead id, action, user id)

    def _add(self, action: str, lead_id: str, user_id: str | None) -> None:
        setattr(self, action, getattr(self, action) + 1)
        self.events.append((lead_id, action, user_id))


@dataclass
class _Plan:
    due: datetime
    action: str  # accepted | rejected | ignored | pool_taken
    rep_id: str | None
    reason: tuple[str, str] | None = None  # (code, words) for a rejection
    done: bool = False


class PartnerSimulator:
    def __init__(self, org: Any, *, random_seed: int = 0, profiles: dict | None = None, people: float = 0.0,
                 market: Any = None):
        """`profiles` overrides behaviour per partner account id (15 or 18 chars), or for
        every partner with the key "*"; values are a profile name or a `Profile`.
        `market` (sandbox.market.Market named after the org's partner accounts): its partners
        answer from hidden per-segment propensities and true capacity instead of a profile,
        and their accepted leads convert (or close unconverted) as the market says."""
        if not 0 <= people <= 1:
            raise ValueError(f"people={people}: the chance that a person touches a lead in a step must be between 0 and 1")
        self.org = org
        self.random_seed = random_seed
        self.people = people
        self._overrides: dict[str, Profile] = {}
        self._drawn: dict[str, Profile] = {}  # partner id -> profile drawn from the mix
        for key, value in (profiles or {}).items():
            self.set_profile(key, value)
        self._plans: dict[tuple[str, datetime], _Plan | None] = {}
        self._refused: dict[tuple[str, datetime], set[str]] = {}  # pool pick-ups the connector put back
        self.market = market
        self._loads: dict[str, int] | None = None  # partner → leads its reps hold, per step (market only)
        self._closes: dict[tuple[str, str], tuple[datetime, Any]] = {}  # (lead, owner) → (due, market Close)
        self._members: dict[str, list[str]] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # ---- profiles ------------------------------------------------------------------
    def set_profile(self, partner_id: str, profile: str | Profile) -> None:
        if isinstance(profile, str):
            if profile not in PROFILES:
                raise ValueError(f"unknown partner behaviour {profile!r} for {partner_id}; "
                                 f"use one of {sorted(PROFILES)} or pass a sandbox.simulator.Profile")
            profile = PROFILES[profile]
        key = partner_id if partner_id == "*" else ids.to18(partner_id)
        self._overrides[key] = profile

    def profile_for(self, partner_id: str) -> Profile:
        if partner_id in self._overrides:
            return self._overrides[partner_id]
        if "*" in self._overrides:
            return self._overrides["*"]
        drawn = self._drawn.get(partner_id)
        if drawn is None:
            rng = random.Random(f"{self.random_seed}:profile:{partner_id}")
            drawn = self._drawn[partner_id] = PROFILES[rng.choices(list(PROFILE_MIX), weights=list(PROFILE_MIX.values()))[0]]
        return drawn

    # ---- stepping ------------------------------------------------------------------
    def step(self, now: datetime | None = None) -> SimStats:
        """Play every answer due by `now` (default: the org's clock)."""
        now = now or self.org.clock.now()
        stats = SimStats()
        with self.org.lock:
            offered = [lead for lead in self.org.records("Lead")
                       if lead.get("Routing_Status__c") == "Offered" and lead.get("Offered_At__c")
                       and not lead.get("IsConverted")]
            live = set()
            self._members = None  # pool membership, read once per step when a pool offer needs it
            self._loads = None
            for lead in offered:
                key = (lead["Id"], lead["Offered_At__c"])
                live.add(key)
                plan = self._plans.get(key)
                if plan is not None and plan.done and plan.action == "pool_taken" and self._queue_of(lead):
                    # the connector put the lead back in the pool (a taker its rule does not
                    # admit): the other members see it in the queue again, and may take it
                    refused = self._refused.setdefault(key, set())
                    refused.add(plan.rep_id or "")
                    plan = self._plans[key] = self._decide_pool(lead, lead["OwnerId"], lead["Offered_At__c"],
                                                                refused=refused, seen=now)
                if plan is None:
                    # no plan yet, or nothing to do last time (no portal owner, already
                    # answered): look again, someone may have moved the lead since
                    plan = self._plans[key] = self._decide(lead)
                if plan is None or plan.done or plan.due > now:
                    continue
                try:
                    self._act(lead, plan, stats)
                except SalesforceError as exc:
                    # the org refused the portal edit (a validation a test set up): the
                    # offer simply gets no answer, as when a rep's save fails
                    stats.failed += 1
                    stats.events.append((lead["Id"], f"failed: {exc.error_code}", plan.rep_id))
            # offers that moved on (answered, re-offered, closed) need no memory
            for key in [k for k in self._plans if k not in live]:
                del self._plans[key]
                self._refused.pop(key, None)
            if self.market is not None:
                self._market_closes(now, stats)
            if self.people:
                self._people(now, stats)
        return stats

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Step on the org's clock every `interval` wall seconds until `stop` is set (for a
        background thread in the demo or a served sandbox)."""
        while not stop.wait(interval):
            self.step()

    def start(self, interval: float = 1.0) -> None:
        """Answer offers from a background thread until `stop()`; a second start is a no-op."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, args=(self._stop, interval),
                                        name="sandbox-partner-simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread, if one runs; safe to call at any time."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=5)
        self._thread = None

    def _decide(self, lead: dict) -> _Plan | None:
        if lead.get("Partner_Response__c"):
            return None
        owner = lead.get("OwnerId") or ""
        offered_at: datetime = lead["Offered_At__c"]
        if owner.startswith(ids.PREFIXES["Group"]):
            return self._decide_pool(lead, owner, offered_at)
        rep = self.org.get("User", owner)
        if rep is None or not rep.get("AccountId"):
            return None  # an internal owner: nobody in the portal to answer
        if self.market is not None and self.market.knows(rep["AccountId"]):
            return self._decide_market(lead, rep, owner, offered_at)
        rng = random.Random(f"{self.random_seed}:offer:{lead['Id']}:{offered_at.isoformat()}")
        profile = self.profile_for(rep["AccountId"])
        roll = rng.random()
        due = offered_at + profile.delay(rng)
        if not rep.get("IsActive"):
            return _Plan(due, "ignored", owner)  # a deactivated rep never logs in
        if roll < profile.accept:
            return _Plan(due, "accepted", owner)
        if roll < profile.accept + profile.reject:
            return _Plan(due, "rejected", owner, profile.rejection(rng))
        return _Plan(due, "ignored", owner)

    def _decide_market(self, lead: dict, rep: dict, owner: str, offered_at: datetime) -> _Plan:
        """The market's answer: from the partner's hidden propensities for this lead's segment
        and its true capacity against the leads its reps already hold."""
        if self._loads is None:
            account = {u["Id"]: u.get("AccountId") for u in self.org.records("User") if u.get("AccountId")}
            self._loads = {}
            for other in self.org.records("Lead"):
                pid = account.get(other.get("OwnerId") or "")
                if pid and other.get("Routing_Status__c") in ("Offered", "Accepted") and not other.get("IsConverted"):
                    self._loads[pid] = self._loads.get(pid, 0) + 1
        pid = rep["AccountId"]
        load = max(0, self._loads.get(pid, 0) - 1)  # this offer is one of the leads it holds
        answer = self.market.answer(pid, self.market.lead_from_record(lead), offered_at, load,
                                    int(lead.get("Routing_Attempt__c") or 1))
        due = offered_at + timedelta(hours=max(answer.hours, _SHORTEST_DELAY_HOURS))
        if not rep.get("IsActive") or answer.outcome == "lapsed":
            return _Plan(due, "ignored", owner)
        if answer.outcome == "accepted":
            return _Plan(due, "accepted", owner)
        return _Plan(due, "rejected", owner, (answer.reason, answer.reason))

    def _market_closes(self, now: datetime, stats: SimStats) -> None:
        """Accepted leads of market partners end as the market says: converted (with the
        partner on the Lead) or closed unconverted, days after the simulator saw them accepted."""
        users = self.org.table("User")
        seen = set()
        for lead in list(self.org.records("Lead")):
            if lead.get("Partner_Response__c") != "Accepted" or lead.get("IsConverted") \
                    or (lead.get("Status") or "").startswith("Closed"):
                continue
            owner = lead.get("OwnerId") or ""
            pid = (users.get(owner) or {}).get("AccountId")
            if not pid or not self.market.knows(pid):
                continue
            key = (lead["Id"], owner)
            seen.add(key)
            if key not in self._closes:
                close = self.market.close(pid, self.market.lead_from_record(lead), now)
                self._closes[key] = (now + timedelta(days=close.days), close)
            due, close = self._closes[key]
            if due > now:
                continue
            if close.converted:
                self.org.update("Lead", lead["Id"], {"IsConverted": True, "ConvertedDate": now.date(),
                                                     "Status": "Closed - Converted", "PartnerAccountId": pid},
                                as_user=owner, system=True)
                stats._add("converted", lead["Id"], owner)
            else:
                self.org.update("Lead", lead["Id"], {"Status": "Closed - Not Converted"}, as_user=owner)
                stats._add("closed_lost", lead["Id"], owner)
            seen.discard(key)
        for key in [k for k in self._closes if k not in seen]:
            del self._closes[key]

    def _decide_pool(self, lead: dict, queue_id: str, offered_at: datetime, refused: set[str] | frozenset[str] = frozenset(),
                     seen: datetime | None = None) -> _Plan | None:
        """Which member rep takes the pool's lead, and when; `refused`: reps whose pick-up the
        connector put back, who do not try again; `seen`: when the others saw it back."""
        if self._members is None:
            self._members = {}
            for m in self.org.records("GroupMember"):
                self._members.setdefault(m["GroupId"], []).append(m["UserOrGroupId"])
        members = self._members.get(queue_id, [])
        takers = []
        # one stream per pool offer, drawn member by member in id order
        rng = random.Random(f"{self.random_seed}:pool:{lead['Id']}:{offered_at.isoformat()}:{len(refused)}")
        users = self.org.table("User")  # member ids are stored 18-char: no need to normalise
        for rep_id in sorted(members):
            rep = users.get(rep_id)
            if rep is None or not rep.get("IsActive") or not rep.get("AccountId") or rep_id in refused:
                continue
            profile = self.profile_for(rep["AccountId"])
            wants = rng.random() < profile.accept
            due = (seen or offered_at) + profile.delay(rng)
            if wants:
                takers.append((due, rep_id))
        if not takers:
            # nobody in the pool wants it: the offer lapses in the queue
            return None if not members else _Plan(offered_at, "ignored", None)
        due, rep_id = min(takers)
        return _Plan(due, "pool_taken", rep_id)

    def _act(self, lead: dict, plan: _Plan, stats: SimStats) -> None:
        plan.done = True
        if plan.action in ("accepted", "rejected") and (lead["OwnerId"] != plan.rep_id or lead.get("Partner_Response__c")):
            return  # someone moved the lead or answered for the rep meanwhile: the offer is gone
        if plan.action == "accepted":
            self.org.update("Lead", lead["Id"], {"Partner_Response__c": "Accepted"}, as_user=plan.rep_id,
                            acted_at=plan.due)
        elif plan.action == "rejected":
            code, words = plan.reason or ("Other", "Other: no reason given")
            self.org.update("Lead", lead["Id"], {"Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": code,
                                                 "Rejection_Reason__c": words}, as_user=plan.rep_id,
                            acted_at=plan.due)  # fmt: skip
        elif plan.action == "pool_taken":
            if lead["OwnerId"] != self._queue_of(lead):
                return
            self.org.update("Lead", lead["Id"], {"OwnerId": plan.rep_id}, as_user=plan.rep_id, acted_at=plan.due)
        stats._add(plan.action, lead["Id"], plan.rep_id)

    def _queue_of(self, lead: dict) -> str | None:
        owner = lead.get("OwnerId") or ""
        return owner if owner.startswith(ids.PREFIXES["Group"]) else None

    # ---- people in the org ---------------------------------------------------------
    def _people(self, now: datetime, stats: SimStats) -> None:
        """Internal users' own edits, the ones the connector must notice and respect."""
        person = getattr(self.org, "admin_user_id", "") or self.org.integration_user_id
        rng = random.Random(f"{self.random_seed}:people:{now.isoformat()}")
        for lead in list(self.org.records("Lead")):
            if lead.get("IsConverted") or lead.get("Routing_Status__c") not in (None, "Pending", "Offered"):
                continue
            if rng.random() >= self.people:
                continue
            what = rng.choice(("owner_changed", "do_not_route", "converted"))
            if what == "owner_changed":
                if lead["OwnerId"] == person:
                    continue
                self.org.update("Lead", lead["Id"], {"OwnerId": person}, as_user=person)
            elif what == "do_not_route":
                if lead.get("Do_Not_Route__c"):
                    continue
                self.org.update("Lead", lead["Id"], {"Do_Not_Route__c": True}, as_user=person)
            else:
                # conversion is its own API call in Salesforce; the store's system path plays it
                self.org.update("Lead", lead["Id"], {"IsConverted": True, "ConvertedDate": now.date(),
                                                     "Status": "Closed - Converted"}, as_user=person, system=True)
            stats._add(what, lead["Id"], person)
