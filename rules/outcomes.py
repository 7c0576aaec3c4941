"""How a decision ends: an offer to a partner (and which rep), a pool, the escalation or
fallback queue, or unroutable — with its deadline, its reason for the Lead and its trace.

Every routing step (rules, deal registration, hand-down) ends here, so a Decision is
built in one place.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from rules.book import OTHERWISE_WORDS, Rule, Settings
from rules.explain import REASON_MAX, Explanation, RuleTrial, clip, quoted
from rules.index import PartnerIndex
from rules.model import Decision, DecisionKind, Lead
from rules.state import RoutingState
from rules.windows import calendar_text, known_zone, offer_deadline

# how a pool offer's reason says the pool is open, and how it says so once a rep took the lead
POOL_OPEN, POOL_TAKEN = "may pull it", "could pull it"
_KIND_TEXT = {k: k.value for k in DecisionKind}  # Enum .value is a descriptor call; a dict is cheaper
_OFFERED = frozenset({DecisionKind.OFFER, DecisionKind.POOL})  # kinds that put the lead in front of someone


@dataclass(slots=True)
class Pick:
    """The partner a strategy chose: its position, how (for the reason), and the rotation
    keys to move on once the offer is committed."""
    pos: int
    how: str
    rotation: dict[str, str]


class Outcomes:
    def __init__(self, index: PartnerIndex, settings: Settings, queue_ids: Mapping[str, str],
                 queue_labels: Mapping[str, str] | None = None) -> None:
        self.index = index
        self.settings = settings
        self.queue_ids = queue_ids
        self.queue_labels = dict(queue_labels or {})
        self._deadlines: dict[tuple[float, bool, str | None, tuple[int, ...] | None], datetime] = {}  # → deadline at _deadlines_for
        self._deadlines_for: datetime | None = None
        # (hours, business hours, zone, week) → (the calendar kept with the offer, the trace's words)
        self._windows: dict[tuple[float, bool, str | None, tuple[int, ...] | None], tuple[str | None, str]] = {}

    def finish(self, lead: Lead, ex: Explanation, kind: DecisionKind, attempt: int, now: datetime, summary: str, *,
               rule: str | None = None, ruleset: str | None = None, partner_id: str | None = None,
               rep_id: str | None = None, queue_id: str | None = None, deadline: datetime | None = None,
               calendar: str | None = None) -> Decision:
        ex.kind = _KIND_TEXT[kind]
        ex.summary = summary
        if ruleset and not ex.ruleset:
            ex.ruleset = ruleset
        return Decision(
            lead_id=lead.id, kind=kind, reason=summary if len(summary) <= REASON_MAX else clip(summary), rule=rule,
            ruleset=ruleset or ex.ruleset, partner_id=partner_id, rep_id=rep_id, queue_id=queue_id,
            offered_at=now if kind in _OFFERED else None,
            deadline=deadline, attempt=attempt, explanation=ex.to_dict(), calendar=calendar,
        )

    def otherwise(self, lead: Lead, ex: Explanation, outcome: str, attempt: int, now: datetime,
                  rule: str | None, ruleset: str | None, why: str) -> Decision:
        """A rule's or rule set's `otherwise`: escalate, unroutable, or a fallback queue."""
        if outcome == "escalate":
            return self.finish(lead, ex, DecisionKind.ESCALATE, attempt, now, f"Escalated: {why}", rule=rule,
                               ruleset=ruleset, queue_id=self.queue(self.settings.escalation_queue))
        if outcome in OTHERWISE_WORDS:  # unroutable (or "next" with nothing after it)
            return self.finish(lead, ex, DecisionKind.UNROUTABLE, attempt, now, f"Unroutable: {why}", rule=rule,
                               ruleset=ruleset)
        queue_id = self.queue(outcome)
        if queue_id is None:  # the queue went from the org while running: a person still sees the lead
            ex.notes.append(f"fallback queue {outcome} is not in the org (deleted or renamed): escalated instead")
            return self.finish(lead, ex, DecisionKind.ESCALATE, attempt, now,
                               f"Escalated: fallback queue {self.label(outcome)} is not in the org; {why}", rule=rule,
                               ruleset=ruleset, queue_id=self.queue(self.settings.escalation_queue))
        return self.finish(lead, ex, DecisionKind.FALLBACK, attempt, now, f"Fallback queue {self.label(outcome)}: {why}",
                           rule=rule, ruleset=ruleset, queue_id=queue_id)

    def pool(self, rule: Rule, pool: str, lead: Lead, eligible: int, trial: RuleTrial, ex: Explanation,
             now: datetime, attempt: int, state: RoutingState) -> Decision | None:
        queue_id = self.queue(pool)
        if queue_id is None:  # the queue went from the org while running: the next rule has the lead
            trial.outcome = f"pool {self.label(pool)} is not in the org (deleted or renamed)"
            return None
        barred = state.declined(lead.id).get(queue_id)
        if barred:  # a pool is an offer target like a partner: one that let the lead lapse is not asked again
            trial.outcome = f"pool {self.label(pool)} already {barred} this lead"
            return None
        members = self.index.pool_members.get(pool)
        if members:  # the org told us who is in the queue: someone in it must be eligible
            eligible &= members
            if not eligible:
                trial.outcome = f"no eligible partner is a member of {self.label(pool)}"
                return None
        trial.outcome = "pool"
        trial.eligible = eligible.bit_count()
        deadline = self.deadline(now, rule.offer_hours, rule.business_hours, None, ex)
        summary = f"{rule.name}: pool {self.label(pool)}, {trial.eligible} eligible partner(s) {POOL_OPEN}"
        ex.chosen = {"pool": pool, "eligible": trial.eligible}
        calendar = self.window(ex, rule.offer_hours, rule.business_hours, None, None)
        return self.finish(lead, ex, DecisionKind.POOL, attempt, now, summary, rule=rule.name, ruleset=rule.ruleset,
                           queue_id=queue_id, deadline=deadline, calendar=calendar)

    def offer(self, lead: Lead, ex: Explanation, pick: Pick, trial: RuleTrial | None, state: RoutingState,
              now: datetime, attempt: int, *, rule_name: str, ruleset: str | None, hours: float,
              business_hours: bool, rep_mode: str, summary_extra: str) -> Decision:
        idx = self.index
        p = idx.partners[pick.pos]
        rep = None
        reps = idx.active_reps[pick.pos]
        if rep_mode == "rotate" and reps:
            last = state.rep_rotation.get(p.id)
            rep = reps[bisect_right(idx.active_rep_ids[pick.pos], last) % len(reps) if last else 0]
        week = idx.weeks[pick.pos]
        deadline = self.deadline(now, hours, business_hours, p.time_zone, ex, week)
        ex.rotation.update(pick.rotation)
        ex.chosen = {"partner_id": p.id, "partner": p.name, "rep_id": rep.id if rep else None, "how": pick.how}
        calendar = self.window(ex, hours, business_hours, p.time_zone, week)
        counts = ""
        if trial is not None:
            # a nearest pick reads partners lazily: the count is of those at any distance
            counts = f"; {trial.eligible} eligible{' at any distance' if trial.any_distance else ''}"
            excluded = trial.excluded_total
            if excluded:
                counts += f", {excluded} excluded"
        if business_hours and p.time_zone and not known_zone(p.time_zone):
            # the deadline on the Lead is in another zone's working hours than its partner's: say whose
            zone_name = p.time_zone if len(p.time_zone) <= 40 else p.time_zone[:40] + "…"
            counts += (f"; working hours of {self.settings.time_zone}: the partner's Time Zone "
                       f"{quoted(zone_name)} is no time zone")
        summary = f"{summary_extra or rule_name}: {p.name} — {pick.how}{counts}"
        return self.finish(lead, ex, DecisionKind.OFFER, attempt, now, summary, rule=rule_name, ruleset=ruleset,
                           partner_id=p.id, rep_id=rep.id if rep else None, deadline=deadline, calendar=calendar)

    def calendar(self, time_zone: str | None, week: tuple[int, ...] | None) -> tuple[str, tuple[int, ...]]:
        """The zone and days an offer's working hours count in: the partner's where it names
        them (Time_Zone__c, Working_Days__c), else the org's (`time_zone`, `weekdays`)."""
        org = self.settings.time_zone
        zone_name = time_zone if time_zone and known_zone(time_zone) else (org if known_zone(org) else "UTC")
        return zone_name, week or self.settings.weekdays

    def window(self, ex: Explanation, hours: float, business_hours: bool, time_zone: str | None,
               week: tuple[int, ...] | None) -> str | None:
        """The calendar the offer's window counts in (None for wall-clock hours), said in the
        trace with whose week it is."""
        key = (hours, business_hours, time_zone, week)
        known = self._windows.get(key)
        if known is None:  # a handful of windows per rule book: worded once
            if not business_hours:
                known = (None, f"{hours:g} hours round the clock")
            else:
                zone_name, days = self.calendar(time_zone, week)
                text = calendar_text(zone_name, days, self.settings.workday)
                whose = "the partner's Working_Days__c" if week else "the org's [settings] weekdays"
                known = (text, f"{hours:g} working hours, {text} ({whose})")
            self._windows[key] = known
        if ex.chosen is not None:
            ex.chosen["window"] = known[1]
        return known[0]

    def deadline(self, now: datetime, hours: float, business_hours: bool, time_zone: str | None,
                 ex: Explanation, week: tuple[int, ...] | None = None) -> datetime:
        if now is not self._deadlines_for:  # a run offers its whole batch at one `now`
            self._deadlines_for, self._deadlines = now, {}
        key = (hours, business_hours, time_zone, week)
        hit = self._deadlines.get(key)
        if hit is not None:
            return hit
        # A partner that names no zone of its own works the org's hours, as its daily cap
        # counts the org's day (9 to 5 in UTC is the night in Los Angeles).
        org = self.settings.time_zone
        weekdays = week or self.settings.weekdays  # the partner's working days, else the org's
        try:
            deadline = offer_deadline(now, hours, business_hours=business_hours, time_zone=time_zone or org,
                                      workday=self.settings.workday, weekdays=weekdays)
        except ValueError as exc:
            if time_zone is not None and time_zone != org:
                ex.notes.append(f"{exc}; offer window counted in the org's time zone {org}")
                return self.deadline(now, hours, business_hours, None, ex, week)
            ex.notes.append(f"{exc}; offer window counted in UTC")  # the org's own zone is unknown
            deadline = offer_deadline(now, hours, business_hours=business_hours, time_zone=None,
                                      workday=self.settings.workday, weekdays=weekdays)
        self._deadlines[key] = deadline
        return deadline

    def label(self, name: str) -> str:
        """A queue as the Lead's owner field shows it: its label, where the org gave us one; else
        the rules file's name (a queue gone from the org is named as the rules file names it)."""
        return self.queue_labels.get(name) or name

    def queue(self, name: str) -> str | None:
        """A queue's id: from the org's queues, else a known pool's."""
        if name in self.queue_ids:
            return self.queue_ids[name]
        pool = self.index.pools.get(name)
        return pool.id if pool else None

    def name(self, partner_id: str) -> str:
        p = self.index.partner(partner_id)
        return p.name if p else partner_id
