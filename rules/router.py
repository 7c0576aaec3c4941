"""The routing engine: lead in, decision out. Pure: partners come from the index, memory
from RoutingState (read only), time from the caller.

The Router is the order of a decision — built-in checks, [[gate]], deal registration, the
first rule set that applies and its rules top-down, the rule set's `otherwise` — and the
trial of one rule. Each step is a module of its own, used through its public methods:

* rules/eligibility.py — which partners may take the lead under a rule (candidates);
* rules/distribution.py — which of them gets the offer (the strategies);
* rules/caps.py — whether a partner may take one more offer now;
* rules/registered.py — deal registration before any rule;
* rules/handdown.py — a distributor's lead handed down to its resellers;
* rules/outcomes.py — the Decision each of them ends in.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from rules.book import Rule, RuleBook
from rules.caps import Caps
from rules.distribution import Distribution
from rules.eligibility import Eligibility
from rules.errors import Problem, RulesError, did_you_mean
from rules.explain import Explanation, RuleTrial, dropped_value_reason, why_nobody
from rules.expressions import time_values
from rules.handdown import HandDown
from rules.index import PartnerIndex
from rules.model import Decision, DecisionKind, Lead
from rules.outcomes import Outcomes
from rules.registered import RegisteredDeals
from rules.spelling import Spelling
from rules.state import RoutingState

# Routing_Rule__c of a lead a [[gate]] check stopped: in words an admin reads on the Lead,
# as "Deal registration" and "Escalation" are, not the rule file's table name
GATE_RULE = "Gate check"


_CAP_KINDS = ("at capacity", "at daily cap")  # rules/caps.py: the kinds a capped partner is excluded as


class Router:
    def __init__(self, book: RuleBook, index: PartnerIndex, *, queue_ids: Mapping[str, str] | None = None,
                 learner: Any = None, queue_labels: Mapping[str, str] | None = None):
        self.book = book
        self.index = index
        self.settings = book.settings
        self.queue_ids = dict(queue_ids or {})
        if learner is None and any(r.distribute == "predictive" for r in book.rules):
            from rules.predictive import Predictor, tuning  # numpy: loaded only when a rule predicts
            learner = Predictor(**tuning(book.settings))  # priors only: nothing learnt yet
        self.caps = Caps(index, book.settings)
        # a queue as the admin sees it owning the lead (its label), by the rules file's name
        self.outcomes = Outcomes(index, book.settings, self.queue_ids, queue_labels)
        self.eligibility = Eligibility(book, index)
        self.distribution = Distribution(index, book.settings, self.caps, self.outcomes.name, learner)
        self.registered = RegisteredDeals(index, book.settings, self.caps, self.outcomes)
        self.handdown = HandDown(book, index, self.caps, self.outcomes, self.try_rule)
        self._tv_for: datetime | None = None
        self._tv: dict[str, datetime] = {}
        self._not_met: dict[str, RuleTrial] = {}
        self._rules_by_name = {r.name: r for r in book.rules}
        self._gates = tuple((g.when.matches, g.reason) for g in book.gate)
        self.spelling = Spelling.build(book, index)  # "hot", "web " read as the rules write them
        known = set(self.queue_ids) | set(index.pools)
        missing = sorted(n for n in book.queue_names() if n not in known)
        if missing:
            raise RulesError([
                Problem(book.source, None, "queues", f"queue {name!r} is not in the org",
                        did_you_mean(name, known) if known else "create the queue or pass its id in queue_ids")
                for name in missing
            ])

    @property
    def learner(self) -> Any:
        """distribute = "predictive": rules.predictive.Predictor, kept by jobs."""
        return self.distribution.learner

    @learner.setter
    def learner(self, learner: Any) -> None:
        self.distribution.learner = learner

    # ================================================================ public
    def decide(self, lead: Lead, state: RoutingState, now: datetime, *, attempt: int = 1) -> Decision:
        """The decision for one lead. Does not touch `state`: call `state.record_offer` once committed."""
        return self._route(lead, state, now, attempt, full=False)[0]

    def explain(self, lead: Lead, state: RoutingState, now: datetime, *, attempt: int = 1) -> Explanation:
        """The full trace: every rule tried and every candidate's exclusion, not just the first few met."""
        return self._route(lead, state, now, attempt, full=True)[1]

    def would_apply(self, rule_name: str, lead: Lead, now: datetime) -> bool:
        """Whether the rule would take up `lead` were it reached: its rule set's `when`, its
        own `when` and its territories hold, whatever the rules before it decided. A rule
        that took no lead of a sample is dead where this is false for all of them, and
        pre-empted by the rules before it where it is true for some."""
        rule = self._rules_by_name.get(rule_name)
        if rule is None:
            return False
        lead = self.spelling.lead(lead)
        tv = time_values(_aware(now), self.book.settings.calendar)
        ruleset = next((rs for rs in self.book.rulesets if rs.name == rule.ruleset), None)
        if ruleset is not None and not ruleset.when.matches(lead, tv):
            return False
        if not rule.when.matches(lead, tv):
            return False
        if rule.match.territories or rule.pools_by_territory:
            return self.eligibility.territory_pool(rule, lead, RuleTrial(rule.name, rule.ruleset, ""))[0]
        return True

    def hand_down(self, lead: Lead, distributor_id: str, state: RoutingState, now: datetime, *,
                  attempt: int = 1) -> Decision:
        """Multi-tier: a distributor accepted `lead`; offer it to one of its resellers (child accounts)
        under the hand-down rule of the rule that offered the distributor the lead, else the rule
        file's [hand_down], else plain round robin among its active resellers (rules/handdown.py)."""
        return self.handdown.decide(self.spelling.lead(lead), distributor_id, state, _aware(now), attempt)

    def rotation_of(self, lead: Lead, rule_name: str, partner_id: str) -> dict[str, str]:
        """The rotation pointers an offer of `lead` to `partner_id` under `rule_name` moved
        (rotation key → partner), so a rebuilt state goes on where the rotations stood. A rule
        the book does not know (deal registration) gives its name only."""
        rule = self._rules_by_name.get(rule_name)
        if rule is None and rule_name == self.handdown.default_rule.name:
            rule = self.handdown.default_rule
        pos = self.index.pos.get(partner_id)
        if rule is None or pos is None:
            return {rule_name: partner_id}
        restrict = None
        if rule.ruleset == "hand_down":  # a reseller's turn among its own distributor's resellers
            restrict = self.index.children.get(self.index.partners[pos].parent_id or "", 0)
        found = self.eligibility.candidates(rule, lead, RuleTrial(rule.name, rule.ruleset, ""), restrict)
        if found is None or not (found[0] >> pos) & 1:
            return {rule_name: partner_id}
        seg = self.distribution.segment(rule.name, found[0])
        if rule.distribute == "weighted":
            idx = self.index
            if rule.weight_by == "tier":
                cls = next((t for t in idx.tier_order if (idx.tier[t] >> pos) & 1), "(no tier)")
            else:
                weight = idx.partners[pos].weight
                cls = f"{float(weight if weight is not None else 1.0):g}"
            seg = seg.sub(cls)
        return {seg.key: partner_id, seg.rule: partner_id}

    def admits(self, lead: Lead, rule_name: str, partner_id: str, state: RoutingState, now: datetime) -> str | None:
        """Does the pool rule `rule_name` admit `partner_id` for `lead` now? A pool is offered
        a lead for the members its rule admits, but every member's rep reaches the queue.
        None when it does (or the book no longer has the rule, or the partner is not one the
        index knows: nothing to hold the pick-up to); else why not, in words naming the
        criterion and the lead's value. A bar (rejected, lapsed) is the caller's to check
        first; a paused partner's pick-up is a pick-up (rules/lifecycle.py), and so is one by
        a partner at its daily cap or its capacity: caps keep the connector from pushing
        more on a partner, and a pick-up is the partner's own choice to take one more."""
        rule = self._rules_by_name.get(rule_name)
        pos = self.index.pos.get(partner_id)
        if rule is None or pos is None:
            return None
        now = _aware(now)
        lead = self.spelling.lead(lead)
        if self.settings.deal_registration and self.index.registrations.count:
            owners = {m.registration.partner_id for m in self.index.registrations.matching(
                lead, self.settings.calendar.day(now).date())} - set(state.declined(lead.id))
            owners &= set(self.index.pos)
            if partner_id in owners:
                return None  # its own registered deal: that outranks every rule
            if owners:
                return "another partner registered this deal (deal registration)"
        trial = RuleTrial(rule.name, rule.ruleset, "")
        steps: list[tuple[str, int]] = []
        found = self.eligibility.candidates(rule, lead, trial, 1 << pos, steps)
        if found is None:
            failed = next((step for step, n in steps if n == 0), None)
            if failed and failed.startswith("cover "):  # the lead's place, not the rule's territory
                return f"does not cover {lead.state or lead.country}, where the lead is"
            return _not(failed) if failed else trial.outcome
        if rule.match.proximity and self.eligibility.nearby(rule, lead, found[0], trial, lazy=False) is None:
            return trial.excluded.get(partner_id) or f"not within {max(rule.match.radii):g} km of the lead"
        # its own feedback ("Out of territory" in this area, "Not our product/industry" for this
        # industry) keeps it from the lead in every decision: its pick-up is refused alike
        kept = self.eligibility.barred(lead).get(partner_id) if self.eligibility.barred is not None else None
        if kept:
            return f"its own feedback keeps it from such leads: {_said(kept)}"
        return None

    def funnel(self, lead: Lead, rule_name: str) -> list[tuple[str, int]]:
        """How many partners each of a rule's criteria left for `lead`, in order — what
        `leadrouter explain` shows as the eliminations per criterion."""
        rule = self._rules_by_name.get(rule_name)
        if rule is None:
            return []
        steps: list[tuple[str, int]] = []
        self.eligibility.candidates(rule, self.spelling.lead(lead), RuleTrial(rule.name, rule.ruleset, ""), None, steps)
        return steps

    # ================================================================ flow
    def _route(self, lead: Lead, state: RoutingState, now: datetime, attempt: int,
               full: bool) -> tuple[Decision, Explanation]:
        now = _aware(now)
        self.caps.remember_day(state, now)
        lead = self.spelling.lead(lead)
        ex = Explanation(lead.id)
        if lead.deleted or lead.converted:
            why = "Lead: deleted" if lead.deleted else "Lead: already converted"
            return self.outcomes.finish(lead, ex, DecisionKind.UNROUTABLE, attempt, now, why), ex
        if now != self._tv_for:  # a routing run decides its whole batch at one `now`
            self._tv_for, self._tv = now, time_values(now, self.book.settings.calendar)
        tv = self._tv
        failed = [reason for matches, reason in self._gates if not matches(lead, tv)]
        if failed:
            failed = [dropped_value_reason(g.reason, g.when.symbols, lead.extra)
                      for g in self.book.gate if not g.when.matches(lead, tv)]
            ex.gate = failed
            # Routing_Rule__c names where in the rule file it stopped: the [[gate]] checks
            return self.outcomes.finish(lead, ex, DecisionKind.UNROUTABLE, attempt, now, "; ".join(failed),
                                        rule=GATE_RULE), ex
        if self.settings.deal_registration:
            decision = self.registered.decide(lead, state, now, ex, attempt)
            if decision:
                return decision, ex
        for rs in self.book.rulesets:
            ex.rulesets_tried.append(rs.name)
            if not rs.when.matches(lead, tv):
                continue
            ex.ruleset = rs.name
            for rule in rs.rules:
                decision = self.try_rule(rule, lead, state, now, tv, ex, attempt, full=full)
                if decision:
                    return decision, ex
                if rule.otherwise != "next" and ex.trials[-1].applied:
                    return self.outcomes.otherwise(lead, ex, rule.otherwise, attempt, now, rule.name, rs.name,
                                                   f"{rule.name}: {ex.trials[-1].outcome}"
                                                   + _before(ex.trials[:-1], rs.name)), ex
            last_rule, why = why_nobody(ex.trials, rs.name)
            return self.outcomes.otherwise(lead, ex, rs.otherwise, attempt, now, last_rule, rs.name, why), ex
        none = "Rules: no rule set applies to this lead"
        # a rule set's `when` may have failed on a value the mappings could not read: say which
        symbols = frozenset().union(*(rs.when.symbols for rs in self.book.rulesets))
        unread = dropped_value_reason(none, symbols, lead.extra)
        return self.outcomes.finish(lead, ex, DecisionKind.UNROUTABLE, attempt, now,
                                    none if unread == none else f"{none}: {unread}", rule="[[ruleset]]"), ex

    # ================================================================ one rule
    def try_rule(self, rule: Rule, lead: Lead, state: RoutingState, now: datetime, tv: Mapping[str, datetime],
                 ex: Explanation, attempt: int, *, full: bool, restrict: int | None = None,
                 label: str | None = None) -> Decision | None:
        """One rule for one lead: its condition, its territories, the eligible partners (within
        `restrict` when given), then its pool or the distribution's pick. None when the rule
        places nobody; its trial, appended to `ex`, says why."""
        if not rule.when.matches(lead, tv):
            # most rules tried are passed over here: one shared, never-modified trial each
            skipped = self._not_met.get(rule.name)
            if skipped is None:
                skipped = self._not_met[rule.name] = RuleTrial(rule.name, rule.ruleset, "condition not met")
            ex.trials.append(skipped)
            return None
        trial = RuleTrial(rule.name, rule.ruleset, "")
        ex.trials.append(trial)
        eligibility = self.eligibility
        pool = rule.pool
        if rule.match.territories or rule.pools_by_territory:
            inside, pool = eligibility.territory_pool(rule, lead, trial)
            if not inside:
                return None
        trial.applied = True
        found = eligibility.candidates(rule, lead, trial, restrict)
        if found is None:
            return None
        cand, coverage_hits = found
        narrowed = eligibility.eligible(rule, lead, cand, state, trial, full=full)
        if narrowed is None:
            return None
        eligible, near = narrowed
        if pool:
            return self.outcomes.pool(rule, pool, lead, eligible, trial, ex, now, attempt, state)
        if full:  # name every capped partner, not only those the strategy happened to meet
            caps = self.caps
            for pos in self.index.positions(eligible):
                why = caps.blocked(pos, state, now)
                if why:
                    caps.exclude(trial, pos, why)
        pick = self.distribution.pick(rule, lead, eligible, near, coverage_hits, state, now, trial, attempt,
                                      self.distribution.segment(rule.name, cand))
        if pick is None:
            # which caps, in the words of the trial's exclusions: "(2 at capacity, 1 at daily cap)"
            held = [f"{n} {kind}" for kind, n in trial.excluded_counts.items() if kind in _CAP_KINDS]
            cap = "every eligible partner is at a cap" + (f" ({', '.join(held)})" if held else "")
            # a strategy that said why itself (weights of 0) keeps its words, with the caps it met
            trial.outcome = cap if not trial.outcome else trial.outcome + (f" ({', '.join(held)})" if held else "")
            return None
        trial.outcome = "chosen"
        return self.outcomes.offer(lead, ex, pick, trial, state, now, attempt, rule_name=rule.name,
                                   ruleset=rule.ruleset, hours=rule.offer_hours, business_hours=rule.business_hours,
                                   rep_mode=rule.rep, summary_extra=label or rule.name)


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


def _said(why: str) -> str:
    """A feedback bar's why as every pool member may read it: what it says of the lead, without
    the parenthesis or the tail after a dash, which are for ops (how to undo it: the partner's id)."""
    return why.split(" (", 1)[0].split(" — ", 1)[0].strip()


def _not(step: str) -> str:
    """A funnel step one partner failed, said of it: "cover 'US-TX'" → "does not cover 'US-TX'"."""
    if step == "admitted by the rule's partner conditions":
        return "not admitted by the rule's partner conditions (tier, programs, role, partners)"
    verb = step.split(" ", 1)[0]
    return f"does not {step}" if verb in ("cover", "sell", "speak") else f"not {step}"


def _before(trials: list[RuleTrial], ruleset: str) -> str:
    """What the rules of the set tried before the one whose `otherwise` ends the search found
    (a partner at its cap, a pool that let the lead lapse): said after that rule's own reason,
    which speaks only of itself ("lead has no coordinates")."""
    seen: list[str] = []
    for t in trials:
        if t.ruleset == ruleset and t.applied and t.outcome:
            said = f"{t.rule}: {t.outcome}"
            if said not in seen:
                seen.append(said)
    return f" (before it, {'; '.join(seen)})" if seen else ""
