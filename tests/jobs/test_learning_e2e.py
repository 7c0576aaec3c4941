"""distribute = "predictive" in the running connector (issue 17), end to end: the sandbox
org over HTTPS, its partners answering as a hidden market says; the connector's learner
is rebuilt at the routing build, learns each answer before the next batch is decided,
counts the offers it chose for its fairness floor, and `explain` shows its estimate,
uncertainty and why."""
from __future__ import annotations

from pathlib import Path

from rules.state import RoutingState
from sandbox.market import Market
from sandbox.seed import add_leads

from .conftest import Loop, build_connector
from .rules_for_tests import BASE

PREDICTIVE = BASE + """
[[ruleset]]
name = "Everyone"

  [[ruleset.rule]]
  name = "Promising leads, best predicted fit"
  when = "score >= 0"
  match = { geography = true }
  distribute = "predictive"
  otherwise = "escalate"
"""


def _loop(sb, tmp_path: Path) -> Loop:
    rules = tmp_path / "predictive.toml"
    rules.write_text(PREDICTIVE)
    cx = build_connector(sb, f"sqlite:///{tmp_path}/state.sqlite", rules=rules)
    return Loop(sb, cx)


def test_a_predictive_rule_routes_learns_from_answers_and_explains_its_choice(org, tmp_path):
    partners = tuple(sorted(a["Id"] for a in org.org.records("Account") if a.get("IsPartner")))
    org.simulator.market = Market(seed=7, partner_ids=partners, leads=200)
    loop = _loop(org, tmp_path)
    try:
        loop.cycle()
        live = loop.cx.routing().learning
        assert live is not None and live.learner is loop.cx.routing().router.learner
        first = [o for lead in loop.live().values() for o in [lead]]
        assert first, "the first batch made no offer"
        reasons = {loop.lead(o["lead_id"])["Routing_Reason__c"] or "" for o in first}
        assert any("predicted fit" in r or "fairness floor" in r for r in reasons), reasons
        # the floor counted the offers it chose
        assert sum(live.learner.served["Promising leads, best predicted fit"].values()) == len(first)

        learnt_before = live.learner.accept.total[1]
        for i in range(4):  # partners answer; the next batch learns the answers first
            add_leads(org.org, 15, random_seed=i)
            loop.cycle(hours=12)
        # the same learner all along (no partner changed: no rebuild), fed by catch_up
        assert loop.cx.routing().learning is live
        answered = [o for lid in {o["lead_id"] for o in first} for o in loop.offers(lid)
                    if o["status"] in ("rejected", "lapsed") or o["accepted_at"]]
        assert answered
        assert live.learner.accept.total[1] - learnt_before >= len(answered)
        # the rule's condition read the score the learner put on each lead
        assert any(d["rule"] == "Promising leads, best predicted fit" for lid in {o["lead_id"] for o in first}
                   for d in loop.offers(lid))

        # explain: estimate, uncertainty and why, per partner considered
        lead_id = first[0]["lead_id"]
        from mappings import Unroutable

        rec = loop.cx.client.read_by_ids("Lead", loop.cx.mappings.soql_fields("lead"), [lead_id])
        lead = loop.cx.mappings.lead_converter()(next(iter(rec)))
        assert not isinstance(lead, Unroutable)
        lead.extra["score"] = live.learner.score(lead)
        ex = loop.cx.routing().router.explain(lead, RoutingState(), loop.cx.clock.now(), attempt=1)
        trial = next(t for t in ex.trials if t.rule == "Promising leads, best predicted fit")
        assert trial.scores and {"estimate", "uncertainty", "outcomes", "owed"} <= set(trial.scores[0])
        assert "predicted fit" in ex.summary or "fairness floor" in ex.summary or "est " in ex.text()
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()


def test_an_answer_read_late_is_learnt_once_though_dated_before_the_last_batch(org, tmp_path):
    from datetime import timedelta

    from jobs import learning
    from jobs.state import offers as of

    loop = _loop(org, tmp_path)
    try:
        loop.cycle(partners_act=False)
        live = loop.cx.routing().learning
        offer = next(iter(loop.live().values()))
        with loop.cx.store.connect() as conn:
            assert learning.catch_up(conn, live, loop.cx.clock.now()) == 0  # nothing answered yet
        before = live.learner.accept.total[1]
        # the rep accepted an hour before that batch; we read it only now
        with loop.cx.store.begin() as conn:
            of.set_offer(conn, offer["id"], accepted_at=live.mark - timedelta(hours=1), accepted_by=offer["owner_id"])
        with loop.cx.store.connect() as conn:
            assert learning.catch_up(conn, live, loop.cx.clock.now()) == 1
            assert learning.catch_up(conn, live, loop.cx.clock.now()) == 0  # and only once
        assert live.learner.accept.total[1] == before + 1
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()
