"""Feedback that acts holds at a pool too. A partner that said "Not our product/industry"
for an industry's leads (EXCLUDE_AFTER times) is skipped by every decision for that
industry; before, a rep of that partner, a member of a pool, could still take such a
lead from the pool and keep it (Router.admits did not ask its feedback). Now that
pick-up is refused as an unadmitted member's: the lead goes back to the pool, the Lead
says why (naming the criterion, not the partner) and the log names the partner."""
from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from jobs import feedback

from .test_feedback_territory_e2e import _new_lead_like
from .test_outsider_answer_e2e import save_as
from .test_portal_answer_e2e import ANSWERS, answer_as_rep

pytestmark = pytest.mark.e2e

NA = ("US", "CA", "MX")
INDUSTRY = "Biotechnology"


def test_a_pool_pickup_by_a_member_its_own_feedback_keeps_from_the_industry_goes_back_to_the_pool(org, make_loop):
    sb = org.org
    # the org's partners get direct offers first (rotation only): one NA partner declines
    # EXCLUDE_AFTER of them as not its industry
    direct = make_loop(org)
    direct.cycle(partners_act=False)
    by = direct.offers_by_partner()
    pid = next(p for p in sorted(by, key=lambda p: (-len(by[p]), p))
               if len(by[p]) >= feedback.EXCLUDE_AFTER
               and (sb.get("Lead", by[p][0]["lead_id"]).get("Country") or "") in NA)
    offers = by[pid][:feedback.EXCLUDE_AFTER]
    for o in offers:
        sb.update("Lead", o["lead_id"], {"Industry": INDUSTRY})
    direct.cycle(partners_act=False)
    for o in offers:
        answer_as_rep(org, o["lead_id"], o["rep_id"], {
            "Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": feedback.NOT_OUR_FIT,
            "Rejection_Reason__c": f"{feedback.NOT_OUR_FIT}: we do not sell to labs"})
    direct.cycle(partners_act=False)
    direct.cx.snapshot_changed()
    assert INDUSTRY in direct.cx.routing().feedback.excluded.get(pid, {}), direct.cx.routing().feedback
    rep = offers[0]["rep_id"]

    # the rules file now pools North America, the partner's rep a member of the pool (same state)
    queue = sb.queue_ids["Partner_Pool_NA"]
    members = {m["UserOrGroupId"] for m in sb.table("GroupMember").values()
               if m["GroupId"] == queue and not m["IsDeleted"]}  # fmt: skip
    if rep not in members:
        sb.create("GroupMember", {"GroupId": queue, "UserOrGroupId": rep}, as_user=sb.integration_user_id)
    pooled = make_loop(org, pools=True, name="state")
    lead_id = _new_lead_like(pooled, offers[0]["lead_id"], 1)
    pooled.cycle(partners_act=False)
    offer = pooled.live()[lead_id]
    assert (offer["kind"], offer["queue_id"]) == ("pool", queue), offer

    r = save_as(org, rep, lead_id, {**ANSWERS["accept"], "OwnerId": rep})
    assert r.status_code == 204, r.text  # a member reaches the queue's leads: Salesforce lets it
    with capture_logs() as logs:
        pooled.cycle(partners_act=False)
    lead = pooled.lead(lead_id)
    assert (lead["OwnerId"], lead["PartnerAccountId"], lead["Routing_Status__c"]) == (queue, None, "Offered"), lead
    assert pooled.live()[lead_id]["id"] == offer["id"]  # the pool offer stands
    why = lead["Routing_Reason__c"]
    assert "does not admit" in why and "own feedback" in why and INDUSTRY in why and "back in the pool" in why, why
    assert pid not in why, "every pool member reads the reason: it names no partner"
    [logged] = [e for e in logs if e["event"] == "pickup_refused_not_admitted"]
    assert (logged["partner_id"], logged["lead_id"]) == (pid, lead_id) and INDUSTRY in logged["why"], logged
