"""Feedback that acts on territory (issue 17, item 3), end to end over the sandbox: the
partner's reps decline leads of one area as "Out of territory" from the portal (their own
session, the component's fields); after STOP_AFTER such declines the next lead of that
area goes to another partner and its Lead says why; `explain`, `validate`, `status` and
`leadrouter feedback` show it; ops reset the area and the partner is offered it again."""
from __future__ import annotations

import json

import pytest

from jobs import feedback
from jobs.cli import main
from jobs.ops.demo import write_config
from rules.state import RoutingState

from .test_portal_answer_e2e import answer_as_rep

pytestmark = pytest.mark.e2e

COPIED = ("Company", "LastName", "Country", "State", "PostalCode", "City", "Industry", "LeadSource",
          "NumberOfEmployees", "Products__c")


def _partner_sharing_its_area(loop) -> tuple[str, list[dict]]:
    """A partner with STOP_AFTER open offers, the first of a lead another partner covers
    too: once stopped there, such a lead has somewhere else to go."""
    routing, convert = loop.cx.routing(), loop.cx.mappings.lead_converter()
    by = loop.offers_by_partner()
    for pid in sorted(by, key=lambda p: (-len(by[p]), p)):
        if len(by[pid]) < feedback.STOP_AFTER:
            break
        for i, o in enumerate(by[pid]):
            ex = routing.router.explain(convert(loop.lead(o["lead_id"])), RoutingState(), loop.cx.clock.now())
            if any(t.applied and t.candidates >= 2 for t in ex.trials):
                rest = by[pid][:i] + by[pid][i + 1:]
                return pid, [o] + rest[:feedback.STOP_AFTER - 1]
    raise AssertionError("no partner with enough offers shares its area with another")


def _new_lead_like(loop, lead_id: str, n: int) -> str:
    like = loop.lead(lead_id)
    fields = {k: like[k] for k in COPIED if like.get(k) is not None}
    fields["Company"] = f"{fields.get('Company') or 'Lead'} #{n}"
    return loop.sb.org.create("Lead", fields)


def _config(loop, tmp_path):
    rules = next(tmp_path.glob("rules-*.toml"))
    cfg = write_config(tmp_path, loop.sb.connection, rules)
    cfg.write_text(cfg.read_text().replace('url = "sqlite:///leadrouter.sqlite"',
                                           f'url = "sqlite:///{tmp_path}/state.sqlite"'))
    return cfg


