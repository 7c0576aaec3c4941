"""Builders for routing tests: partners, leads and routers in one line each."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from rules import PartnerIndex, Router, RoutingState, load_rules
from rules.model import DealRegistration, Lead, Partner, Pool, Rep

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)  # a Monday
QUEUES = {
    "Channel_Escalations": "00GESC000000001AAA",
    "Unassigned_Partner_Leads": "00GUNA000000001AAA",
    "Partner_Pool_NA": "00GPNA000000001AAA",
    "Partner_Pool_EMEA": "00GPEM000000001AAA",
    "Partner_Pool_APAC": "00GPAP000000001AAA",
}


def partner(pid: str, name: str | None = None, *, reps: int = 1, coverage=("US",), **kw) -> Partner:
    defaults = dict(tier="Silver", industries=frozenset({"Technology"}), products=frozenset({"Analytics"}))
    defaults.update(kw)
    for key in ("programs", "certifications", "industries", "products", "languages"):
        if isinstance(defaults.get(key), (set, list, tuple)):
            defaults[key] = frozenset(defaults[key])
    return Partner(id=pid, name=name or f"Partner {pid}", coverage=tuple(coverage),
                   reps=tuple(Rep(id=f"{pid}-rep{i}", partner_id=pid) for i in range(reps)), **defaults)


def lead(lid: str = "00Q1", **kw) -> Lead:
    defaults = dict(company="Acme Corp", country="US", state="US-CA", postal_code="94105", source="Web",
                    status="Open - Not Contacted", industry="Technology")
    defaults.update(kw)
    if isinstance(defaults.get("products"), (set, list, tuple)):
        defaults["products"] = frozenset(defaults["products"])
    return Lead(id=lid, **defaults)


def router_for(rules_text: str | None, partners, *, pools=(), registrations=(), queue_ids=None) -> Router:
    book = load_rules(text=rules_text) if rules_text is not None else load_rules()
    index = PartnerIndex.build(partners, book, pools=pools, deal_registrations=registrations)
    return Router(book, index, queue_ids=QUEUES if queue_ids is None else queue_ids)


def route_many(router: Router, leads, state: RoutingState | None = None, now: datetime = NOW):
    """Decide leads one after another, committing each decision as jobs would."""
    state = state if state is not None else RoutingState()
    out = []
    for lead_ in leads:
        d = router.decide(lead_, state, now)
        state.record_offer(d, now)
        out.append(d)
    return out, state


SIMPLE = """
[settings]
escalation_queue = "Channel_Escalations"
business_hours = false
offer_hours = 24

[[ruleset]]
name = "All"
otherwise = "unroutable"
  [[ruleset.rule]]
  name = "Covering partner"
  match = { geography = true }
  distribute = "{strategy}"
"""


def simple_rules(strategy: str = "round_robin", **settings) -> str:
    text = SIMPLE.replace("{strategy}", strategy)
    extra = "".join(f"{k} = {v}\n" for k, v in settings.items())
    return text.replace("offer_hours = 24\n", "offer_hours = 24\n" + extra)


@pytest.fixture
def state() -> RoutingState:
    return RoutingState()


__all__ = ["NOW", "QUEUES", "partner", "lead", "router_for", "route_many", "simple_rules", "DealRegistration",
           "Pool", "date"]
