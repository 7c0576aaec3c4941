"""The follow-up of an accepted lead nobody worked, when the rep holding it has since been
deactivated in the org: Salesforce sends a custom notification to a user only "if this
user is active" (Actions Developer Guide, customNotificationAction), so a reminder to that
rep reaches nobody. It goes to the partner's first active rep (the rep an offer starts its
rotation with), or, when the partner has no active rep left, to the escalation queue; the
Lead's Task says who was reminded and why."""
from __future__ import annotations

import pytest

from .test_lifecycle_e2e import ALWAYS_ACCEPT, NEVER_ANSWER, to_resellers

pytestmark = pytest.mark.e2e


def _reps(org, partner_id: str) -> list[str]:
    return sorted(u["Id"] for u in org.org.records("User")
                  if u.get("AccountId") == partner_id and u.get("IsActive", True))


def _told(org, lead_id: str, before: int) -> list[list[str]]:
    return [n.inputs["recipientIds"] for n in org.notifications.all("customNotificationAction")[before:]
            if n.inputs.get("targetId") == lead_id and n.inputs["title"].startswith("Accepted lead")]


def _holders_deactivated(org, make_loop):
    """Leads accepted and left untouched; the rep holding one of them (`with_colleague`, of a
    partner with more reps) deactivated, and every rep of another lead's partner (`alone`).
    (loop, untouched offers, with_colleague, its partner, its holder, the colleague, alone)."""
    loop = make_loop(org, settings={"offers": {"followup_days": 3}})
    org.simulator.set_profile("*", ALWAYS_ACCEPT)
    loop.cycle(partners_act=False)
    first = to_resellers(loop)
    loop.cycle(hours=1)
    untouched = {lid: o for lid, o in first.items() if loop.lead(lid)["Status"] == "Open - Not Contacted"}
    with_colleague = next(lid for lid, o in untouched.items() if len(_reps(org, o["partner_id"])) > 1)
    partner = untouched[with_colleague]["partner_id"]
    holder = loop.lead(with_colleague)["OwnerId"]
    colleague = next(r for r in _reps(org, partner) if r != holder)
    alone = next(lid for lid, o in untouched.items() if o["partner_id"] != partner)
    org.simulator.set_profile("*", NEVER_ANSWER)
    org.org.update("User", holder, {"IsActive": False})
    for rep in _reps(org, untouched[alone]["partner_id"]):  # this partner has nobody left to work its leads
        org.org.update("User", rep, {"IsActive": False})
    return loop, untouched, with_colleague, partner, holder, colleague, alone


def test_a_follow_up_for_a_deactivated_rep_goes_to_an_active_colleague_or_the_escalation_queue(org, make_loop):
    loop, untouched, with_colleague, partner, holder, colleague, alone = _holders_deactivated(org, make_loop)
    before = len(org.notifications.all("customNotificationAction"))
    loop.cycle(hours=3 * 24)

    followups = [n for n in org.notifications.all("customNotificationAction")[before:]
                 if n.inputs["title"].startswith("Accepted lead")]
    assert followups and not [n for n in followups if n.extra.get("not_delivered")], "none lost on an inactive user"
    assert _told(org, with_colleague, before) == [[colleague]], "the partner's first active rep, not the deactivated one"
    queue = loop.queue_id("Channel_Escalations")
    assert _told(org, alone, before) == [[queue]], "no active rep of the partner: the escalation queue"
    tasks = {t["WhoId"]: t for t in org.org.records("Task") if t["Subject"].startswith("Follow-up")}
    said = tasks[with_colleague]["Description"]
    assert tasks[with_colleague]["Subject"] == "Follow-up reminder sent"
    assert "no longer active" in said and "another active rep of the partner" in said, said
    said = tasks[alone]["Description"]
    assert "no active rep" in said and "Channel_Escalations" in said, said


def test_by_email_a_partner_without_active_reps_is_said_on_the_lead_with_how_to_reach_the_queue(org, make_loop):
    """emailSimple takes a user, never a queue: the Task says nobody was reminded, and how to
    have the escalation queue's members reminded instead."""
    loop = make_loop(org, settings={"offers": {"followup_days": 3},
                                    "notifications": {"mode": "email", "offer_alert": "email"}})
    org.simulator.set_profile("*", ALWAYS_ACCEPT)
    loop.cycle(partners_act=False)
    first = to_resellers(loop)
    loop.cycle(hours=1)
    lead_id, offer = next((lid, o) for lid, o in first.items() if loop.lead(lid)["Status"] == "Open - Not Contacted")
    org.simulator.set_profile("*", NEVER_ANSWER)
    for rep in _reps(org, offer["partner_id"]):
        org.org.update("User", rep, {"IsActive": False})
    before = len(org.notifications.all("emailSimple"))
    loop.cycle(hours=3 * 24)
    assert not [n for n in org.notifications.all("emailSimple")[before:]
                if lead_id in n.inputs["emailBody"] and n.inputs["emailSubject"].startswith("Accepted lead")]
    [task] = [t for t in org.org.records("Task") if t["WhoId"] == lead_id and t["Subject"].startswith("Follow-up")]
    assert task["Subject"] == "Follow-up reminder not sent", task
    assert "no active rep" in task["Description"] and 'mode = "custom"' in task["Description"], task["Description"]


def _bodies(org, lead_id: str, before: int) -> list[tuple[str, str]]:
    return [(n.inputs["title"], n.inputs["body"]) for n in org.notifications.all("customNotificationAction")[before:]
            if n.inputs.get("targetId") == lead_id]  # an accepted lead: its follow-up only, in any language


def test_a_follow_up_sent_instead_of_a_deactivated_rep_is_worded_for_who_reads_it(org, make_loop):
    """The colleague did not accept the lead, and the queue's members are no partner's reps:
    neither is told "You accepted …". The colleague reads which partner accepted it and that
    its rep is no longer active, in the colleague's language; the escalation queue reads what
    happened and what to do."""
    loop, untouched, with_colleague, partner, holder, colleague, alone = _holders_deactivated(org, make_loop)
    org.org.update("User", colleague, {"LanguageLocaleKey": "de"})
    before = len(org.notifications.all("customNotificationAction"))
    loop.cycle(hours=3 * 24)

    name = org.org.get("Account", partner)["Name"]
    [(title, body)] = _bodies(org, with_colleague, before)
    assert "Sie haben" not in body and "You accepted" not in body, body
    assert body.startswith(f"{name} hat "), body
    assert "nicht mehr aktiv" in body, body
    [(title, body)] = _bodies(org, alone, before)
    alone_name = org.org.get("Account", untouched[alone]["partner_id"])["Name"]
    assert "You accepted" not in body, body
    assert body.startswith(f"{alone_name} accepted "), body
    assert "no active rep left" in body and "give it to someone who will work it" in body, body
