"""The routing domain, pure: rule files, partner indexes, the router, decisions and their reasons.

    book = load_rules(path)                              # RulesError lists every problem
    index = PartnerIndex.build(partners, book, pools=..., deal_registrations=...)
    router = Router(book, index, queue_ids={"Channel_Escalations": "00G…", …})
    decision = router.decide(lead, state, now)           # state is read, never written
    state.record_offer(decision, now)                    # once the decision is committed
"""
from rules.book import Match, Rule, RuleBook, RuleSet, Settings, load_rules
from rules.errors import Problem, RulesError
from rules.explain import Explanation, RuleTrial
from rules.index import PartnerIndex
from rules.router import Router
from rules.state import Performance, RoutingState, normalise_company, normalise_domain
from rules.windows import offer_deadline

__all__ = [
    "Explanation", "Match", "PartnerIndex", "Performance", "Problem", "Router", "Rule", "RuleBook", "RuleSet",
    "RuleTrial", "RoutingState", "RulesError", "Settings", "load_rules", "normalise_company", "normalise_domain",
    "offer_deadline",
]
