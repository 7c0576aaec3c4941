"""Multi-tier hand-down: a distributor accepted a lead; one of its resellers (its child
accounts) is offered it next.

Under which rule: the hand-down rule of the rule that offered the distributor the lead,
else the rule file's [hand_down], else plain round robin among its active resellers. A
reseller that declined sends the lead back here, and its offer's rule is the hand-down
rule. No reseller that qualifies: the lead stays with the distributor (or goes where the
hand-down rule's `otherwise` says).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Mapping, Protocol

from rules.book import HAND_DOWN_RULE, Match, Rule, RuleBook
from rules.caps import Caps
from rules.explain import Explanation
from rules.expressions import Compiler, schema_of, time_values
from rules.index import PartnerIndex
from rules.model import Decision, DecisionKind, Lead, Partner
from rules.outcomes import Outcomes
from rules.state import RoutingState


class RuleTrier(Protocol):
    """The router's trial of one rule for one lead (`Router.try_rule`)."""

    def __call__(self, rule: Rule, lead: Lead, state: RoutingState, now: datetime, tv: Mapping[str, datetime],
                 ex: Explanation, attempt: int, *, full: bool, restrict: int | None = None,
                 label: str | None = None) -> Decision | None: ...


def _default_rule() -> Rule:
    true = Compiler(schema_of(Partner), with_time=False).compile("true")
    return Rule(name=HAND_DOWN_RULE, ruleset="hand_down", when=true, partners=true, match=Match())


DEFAULT_RULE = _default_rule()  # round robin among the distributor's active resellers, in the book's offer window


class HandDown:
    def __init__(self, book: RuleBook, index: PartnerIndex, caps: Caps, outcomes: Outcomes,
                 try_rule: RuleTrier) -> None:
        self.book = book
        self.index = index
        self.caps = caps
        self.outcomes = outcomes
        self.try_rule = try_rule
        self.rules_by_name = {r.name: r for r in book.rules}
        # the file's [settings] offer window, as every rule without its own gets: the built-in
        # rule's dataclass defaults (48 business hours) ignored a file's `offer_hours = 24`
        self.default_rule = replace(DEFAULT_RULE, offer_hours=book.settings.offer_hours,
                                    business_hours=book.settings.business_hours)

    def rule_for(self, lead: Lead, state: RoutingState) -> Rule:
        """The rule the distributor was given for this lead (see the module's docstring)."""
        offered_by = self.rules_by_name.get(state.offer_rule.get(lead.id, ""))
        if offered_by is not None and offered_by.ruleset == "hand_down":
            return offered_by
        return (offered_by.hand_down if offered_by else None) or self.book.hand_down or self.default_rule

    def decide(self, lead: Lead, distributor_id: str, state: RoutingState, now: datetime, attempt: int) -> Decision:
        ex = Explanation(lead.id)
        self.caps.remember_day(state, now)
        tv = time_values(now, self.book.settings.calendar)
        distributor = self.index.partner(distributor_id)
        dname = distributor.name if distributor else distributor_id
        rule = self.rule_for(lead, state)
        children = self.index.children.get(distributor_id, 0)
        ex.ruleset = "hand_down"
        if not children:
            return self.outcomes.finish(lead, ex, DecisionKind.UNROUTABLE, attempt, now,
                                        f"Hand-down: {dname} has no reseller accounts; the lead stays with it",
                                        rule=rule.name, partner_id=distributor_id)
        decision = self.try_rule(rule, lead, state, now, tv, ex, attempt, full=False, restrict=children,
                                 label=f"Hand-down from {dname}")
        if decision:
            return decision
        outcome = rule.otherwise
        if outcome in ("next", "unroutable"):
            return self.outcomes.finish(lead, ex, DecisionKind.UNROUTABLE, attempt, now,
                                        f"Hand-down: no reseller of {dname} qualifies; the lead stays with it",
                                        rule=rule.name, partner_id=distributor_id)
        return self.outcomes.otherwise(lead, ex, outcome, attempt, now, rule.name, "hand_down",
                                       f"no reseller of {dname} qualifies")
