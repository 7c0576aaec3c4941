"""Deal registration as a routing step: a lead that matches a partner's registered deal
(its email domain, or its company name closely enough) is offered to that partner before
any rule is tried. Two partners registering it is a conflict for a person (escalated); a
registering partner that cannot take it now (paused, no rep, at a cap) escalates too.
Matching itself is rules/dealreg.py.
"""
from __future__ import annotations

from datetime import date, datetime

from rules.book import Settings
from rules.caps import Caps
from rules.dealreg import RegistrationMatch
from rules.explain import Explanation, of_partner
from rules.index import PartnerIndex
from rules.model import Decision, DecisionKind, DealRegistration, Lead
from rules.outcomes import Outcomes, Pick
from rules.state import RoutingState

DEAL_REGISTRATION_RULE = "Deal registration"  # Decision.rule of a lead routed by its registration


class RegisteredDeals:
    def __init__(self, index: PartnerIndex, settings: Settings, caps: Caps, outcomes: Outcomes) -> None:
        self.index = index
        self.settings = settings
        self.caps = caps
        self.outcomes = outcomes
        self._today: tuple[datetime, date] | None = None  # (now, the org's date at it)

    def decide(self, lead: Lead, state: RoutingState, now: datetime, ex: Explanation,
               attempt: int) -> Decision | None:
        """The decision a registered deal makes, or None when no live registration of a current
        partner that has not declined this lead matches it (routing goes on to the rules)."""
        registrations = self.index.registrations
        if not registrations.count:
            return None
        today = self._today
        if today is None or today[0] is not now:  # a run decides its batch at one `now`
            # an expiration date is the org's date: it lapses at midnight where the org is, not in UTC
            today = self._today = (now, self.settings.calendar.day(now).date())
        matches, expired = registrations.matches(lead, today[1])
        if not matches and not expired:
            return None
        declined = state.declined(lead.id)
        by_partner: dict[str, list[RegistrationMatch]] = {}
        # an expired registration is passed by, never in silence: explain says which and since when
        notes = [f"registration {_named(m.registration)} for {self.outcomes.name(m.registration.partner_id)} expired "
                 f"on {m.registration.expires:%Y-%m-%d}; not protecting" for m in expired]
        for m in matches:
            pid = m.registration.partner_id
            if pid not in self.index.pos:
                notes.append(f"registration {m.registration.id} belongs to {pid}, not a current partner")
                continue
            if pid in declined:
                notes.append(f"registration {m.registration.id}: {self.outcomes.name(pid)} already {declined[pid]} this lead")
                continue
            by_partner.setdefault(pid, []).append(m)
        ex.deal_registration = {
            "matches": [{"registration": m.registration.id, "partner_id": m.registration.partner_id, "how": m.how}
                        for m in matches],
            "notes": notes,
        }
        if expired:
            ex.deal_registration["expired"] = [
                {"registration": m.registration.id, "partner_id": m.registration.partner_id, "how": m.how,
                 "expired_on": m.registration.expires.isoformat() if m.registration.expires else None}
                for m in expired]
        if not by_partner:
            return None
        if len(by_partner) > 1:
            names = " and ".join(f"{self.outcomes.name(pid)} ({_called(by_partner[pid][0].registration)})"
                                 for pid in sorted(by_partner))
            return self.outcomes.finish(lead, ex, DecisionKind.ESCALATE, attempt, now,
                                f"Conflicting deal registrations: {names}", rule=DEAL_REGISTRATION_RULE,
                                queue_id=self.outcomes.queue(self.settings.escalation_queue))
        (pid, regs), = by_partner.items()
        pos = self.index.pos[pid]
        name = self.outcomes.name(pid)
        problem = None
        if not (self.index.available >> pos) & 1:
            problem = self.index.unavailable_reason(pos)
        else:
            problem = self.caps.blocked(pos, state, now)
        if problem:
            return self.outcomes.finish(lead, ex, DecisionKind.ESCALATE, attempt, now,
                                f"Deal registration {_called(regs[0].registration)} by {name}, but {name} {of_partner(problem)}",
                                rule=DEAL_REGISTRATION_RULE, queue_id=self.outcomes.queue(self.settings.escalation_queue))
        pick = Pick(pos, f"registered deal ({regs[0].how})", {})
        return self.outcomes.offer(lead, ex, pick, None, state, now, attempt, rule_name=DEAL_REGISTRATION_RULE,
                           ruleset=None, hours=self.settings.offer_hours, business_hours=self.settings.business_hours,
                           rep_mode="rotate", summary_extra="")


def _named(reg: DealRegistration) -> str:
    """A registration as explain names it to ops: its Opportunity's name (quoted: a name may
    hold any words) and id, or the id alone."""
    return f"{reg.name!r} ({reg.id})" if reg.name else reg.id


def _called(reg: DealRegistration) -> str:
    """A registration as the Lead's reason names it: its Opportunity's name, the words an
    admin finds it by (search, the partner's Opportunities); the id only where it has none."""
    return reg.name or reg.id
