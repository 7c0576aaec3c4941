"""Two tiers: a distributor accepted a lead and handed it down; its reseller accepted it
and holds it now (OwnerId its rep). Before, the follow-up job took every accepted offer
of the lead, so the distributor's rep was reminded to work a lead it no longer held — and
with reclaim on, the distributor's acceptance was reclaimed and the lead taken from the
reseller working it. Follow-ups go to whoever holds the lead now."""
from __future__ import annotations

import pytest

from tests.jobs.kestrel_org import kestrel_fixture
from tests.jobs.test_scenario_two_tier import RESELLERS

pytestmark = pytest.mark.e2e

kestrel = pytest.fixture(kestrel_fixture)


def _followups(k, lead_id: str) -> list[str]:
    return [r for n in k.sb.notifications.all("customNotificationAction")
            if n.inputs.get("targetId") == lead_id and "not worked yet" in n.inputs.get("title", "")
            for r in n.inputs["recipientIds"]]


def test_only_the_reseller_holding_a_handed_down_lead_is_followed_up(kestrel):
    k = kestrel
    text = k.config.read_text()
    assert "followup_days = 1.0\n" in text
    k.config.write_text(text.replace("followup_days = 1.0\n", "followup_days = 1.0\nreclaim = true\nreclaim_after_days = 2.0\n"))
    lead = k.new_lead("Bondi Surf Supplies", "AU", State="NSW")
    k.once(init=True)
    dist = k.view(lead)["partner"]
    k.accept(lead)
    k.once(hours=1)
    v = k.view(lead)
    reseller = v["partner"]
    assert v["Routing_Status__c"] == "Offered" and reseller in RESELLERS[dist], v
    k.accept(lead)
    k.once(hours=1)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"]) == ("Accepted", k.reps[reseller]), v
    k.once(hours=24 * 2)  # untouched past followup_days
    assert _followups(k, lead) == [k.reps[reseller]], "the distributor's rep was followed up for its reseller's lead"
    k.once(hours=24 * 3)  # past reclaim_after_days: the reseller's is the acceptance reclaimed, nobody else's
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["partner"]) == ("Offered", next(iter(RESELLERS[dist] - {reseller}))), v
    assert _followups(k, lead) == [k.reps[reseller]], "reminded twice"


def test_an_accepted_lead_passed_to_a_colleague_is_followed_up_with_the_colleague(org, make_loop):
    """The rep who accepted passed the lead to a colleague of the same partner (OwnerId): the
    lead stays accepted, the colleague holds it. Before, the follow-up still went to the
    rep who accepted, who no longer has it in their list."""
    from .conftest import is_reminder
    from .test_outsider_answer_e2e import save_as
    from .test_portal_answer_e2e import ANSWERS, NEVER_ANSWER, answer_as_rep

    loop = make_loop(org, settings={"offers": {"followup_days": 3}})
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle(partners_act=False)
    sb = org.org
    reps_of: dict[str, list[str]] = {}
    for u in sorted(sb.table("User").values(), key=lambda u: u["Id"]):
        if u.get("AccountId") and u["IsActive"] and u["UserType"] == "PowerPartner":
            reps_of.setdefault(u["AccountId"], []).append(u["Id"])
    lead_id, offer = next((lid, o) for lid, o in sorted(loop.live().items())
                          if o["kind"] == "offer" and len(reps_of.get(o["partner_id"], ())) >= 2)
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["accept"])
    loop.cycle(partners_act=False)
    assert loop.lead(lead_id)["Routing_Status__c"] == "Accepted"
    colleague = next(r for r in reps_of[offer["partner_id"]] if r != offer["rep_id"])
    r = save_as(org, offer["rep_id"], lead_id, {"OwnerId": colleague})
    assert r.status_code == 204, r.text
    loop.cycle(partners_act=False)
    assert (loop.lead(lead_id)["OwnerId"], loop.lead(lead_id)["Routing_Status__c"]) == (colleague, "Accepted")
    loop.cycle(hours=3 * 24 + 1, partners_act=False)
    told = [rid for n in org.notifications.all("customNotificationAction")
            if n.inputs.get("targetId") == lead_id and is_reminder(n.inputs["title"], "followup")
            for rid in n.inputs["recipientIds"]]
    assert told == [colleague], (told, offer["rep_id"], colleague)


def test_an_offer_passed_to_a_colleague_is_reminded_to_the_colleague(org, make_loop):
    """A rep passed an open offer to a colleague of the same partner (OwnerId): the offer
    stands, with the colleague. Before, the reminder before the deadline went to the rep
    the lead was first offered to."""
    from .conftest import is_reminder
    from .test_outsider_answer_e2e import save_as
    from .test_portal_answer_e2e import NEVER_ANSWER

    loop = make_loop(org)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle(partners_act=False)
    sb = org.org
    reps_of: dict[str, list[str]] = {}
    for u in sorted(sb.table("User").values(), key=lambda u: u["Id"]):
        if u.get("AccountId") and u["IsActive"] and u["UserType"] == "PowerPartner":
            reps_of.setdefault(u["AccountId"], []).append(u["Id"])
    lead_id, offer = next((lid, o) for lid, o in sorted(loop.live().items())
                          if o["kind"] == "offer" and len(reps_of.get(o["partner_id"], ())) >= 2)
    colleague = next(r for r in reps_of[offer["partner_id"]] if r != offer["rep_id"])
    r = save_as(org, offer["rep_id"], lead_id, {"OwnerId": colleague})
    assert r.status_code == 204, r.text
    loop.cycle(partners_act=False)
    assert (loop.lead(lead_id)["OwnerId"], loop.lead(lead_id)["Routing_Status__c"]) == (colleague, "Offered")
    loop.cycle(hours=24 - 2, partners_act=False)  # within reminder_before_hours of the deadline
    told = [rid for n in org.notifications.all("customNotificationAction")
            if n.inputs.get("targetId") == lead_id and is_reminder(n.inputs["title"])
            for rid in n.inputs["recipientIds"]]
    assert told == [colleague], (told, offer["rep_id"], colleague)
