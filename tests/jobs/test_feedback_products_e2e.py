""""Not our product/industry" is about a product as often as an industry (issue 17, item 3),
end to end over the sandbox: reps decline from the portal (their own session, the
component's fields). Each such decline counts against the lead's industry and each of its
products; each lead the partner takes counts for them. A key is excluded once its declines
reach EXCLUDE_AFTER and outnumber the leads with it the partner took — so a partner that
declines Security Suite leads in two industries loses Security Suite leads, not those
industries; one that takes Banking leads keeps them, though it declines a product on some;
and a lead without an industry still counts against its products."""
from __future__ import annotations

import dataclasses
import json

import pytest

from jobs import feedback
from jobs.cli import main
from rules.state import RoutingState

from .test_feedback_territory_e2e import _config, _new_lead_like
from .test_portal_answer_e2e import ANSWERS, answer_as_rep

pytestmark = pytest.mark.e2e

SUITE = "Security Suite"


def _partner_sharing_its_area(loop, n: int) -> tuple[str, list[dict]]:
    """A partner with n open offers, the first of a lead another partner covers too: kept
    from such a lead, it has somewhere else to go."""
    routing, convert = loop.cx.routing(), loop.cx.mappings.lead_converter()
    by = loop.offers_by_partner()
    for pid in sorted(by, key=lambda p: (-len(by[p]), p)):
        if len(by[pid]) < n:
            break
        for i, o in enumerate(by[pid]):
            ex = routing.router.explain(convert(loop.lead(o["lead_id"])), RoutingState(), loop.cx.clock.now())
            if any(t.applied and t.candidates >= 2 for t in ex.trials):
                rest = by[pid][:i] + by[pid][i + 1:]
                return pid, [o] + rest[:n - 1]
    raise AssertionError(f"no partner with {n} offers shares its area with another")


def _set(loop, offer: dict, industry: str | None, products: str | None) -> None:
    loop.sb.org.update("Lead", offer["lead_id"], {"Industry": industry, "Products__c": products})


def _not_our_fit(loop, offers: list[dict], words: str = "we do not sell that") -> None:
    for o in offers:
        answer_as_rep(loop.sb, o["lead_id"], o["rep_id"], {
            "Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": feedback.NOT_OUR_FIT,
            "Rejection_Reason__c": f"{feedback.NOT_OUR_FIT}: {words}"})


def _feedback(loop) -> feedback.Adjustments:
    loop.cx.snapshot_changed()
    return loop.cx.routing().feedback


def _like(loop, lead_id: str, n: int, **values):
    """The lead, as the connector reads it, under a new id with these values."""
    lead = loop.cx.mappings.lead_converter()(loop.lead(lead_id))
    return dataclasses.replace(lead, id=f"00Q5g00000NEWLD{n:03d}", **values)