def test_out_of_territory_declines_stop_the_area_until_ops_review_it(loop, tmp_path, capsys):
    loop.cycle(partners_act=False)
    pid, offers = _partner_sharing_its_area(loop)
    first = loop.lead(offers[0]["lead_id"])
    area = {k: first.get(k) for k in ("Country", "State", "PostalCode", "City")}
    for o in offers[1:]:  # every declined lead in the first one's place
        loop.sb.org.update("Lead", o["lead_id"], area)
    where = feedback.area_of(loop.cx.mappings.lead_converter()(first))
    assert where

    # two declines: counted, proposed as a coverage fix, nothing stopped yet
    for o in offers[:-1]:
        answer_as_rep(loop.sb, o["lead_id"], o["rep_id"], {
            "Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": "Out of territory",
            "Rejection_Reason__c": "Out of territory: we do not work there"})
    loop.cycle(partners_act=False)
    loop.cx.snapshot_changed()
    adj = loop.cx.routing().feedback
    assert adj.territory[pid] == {where: feedback.STOP_AFTER - 1} and pid not in adj.stopped

    answer_as_rep(loop.sb, offers[-1]["lead_id"], offers[-1]["rep_id"], {
        "Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": "Out of territory",
        "Rejection_Reason__c": "Out of territory: still not ours"})
    loop.cycle(partners_act=False)
    loop.cx.snapshot_changed()
    routing = loop.cx.routing()
    assert routing.feedback.stopped == {pid: {where: feedback.STOP_AFTER}}
    name = routing.partners[pid].name

    # the next lead of that area goes elsewhere, and its Lead says why
    new_id = _new_lead_like(loop, offers[0]["lead_id"], 1)
    # whoever decides — a redistribution too — asks the router, which skips the partner by itself
    fresh = loop.cx.mappings.lead_converter()(loop.lead(new_id))
    d = routing.router.decide(fresh, RoutingState(), loop.cx.clock.now(), attempt=2)
    assert d.partner_id != pid and any(pid in t.get("excluded", {}) for t in d.explanation["rules"])
    loop.cycle(partners_act=False)
    made = loop.offers(new_id)
    assert made and made[0]["partner_id"] != pid
    reason = loop.lead(new_id)["Routing_Reason__c"]
    assert "skipped by its own feedback: a partner said 'Out of territory'" in reason, reason
    assert name not in reason and pid not in reason, "the partner it is offered to must not learn who was skipped"
    # declined by that partner, the lead is offered again: still not to the stopped partner, and
    # the re-offer's reason says so too
    answer_as_rep(loop.sb, new_id, made[0]["rep_id"], {
        "Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": "Existing customer",
        "Rejection_Reason__c": "Existing customer: already ours"})
    loop.cycle(partners_act=False)
    assert all(o["partner_id"] != pid for o in loop.offers(new_id))
    reason = loop.lead(new_id)["Routing_Reason__c"]
    # escalated, the Lead is the channel team's alone and names the partner; offered, it does not
    assert "by its own feedback" in reason and (name in reason) == reason.startswith("Escalated"), reason

    # explain names the skip; validate proposes the coverage fix; status and feedback list the stop
    cfg = _config(loop, tmp_path)
    capsys.readouterr()
    assert main(["explain", new_id, "--config", str(cfg), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    skipped = out["now"]["feedback"]["skipped"]
    assert name in skipped and f"--area {where}" in skipped[name]
    assert any("skipped by its own feedback" in json.dumps(d["decision"]) for d in out["history"])
    main(["validate", "--config", str(cfg), "--json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    fix = [f for f in findings if f["key"] == "coverage" and f["file"] == f"Account {pid}"]
    assert fix and "no longer offered leads there" in fix[0]["message"] and f"--area {where}" in fix[0]["fix"]
    assert main(["status", "--config", str(cfg), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)["feedback"]
    assert status["count"] >= 1 and {"partner_id": pid, "partner": name, "area": where,
                                     "declines": feedback.STOP_AFTER} in status["stopped"]
    assert main(["status", "--config", str(cfg)]) == 0
    assert "adjustment(s) in force" in capsys.readouterr().out
    assert main(["feedback", "--config", str(cfg)]) == 0
    assert f"stopped   {name}: no {where} leads" in capsys.readouterr().out
    page = tmp_path / "report.html"
    assert main(["report", "--config", str(cfg), "--out", str(page)]) == 0
    section = page.read_text(encoding="utf-8").split('id="feedback"', 1)[1]
    assert "area stopped" in section and f"leadrouter feedback reset {pid} --area {where}" in section

    # ops review that area: the partner is eligible for its leads again
    assert main(["feedback", "reset", pid, "--area", where, "--config", str(cfg)]) == 0
    assert f"declines in {where}" in capsys.readouterr().out
    loop.cx.snapshot_changed()
    routing = loop.cx.routing()
    assert pid not in routing.feedback.stopped and pid not in routing.feedback.territory
    again_id = _new_lead_like(loop, offers[0]["lead_id"], 2)
    lead = loop.cx.mappings.lead_converter()(loop.lead(again_id))
    state = RoutingState()
    assert feedback.skipped(lead, routing.feedback) == {}
    ex = routing.router.explain(lead, state, loop.cx.clock.now(), attempt=1)
    assert not any(pid in t.excluded for t in ex.trials)
    assert any(s for t in ex.trials if t.applied for s in [t.candidates])


def test_reset_area_takes_a_country_or_a_state_and_nothing_else(capsys, tmp_path):
    assert main(["feedback", "reset", "001A", "--area", "California", "--config", str(tmp_path / "x.toml")]) == 2
    assert "a country (US) or a state (US-CA)" in capsys.readouterr().err
    assert main(["feedback", "--area", "US", "--config", str(tmp_path / "x.toml")]) == 2
    assert "only with reset" in capsys.readouterr().err
