"""The escalation queue deleted in the org while the connector runs. Before, the next
partner sync made building the routing fail (`queue 'Channel_Escalations' is not in the
org`) and every lead waited, those that needed no escalation too, until the queue was back.
Now the leads that must escalate are held — the Lead says so, nothing is lost — everything
else routes on, the log and `leadrouter status` name the missing queue and the fix, and
once the queue is back the held leads escalate to it."""
from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from .test_feedback_territory_e2e import _new_lead_like
from .test_portal_answer_e2e import ANSWERS, NEVER_ANSWER, answer_as_rep

pytestmark = pytest.mark.e2e

QUEUE = "Channel_Escalations"


def _admin(org, loop) -> str:
    return next(u["Id"] for u in sorted(org.org.table("User").values(), key=lambda u: u["Id"])
                if u["IsActive"] and not u.get("AccountId") and u["Id"] != loop.cx.client.user_id)


def test_leads_that_must_escalate_are_held_while_the_queue_is_gone_and_escalate_once_it_is_back(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    queue_id = loop.queue_id(QUEUE)
    routed = {lid: loop.lead(lid) for lid in (r["Id"] for r in org.org.records("Lead"))}
    escalated = next(lid for lid, r in sorted(routed.items()) if r["Routing_Status__c"] == "Escalated")
    offered = next(lid for lid, r in sorted(routed.items()) if r["Routing_Status__c"] == "Offered")
    # a lead only one partner can take: when it rejects, the lead must escalate
    only_one = next(lid for lid, r in sorted(routed.items())
                    if r["Routing_Status__c"] == "Offered" and "; 1 eligible" in (r["Routing_Reason__c"] or ""))
    org.org.delete("Group", queue_id, as_user=_admin(org, loop))
    must_escalate, can_offer = _new_lead_like(loop, escalated, 1), _new_lead_like(loop, offered, 2)
    answer_as_rep(org, only_one, routed[only_one]["OwnerId"], ANSWERS["reject_out_of_territory"]["fields"])
    with capture_logs() as logs:
        result = loop.cycle(hours=1, partners_act=False)
    assert loop.lead(can_offer)["Routing_Status__c"] == "Offered", "routing stopped for every lead"
    held = loop.lead(must_escalate)
    assert held["OwnerId"] != queue_id
    assert held["Routing_Status__c"] == "Unroutable"
    # named as the admin knew it (its label, read before it went), with the fix
    assert held["Routing_Reason__c"].startswith("Escalation held: queue Channel Escalations is not in the org"), \
        held["Routing_Reason__c"]
    rejected = loop.lead(only_one)
    assert rejected["Routing_Status__c"] == "Unroutable"
    assert rejected["Routing_Reason__c"].startswith("Escalation held: "), rejected["Routing_Reason__c"]
    missing = [e for e in logs if e["event"] == "escalation_queue_missing"]
    assert missing and QUEUE in missing[0]["problem"] and QUEUE in missing[0]["fix"]
    assert result is not None
    # `leadrouter status` names it too
    from jobs.commands import held_escalations
    from jobs.ops import status as people

    with loop.cx.store.connect() as conn:
        said = held_escalations(conn)
    assert said["leads"] == 2 and QUEUE in said["problem"] and QUEUE in said["fix"]
    text = people.render({"state": "x", "schema_version": 1, "held_escalations": said})
    assert QUEUE in text and "2 leads held" in text
    # an admin creates the queue again: the held lead escalates to it
    from sandbox.bootstrap import add_queue

    queue_id = add_queue(org.org, QUEUE, "Channel Escalations")
    loop.cycle(hours=1, partners_act=False)
    lead = loop.lead(must_escalate)
    assert (lead["OwnerId"], lead["Routing_Status__c"]) == (queue_id, "Escalated"), lead["Routing_Reason__c"]
    assert lead["Routing_Reason__c"].startswith("Escalated: "), lead["Routing_Reason__c"]
    lead = loop.lead(only_one)
    assert (lead["OwnerId"], lead["Routing_Status__c"]) == (queue_id, "Escalated"), lead["Routing_Reason__c"]
    assert lead["Routing_Reason__c"].startswith("rejected by "), lead["Routing_Reason__c"]
    assert lead["PartnerAccountId"] is None
    with loop.cx.store.connect() as conn:
        assert held_escalations(conn)["leads"] == 0


def test_a_held_lead_a_person_asks_to_route_again_stays_held_and_escalates_once_the_queue_is_back(org, loop):
    """A person sets Pending on a held lead while the queue is still gone: it is decided
    again, held again (its reason still says so, after who asked), and not forgotten."""
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    queue_id = loop.queue_id(QUEUE)
    escalated = next(r["Id"] for r in sorted(org.org.records("Lead"), key=lambda r: r["Id"])
                     if r.get("Routing_Status__c") == "Escalated")
    admin = _admin(org, loop)
    org.org.delete("Group", queue_id, as_user=admin)
    lead_id = _new_lead_like(loop, escalated, 1)
    loop.cycle(hours=1, partners_act=False)
    assert loop.lead(lead_id)["Routing_Reason__c"].startswith("Escalation held: ")
    org.org.update("Lead", lead_id, {"Routing_Status__c": "Pending"}, as_user=admin)
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert lead["Routing_Status__c"] == "Unroutable"
    assert lead["Routing_Reason__c"].startswith("Escalation held: "), lead["Routing_Reason__c"]
    assert "routed again because a person set Routing Status to Pending" in lead["Routing_Reason__c"]
    from sandbox.bootstrap import add_queue

    queue_id = add_queue(org.org, QUEUE, "Channel Escalations")
    loop.cycle(hours=1, partners_act=False)
    lead = loop.lead(lead_id)
    assert (lead["OwnerId"], lead["Routing_Status__c"]) == (queue_id, "Escalated"), lead["Routing_Reason__c"]
    assert lead["Routing_Reason__c"].startswith("routed again because a person set Routing Status to Pending"), \
        lead["Routing_Reason__c"]


def test_held_leads_are_found_by_a_marker_the_org_holds_so_a_lost_state_still_escalates_them(org, make_loop):
    """A held escalation is marked by what the org holds — Routing_Status__c Unroutable and
    Routing_Rule__c "Escalation held" — not by its reason's wording. Before, the held leads
    were found by the reason's first words in the state alone: a state lost and rebuilt from
    the org (its rows' reason "rebuilt from the org") forgot them, and they stayed Unroutable
    after the queue was back. Leads held before the marker (their reason's prefix only) are
    found too."""
    from jobs.commands import held_escalations
    from jobs.lifecycle import ESCALATION_HELD, HELD_RULE
    from jobs.state import offers as of

    loop = make_loop(org)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    queue_id = loop.queue_id(QUEUE)
    escalated = next(r["Id"] for r in sorted(org.org.records("Lead"), key=lambda r: r["Id"])
                     if r.get("Routing_Status__c") == "Escalated")
    org.org.delete("Group", queue_id, as_user=_admin(org, loop))
    lead_id, unmarked = _new_lead_like(loop, escalated, 1), _new_lead_like(loop, escalated, 3)
    loop.cycle(hours=1, partners_act=False)
    for lid in (lead_id, unmarked):
        held = loop.lead(lid)
        assert (held["Routing_Status__c"], held["Routing_Rule__c"]) == ("Unroutable", HELD_RULE), held
        assert held["Routing_Reason__c"].startswith(ESCALATION_HELD), held["Routing_Reason__c"]
    # one as an earlier version left it in the org: the rule that escalated it, the reason's words only
    org.org.update("Lead", unmarked, {"Routing_Rule__c": "Covering partner, fair rotation"},
                   as_user=org.org.integration_user_id)

    # the state is lost: a new one is rebuilt from the org at its first job
    rebuilt = make_loop(org, name="rebuilt")
    rebuilt.cycle(partners_act=False)
    with rebuilt.cx.store.connect() as conn:  # as `leadrouter status` asks: the queue the rules file names
        said = held_escalations(conn, QUEUE)
    assert said["leads"] == 2 and said["queue"] == QUEUE, said

    # a lead held by an earlier version: its reason's prefix, no marker in the state
    older = _new_lead_like(loop, escalated, 2)
    with rebuilt.cx.store.begin() as conn:
        of.put_lead(conn, older, rebuilt.cx.clock.now(), state="unroutable", attempt=1,
                    reason=f"{ESCALATION_HELD}queue {QUEUE} is not in the org; the lead escalates once it is. "
                           "Escalated: nobody covers it")
    org.org.update("Lead", older, {"Routing_Status__c": "Unroutable", "Routing_Reason__c": "held before"})
    with rebuilt.cx.store.connect() as conn:
        assert held_escalations(conn)["leads"] == 3

    from sandbox.bootstrap import add_queue

    queue_id = add_queue(org.org, QUEUE, "Channel Escalations")
    rebuilt.cycle(hours=1, partners_act=False)
    for lid in (lead_id, unmarked, older):
        lead = loop.lead(lid)
        assert (lead["OwnerId"], lead["Routing_Status__c"]) == (queue_id, "Escalated"), lead["Routing_Reason__c"]
    assert loop.lead(lead_id)["Routing_Reason__c"].startswith("Escalated: "), loop.lead(lead_id)["Routing_Reason__c"]
    with rebuilt.cx.store.connect() as conn:
        assert held_escalations(conn)["leads"] == 0