def test_declines_of_one_product_in_two_industries_exclude_the_product_not_the_industries(loop, tmp_path, capsys):
    loop.cycle(partners_act=False)
    pid, offers = _partner_sharing_its_area(loop, 2)
    _set(loop, offers[0], "Banking", SUITE)
    _set(loop, offers[1], "Retail", f"{SUITE};Analytics")
    _not_our_fit(loop, offers)
    loop.cycle(partners_act=False)
    adj = _feedback(loop)
    assert adj.excluded_products.get(pid) == {SUITE: 2}, adj
    assert pid not in adj.excluded, "one decline of each industry excludes neither"

    first = offers[0]["lead_id"]
    skipped = feedback.skipped(_like(loop, first, 1, industry="Banking", products=frozenset({SUITE})), adj)
    assert f"said '{feedback.NOT_OUR_FIT}' 2× for {SUITE} leads, took 0" in skipped[pid], skipped
    assert f"feedback reset {pid}" in skipped[pid]
    for values in ({"industry": "Banking", "products": frozenset({"Analytics"})},  # one decline: not excluded
                   {"industry": "Retail", "products": frozenset()}):
        assert pid not in feedback.skipped(_like(loop, first, 2, **values), adj), values

    # a new Security Suite lead where the partner works goes to another partner, and says why
    routing = loop.cx.routing()
    name = routing.partners[pid].name
    new_id = _new_lead_like(loop, first, 1)
    loop.cycle(partners_act=False)
    made = loop.offers(new_id)
    assert made and made[0]["partner_id"] != pid
    reason = loop.lead(new_id)["Routing_Reason__c"]
    assert f"skipped by its own feedback: a partner said '{feedback.NOT_OUR_FIT}' 2× for {SUITE} leads, took 0" \
        in reason, reason
    assert name not in reason and pid not in reason

    # the Account, `feedback`, `feedback --json`, `status`, the report and explain all show it
    assert f"no {SUITE} leads after 2 '{feedback.NOT_OUR_FIT}'" in feedback.words(adj, pid)
    cfg = _config(loop, tmp_path)
    capsys.readouterr()
    assert main(["feedback", "--config", str(cfg), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"partner_id": pid, "partner": name, "product": SUITE, "declines": 2, "accepted": 0} \
        in data["excluded_products"]
    assert all(e["partner_id"] != pid for e in data["excluded"]), "the industries' list keeps its shape and meaning"
    assert main(["feedback", "--config", str(cfg)]) == 0
    assert f"excluded  {name}: no {SUITE} leads (product; 2 '{feedback.NOT_OUR_FIT}' declines, took 0)" \
        in capsys.readouterr().out
    assert main(["status", "--config", str(cfg)]) == 0
    assert f"{name} no {SUITE}" in " ".join(line.strip() for line in capsys.readouterr().out.splitlines())
    page = tmp_path / "report.html"
    assert main(["report", "--config", str(cfg), "--out", str(page)]) == 0
    capsys.readouterr()
    section = page.read_text(encoding="utf-8").split('id="feedback"', 1)[1]
    assert "product excluded" in section and f"no {SUITE} leads after 2" in section
    assert main(["explain", new_id, "--config", str(cfg), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert SUITE in out["now"]["feedback"]["skipped"][name]

    # ops review the partner: the product is offered to it again
    assert main(["feedback", "reset", pid, "--config", str(cfg)]) == 0
    capsys.readouterr()
    adj = _feedback(loop)
    assert pid not in adj.excluded_products
    assert pid not in feedback.skipped(_like(loop, first, 3, products=frozenset({SUITE})), adj)


def test_a_partner_that_takes_banking_leads_keeps_them_though_it_declines_a_product_on_two(org, make_loop):
    loop = make_loop(org)
    loop.cycle(partners_act=False)
    pid, offers = loop.busiest_partner()
    assert len(offers) >= 4, "the busiest partner has four offers to answer"
    taken, declined = offers[:2], offers[2:4]
    for o in taken:
        _set(loop, o, "Banking", "Analytics")
    for o in declined:
        _set(loop, o, "Banking", SUITE)
    for o in taken:
        answer_as_rep(loop.sb, o["lead_id"], o["rep_id"], ANSWERS["accept"])
    _not_our_fit(loop, declined, "no Security Suite practice")
    loop.cycle(partners_act=False)

    def check(adj: feedback.Adjustments) -> None:
        assert "Banking" not in adj.excluded.get(pid, {}), "2 Banking declines do not outnumber 2 Banking leads taken"
        assert adj.excluded_products.get(pid) == {SUITE: 2}, adj
        banking = _like(loop, taken[0]["lead_id"], 1, industry="Banking", products=frozenset({"Analytics"}))
        assert pid not in feedback.skipped(banking, adj)
        suite = _like(loop, taken[0]["lead_id"], 2, industry="Banking", products=frozenset({SUITE, "Analytics"}))
        assert f"2× for {SUITE} leads, took 0" in feedback.skipped(suite, adj)[pid]

    check(_feedback(loop))
    # a lost state: the declines come back from LeadHistory, the acceptances from the Leads
    fresh = make_loop(org, name="fresh")
    fresh.cycle(partners_act=False)
    check(_feedback(fresh))


def test_a_lead_without_an_industry_counts_against_its_products(loop):
    loop.cycle(partners_act=False)
    pid, offers = loop.busiest_partner()
    assert len(offers) >= 2
    for o in offers[:2]:
        _set(loop, o, None, "Networking")
    _not_our_fit(loop, offers[:2])
    loop.cycle(partners_act=False)
    adj = _feedback(loop)
    assert adj.excluded_products.get(pid) == {"Networking": 2} and pid not in adj.excluded, adj
    lead = _like(loop, offers[0]["lead_id"], 1, industry=None, products=frozenset({"Networking"}))
    assert "for Networking leads" in feedback.skipped(lead, adj)[pid]
