"""What an admin sees on the Lead after an automatic action: its fields say what the
connector did, and nothing on them belongs to an offer that is over.

Each test drives one action end to end against the sandbox org and reads the Lead as an
admin does (its fields, LeadHistory), not the connector's state."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import salesforce_client

from .test_lifecycle_e2e import NEVER_ANSWER, a_distributor_accepts
from .test_outsider_answer_e2e import opened, rep_elsewhere, save_as  # noqa: F401  (opened: a fixture)
from .test_pool_answers_e2e import pooled  # noqa: F401  (a fixture)
from .test_portal_answer_e2e import ANSWERS, answer_as_rep

pytestmark = pytest.mark.e2e


def test_a_lead_back_with_its_distributor_no_longer_shows_the_last_resellers_deadline(org, loop):
    """Every reseller rejects the lead a distributor handed down: it goes back to the
    distributor, Accepted. The rejected reseller's deadline, a day ahead, is cleared: it
    would read as a clock still running on an accepted lead."""
    _, dist_offer = a_distributor_accepts(org, loop)
    lead_id = dist_offer["lead_id"]
    for _ in range(6):  # every reseller rejects
        loop.cycle(hours=1)
    lead = loop.lead(lead_id)
    assert (lead["PartnerAccountId"], lead["Routing_Status__c"]) == (dist_offer["partner_id"], "Accepted")
    assert lead["Routing_Reason__c"].startswith("Back to the distributor")
    resellers = [o for o in loop.offers(lead_id) if o["id"] > dist_offer["id"]]
    assert resellers and all(o["status"] == "rejected" for o in resellers)
    assert lead["Offer_Deadline__c"] is None, "the rejected reseller's deadline is still on the Lead"


def test_a_lead_back_with_its_distributor_names_the_hand_back_as_its_rule_not_the_last_resellers(org, loop):
    """Every reseller rejects: the lead is back with the distributor. Routing Rule says what
    put it there, as an escalation's ("Escalation") and a release's ("Taken over by a
    person") do; it named the last reseller's hand-down rule, while the reason said the lead
    was back with the distributor: two stories on one record."""
    _, dist_offer = a_distributor_accepts(org, loop)
    lead_id = dist_offer["lead_id"]
    handed = _as_admin(org, lead_id)["Routing_Rule__c"]  # the reseller's offer, made as the distributor accepted
    for _ in range(6):  # every reseller rejects
        loop.cycle(hours=1)
    lead = _as_admin(org, lead_id)
    assert (lead["Routing_Status__c"], lead["PartnerAccountId"]) == ("Accepted", dist_offer["partner_id"]), lead
    assert lead["Routing_Reason__c"].startswith("Back to the distributor"), lead
    assert lead["Routing_Rule__c"] != handed, f"still the reseller's hand-down rule {handed!r}"
    assert lead["Routing_Rule__c"] == "Back to the distributor", lead


def test_a_pool_lead_taken_after_a_members_decline_no_longer_says_it_is_in_the_pool(org, pooled):  # noqa: F811
    """A member declines a pool lead: the Lead says so ("... the other partners of the pool can
    still take it"). Another member then takes it: the Lead is Accepted, and its reason says
    when it was taken and the pool offer's words in the past, not the decline's, which no
    longer holds (nobody can take it now), nor "may pull it"."""
    loop, lead_id, offer, (_, decliner), (taker_partner, taker) = pooled
    offered_reason = loop.lead(lead_id)["Routing_Reason__c"]
    assert save_as(org, decliner, lead_id, ANSWERS["reject_out_of_territory"]["fields"]).status_code == 204
    loop.cycle(partners_act=False)
    assert "can still take it" in loop.lead(lead_id)["Routing_Reason__c"]
    assert save_as(org, taker, lead_id, {**ANSWERS["accept"], "OwnerId": taker}).status_code == 204
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert (lead["OwnerId"], lead["PartnerAccountId"], lead["Routing_Status__c"]) == (taker, taker_partner, "Accepted")
    assert lead["Routing_Reason__c"].endswith("; " + offered_reason.replace("may pull it", "could pull it"))
    assert lead["Routing_Reason__c"].startswith("taken from the pool at "), lead["Routing_Reason__c"]


def test_an_offer_accepted_after_an_outsiders_answer_was_refused_no_longer_says_the_offer_stands(
        org, loop, opened):  # noqa: F811
    """Another partner's rep answered; the connector refused it and the Lead said "the
    offer stands". The offered partner then accepts: the Lead says why it has the lead,
    not that an offer stands that is over."""
    lead_id, offer = opened
    offered_reason = loop.lead(lead_id)["Routing_Reason__c"]
    outsider = rep_elsewhere(org, offer["partner_id"])
    assert save_as(org, outsider, lead_id, ANSWERS["reject_out_of_territory"]["fields"]).status_code == 204
    loop.cycle(partners_act=False)
    assert "the offer stands" in loop.lead(lead_id)["Routing_Reason__c"]
    assert save_as(org, offer["rep_id"], lead_id, ANSWERS["accept"]).status_code == 204
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert (lead["OwnerId"], lead["PartnerAccountId"], lead["Routing_Status__c"]) == (
        offer["rep_id"], offer["partner_id"], "Accepted")
    assert lead["Routing_Reason__c"] == offered_reason


def _an_offer(loop) -> tuple[str, dict]:
    return next((lid, o) for lid, o in sorted(loop.live().items()) if o["kind"] == "offer")


def _admin(org, loop) -> str:
    return next(u["Id"] for u in sorted(org.org.table("User").values(), key=lambda u: u["Id"])
                if u["IsActive"] and not u.get("AccountId") and u["Id"] != loop.cx.client.user_id)


@pytest.mark.parametrize("change, cause", [
    (("Account", "partner_id", {"Routing_Paused__c": True}), "its partner paused routing"),
    (("User", "rep_id", {"IsActive": False}), "the rep it was offered to was deactivated"),
    (("Account", "partner_id", {"IsPartner": False}), "its account is no longer a partner"),
])
def test_an_offer_withdrawn_says_on_the_lead_why_and_names_no_partner(org, loop, change, cause):
    """A live offer is withdrawn when its partner pauses, its rep is deactivated or the
    account stops being a partner, and the lead goes to another partner. The Lead says why
    the previous offer went (the admin has no other place to read it), in words the next
    partner's reps may read: no partner's name."""
    from .test_lifecycle_e2e import NEVER_ANSWER

    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, offer = _an_offer(loop)
    sobject, key, values = change
    org.org.update(sobject, offer[key], values, as_user=_admin(org, loop))
    loop.cycle(hours=1, partners_act=False)
    lead = loop.lead(lead_id)
    assert lead["PartnerAccountId"] not in (None, offer["partner_id"]), lead
    assert lead["Routing_Reason__c"].startswith(f"the previous offer was withdrawn: {cause}; "), lead["Routing_Reason__c"]
    assert org.org.get("Account", offer["partner_id"])["Name"] not in lead["Routing_Reason__c"]


def test_a_write_refused_by_a_validation_rule_says_what_was_refused_and_how_to_route_again(org, loop):
    """A partner rejects; the next offer's write is refused by a validation rule. The Lead
    goes Unroutable with Salesforce's words, and says which write it was (the offer, its
    rule and attempt: Routing_Rule__c still names the previous one) and what to do once
    the data or the rule is fixed. The reason fits the field."""
    from .test_lifecycle_e2e import NEVER_ANSWER
    from .test_portal_answer_e2e import answer_as_rep

    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, offer = _an_offer(loop)
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
    org.faults.plan("record_failures", code="FIELD_CUSTOM_VALIDATION_EXCEPTION")
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    refused = loop.offers(lead_id)[-1]
    assert refused["partner_id"] != offer["partner_id"] and refused["attempt"] == 2
    reason = lead["Routing_Reason__c"]
    assert lead["Routing_Status__c"] == "Unroutable" and len(reason) <= 255
    assert reason.startswith(f"Salesforce refused leadrouter's offer (rule {refused['rule']}, attempt 2): "
                             "FIELD_CUSTOM_VALIDATION_EXCEPTION"), reason
    assert reason.endswith("once fixed, set Routing Status to Pending: leadrouter routes it again at its next run"), \
        reason
    assert org.org.get("Account", refused["partner_id"])["Name"] not in reason  # the rejecting partner's rep reads it
    # and it does: once set to Pending the lead is routed again, never back to the partner that rejected it
    org.org.update("Lead", lead_id, {"Routing_Status__c": "Pending"}, as_user=_admin(org, loop))
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert lead["Routing_Status__c"] in ("Offered", "Escalated"), lead["Routing_Reason__c"]
    assert lead["PartnerAccountId"] != offer["partner_id"]


def test_a_lead_moved_on_to_a_fallback_queue_says_what_became_of_its_offer(org, tmp_path):
    """A partner rejects and no other partner can take the lead now (every other one has
    paused): its rule sends it to the fallback queue. The Lead says what became of the offer
    before the rule's own reason, as an offer made again and an escalation do, and names no
    partner (the queue's members may be partner users)."""
    from .conftest import Loop, build_connector
    from .rules_for_tests import BASE, ROTATION
    from .test_lifecycle_e2e import NEVER_ANSWER
    from .test_portal_answer_e2e import answer_as_rep

    rules = tmp_path / "fallback.toml"
    rules.write_text(BASE + ROTATION.replace('otherwise = "escalate"', 'otherwise = "Unassigned_Partner_Leads"'))
    cx = build_connector(org, f"sqlite:///{tmp_path}/state.sqlite", rules=rules)
    try:
        loop = Loop(org, cx)
        org.simulator.set_profile("*", NEVER_ANSWER)
        loop.cycle()
        lead_id, offer = _an_offer(loop)
        admin = _admin(org, loop)
        for account in org.org.records("Account"):
            if account.get("IsPartner") and account["Id"] != offer["partner_id"]:
                org.org.update("Account", account["Id"], {"Routing_Paused__c": True}, as_user=admin)
        answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
        loop.cycle(partners_act=False)
        lead = loop.lead(lead_id)
        assert (lead["Routing_Status__c"], lead["OwnerId"]) == ("Fallback", loop.queue_id("Unassigned_Partner_Leads"))
        assert lead["Routing_Reason__c"].startswith("offer 1 was rejected; Fallback queue"), lead["Routing_Reason__c"]
        assert org.org.get("Account", offer["partner_id"])["Name"] not in lead["Routing_Reason__c"]
    finally:
        cx.client.close()
        cx.store.dispose()


def _only_partner_offer(org, loop) -> tuple[str, dict]:
    """A live offer to the one partner that could take its lead: a rejection escalates it."""
    from .test_lifecycle_e2e import NEVER_ANSWER

    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    return next((lid, o) for lid, o in sorted(loop.live().items()) if o["kind"] == "offer"
                and "; 1 eligible" in (loop.lead(lid)["Routing_Reason__c"] or ""))


def test_an_escalated_lead_no_longer_shows_the_last_offers_time(org, loop):
    """The only partner that could take the lead rejects it: it escalates. The Lead no longer
    says when the offer that is over was made (Offered_At__c), as it no longer shows its
    deadline: no offer is running."""
    from .test_portal_answer_e2e import answer_as_rep

    lead_id, offer = _only_partner_offer(org, loop)
    assert loop.lead(lead_id)["Offered_At__c"] is not None
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert (lead["Routing_Status__c"], lead["OwnerId"]) == ("Escalated", loop.queue_id("Channel_Escalations"))
    assert (lead["Offered_At__c"], lead["Offer_Deadline__c"]) == (None, None), "the last offer's time is still on it"


def test_an_escalation_whose_write_got_no_answer_and_did_not_land_is_sent_again(org, loop):
    """Clearing Offered_At__c does not fool the read-back of a write lost in flight: the Lead
    still showing the offer's time is an escalation that did not land, and it goes again."""
    from .test_portal_answer_e2e import answer_as_rep

    lead_id, offer = _only_partner_offer(org, loop)
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
    org.faults.plan("drop", count=50, endpoint="PATCH composite/sobjects")  # the escalation's write: no answer
    loop.cycle(partners_act=False, raise_errors=False)
    org.faults.clear()
    assert loop.lead(lead_id)["Routing_Status__c"] == "Offered", "the write did not reach Salesforce"
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert (lead["Routing_Status__c"], lead["OwnerId"]) == ("Escalated", loop.queue_id("Channel_Escalations"))
    assert lead["Offered_At__c"] is None


LONG_NAME = (" — Channel Services Division for Enterprise, Public Sector and Mid-Market Accounts in North, "
             "Central and South America (formerly the Regional Alliances Group)")


def _long_partner_names(org, loop) -> None:
    """Partners with long legal names (Account.Name holds 255): an offer's reason, the rule
    and the partner, then fills Routing_Reason__c, and the rules cut it with a mark."""
    admin = _admin(org, loop)
    for account in org.org.records("Account"):
        if account.get("IsPartner"):
            org.org.update("Account", account["Id"], {"Name": account["Name"] + LONG_NAME}, as_user=admin)


def _as_admin(org, lead_id: str) -> dict:
    """The Lead as the admin reads it: SOQL through simple-salesforce."""
    from tests.conftest import salesforce_client

    sf = salesforce_client(org)
    try:
        return sf.query(f"SELECT Id, OwnerId, PartnerAccountId, Routing_Status__c, Routing_Rule__c, "
                        f"Routing_Reason__c, Offered_At__c, Offer_Deadline__c FROM Lead WHERE Id = '{lead_id}'")["records"][0]
    finally:
        sf.session.close()


def _cut_with_a_mark(reason: str) -> bool:
    return len(reason) <= 255 and (len(reason) < 250 or reason.endswith("…"))


@pytest.mark.parametrize("how", ["rejected", "pending"])
def test_a_reason_said_after_an_earlier_step_is_cut_with_a_mark_not_mid_word(org, loop, how):
    """A lead offered again (after a rejection, or because a person set it to Pending) says
    why before the new offer's reason. With a long partner name that reason fills the field,
    cut by the rules with '…'; the words put before it pushed the mark off, the text was cut
    at 255 characters mid-word, and the Lead read as if that were the whole reason."""
    from .test_lifecycle_e2e import NEVER_ANSWER
    from .test_portal_answer_e2e import answer_as_rep

    _long_partner_names(org, loop)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, offer = next((lid, o) for lid, o in sorted(loop.live().items()) if o["kind"] == "offer"
                          and "; 1 eligible" not in (loop.lead(lid)["Routing_Reason__c"] or ""))
    if how == "rejected":
        answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
        said = "offer 1 was rejected; "
    else:
        org.org.update("Lead", lead_id, {"Routing_Status__c": "Pending"}, as_user=_admin(org, loop))
        said = "routed again because a person set Routing Status to Pending; "
    loop.cycle(partners_act=False)
    lead = _as_admin(org, lead_id)
    reason = lead["Routing_Reason__c"]
    assert lead["Routing_Status__c"] == "Offered" and lead["PartnerAccountId"] != offer["partner_id"], lead
    assert reason.startswith(said), reason
    assert _cut_with_a_mark(reason), f"cut without a mark: {reason!r}"


def test_a_released_lead_still_says_how_to_route_it_again_when_its_reason_is_long(org, loop):
    """A person sets another partner on an offered lead (its rep still owns it): the lead is
    Released, and its reason names both partners, then says how to route it again. With long
    partner names the reason was cut at 255 characters inside that instruction, so the Lead
    no longer said it; now the names give way, cut with a mark, and the instruction is whole."""
    from .test_lifecycle_e2e import NEVER_ANSWER

    _long_partner_names(org, loop)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, offer = _an_offer(loop)
    other = next(a["Id"] for a in org.org.records("Account") if a.get("IsPartner") and a["Id"] != offer["partner_id"])
    org.org.update("Lead", lead_id, {"PartnerAccountId": other}, as_user=_admin(org, loop))
    loop.cycle(partners_act=False)
    lead = _as_admin(org, lead_id)
    reason = lead["Routing_Reason__c"]
    assert lead["Routing_Status__c"] == "Released", lead
    assert reason.startswith("taken over by a person: the partner account was set to "), reason
    assert len(reason) <= 255 and "…" in reason, reason
    assert reason.endswith("; to have it routed again, set Routing Status to Pending: leadrouter routes it at its next run"), \
        reason


@pytest.mark.parametrize("ended", ["rejected", "lapsed"])
def test_a_lead_held_for_a_missing_escalation_queue_shows_no_offer_running(org, loop, ended):
    """The only partner that could take the lead rejects it (or lets it lapse) while the
    escalation queue is gone: the lead is held, Unroutable, saying so. It showed the offer
    that was over as still running — its time and its deadline (a day ahead, after a
    rejection) on an Unroutable lead; it shows none, as an escalation does."""
    from .test_portal_answer_e2e import answer_as_rep

    lead_id, offer = _only_partner_offer(org, loop)
    org.org.delete("Group", loop.queue_id("Channel_Escalations"), as_user=_admin(org, loop))
    if ended == "rejected":
        answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
        loop.cycle(hours=1, partners_act=False)
    else:
        loop.cycle(hours=25, partners_act=False)
    lead = _as_admin(org, lead_id)
    assert (lead["Routing_Status__c"], lead["Routing_Rule__c"]) == ("Unroutable", "Escalation held"), lead
    assert lead["Routing_Reason__c"].startswith("Escalation held: queue Channel Escalations is not in the org")
    assert (lead["Offered_At__c"], lead["Offer_Deadline__c"]) == (None, None), "the offer that is over still shows"


def test_a_distributor_keeping_a_lead_no_reseller_can_take_does_not_say_it_came_back(org, loop):
    """A distributor accepts; none of its resellers can take the lead (every one paused). The
    lead never went down, so it stays with the distributor, Accepted, and its reason says
    so; it read "Back to the distributor: …", as if resellers had had it and given it back."""
    admin = _admin(org, loop)
    for account in org.org.records("Account"):
        if account.get("ParentId"):
            org.org.update("Account", account["Id"], {"Routing_Paused__c": True}, as_user=admin)
    _, dist_offer = a_distributor_accepts(org, loop)
    lead_id = dist_offer["lead_id"]
    assert [o for o in loop.offers(lead_id) if o["id"] > dist_offer["id"]] == [], "a reseller was offered it"
    lead = _as_admin(org, lead_id)
    assert (lead["PartnerAccountId"], lead["Routing_Status__c"]) == (dist_offer["partner_id"], "Accepted"), lead
    name = org.org.get("Account", dist_offer["partner_id"])["Name"]
    assert lead["Routing_Reason__c"] == f"Hand-down: no reseller of {name} qualifies; the lead stays with it", \
        lead["Routing_Reason__c"]

# ---------------------------------------------------------------- the promise, action by action
# The promise, action by action: every automatic action shows on the Lead where an admin
# looks — status, owner, partner, the rule, the reason (and LeadHistory, which tracks the
# status, the owner and the partner) — and leaves no contradiction behind.
#
# Each row drives one action end to end against the sandbox org, then reads the Lead as an
# admin does, by SOQL through simple-salesforce, and LeadHistory, and holds it to the same
# checks (`admin_sees`): the status says what happened; the reason says it in words (its
# start given by the row), within the field and cut only with a mark, naming no internal
# code, any time in it the org's; no offer clock on a lead in no offer; a queue-owned lead
# is a pool's offer, an escalation or a fallback, a rep-owned offer names the rep's partner;
# and LeadHistory shows a change of the connector's (the status, the owner, the partner, or
# the answer it cleared).

FIELDS = ("Id, OwnerId, PartnerAccountId, Routing_Status__c, Routing_Rule__c, Routing_Reason__c, Routing_Attempt__c, "
          "Offered_At__c, Offer_Deadline__c, Partner_Response__c")
NO_OFFER_RUNNING = ("Accepted", "Escalated", "Unroutable", "Fallback", "Released")
QUEUE_STATUSES = ("Escalated", "Fallback")
SNAKE = re.compile(r"(?<![\w.])[a-z]+(?:_[a-z]+)+(?![\w(])")  # an identifier of ours: hand_down, rejected_then_offer
TIME = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC")


def admin_sees(org, loop, lead_id: str, *, status: str, reason_starts: str, since: datetime) -> dict:
    """The Lead and its history as the admin reads them, held to the promise; the Lead."""
    sf = salesforce_client(org)
    try:
        lead = sf.query(f"SELECT {FIELDS} FROM Lead WHERE Id = '{lead_id}'")["records"][0]
        history = sf.query_all("SELECT Field, OldValue, NewValue, CreatedById, CreatedDate FROM LeadHistory "
                               f"WHERE LeadId = '{lead_id}' ORDER BY CreatedDate")["records"]
    finally:
        sf.session.close()
    reason, owner, partner = lead["Routing_Reason__c"] or "", lead["OwnerId"], lead["PartnerAccountId"]
    st = lead["Routing_Status__c"]
    # what happened, by which rule, why
    assert st == status, lead
    assert lead["Routing_Rule__c"] and not SNAKE.fullmatch(lead["Routing_Rule__c"]), lead
    assert reason.startswith(reason_starts), reason
    # in words: within the field, cut only with a mark, no identifier of ours
    assert len(reason) <= 255 and (len(reason) < 250 or reason.endswith("…")), reason
    assert not SNAKE.search(reason), f"an internal code in {reason!r}"
    # any time it names is the org's, in this action's span (the org's clock moved, the host's did not)
    org_now = org.clock.now()
    for said in TIME.findall(reason):
        at = datetime.strptime(said, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
        assert since - timedelta(days=2) <= at <= org_now, f"{said} is not the org's time ({org_now:%Y-%m-%d %H:%M})"
    # no contradiction
    if st in NO_OFFER_RUNNING:
        assert lead["Offer_Deadline__c"] is None, f"{st} with an offer deadline: {lead}"
    if st in ("Escalated", "Fallback", "Unroutable", "Released"):
        assert lead["Offered_At__c"] is None, f"{st} still showing an offer's time: {lead}"
    if st in QUEUE_STATUSES:
        assert owner.startswith("00G") and partner is None, lead
    if st == "Offered":
        assert lead["Offer_Deadline__c"] is not None and lead["Offered_At__c"] is not None, lead
        if owner.startswith("00G"):
            assert partner is None and "pool" in reason, f"a queue owns an offer that is no pool's: {lead}"
        else:
            assert partner == org.org.get("User", owner)["AccountId"], f"the offered rep is not the partner's: {lead}"
    if st == "Accepted":
        assert not owner.startswith("00G") and partner == org.org.get("User", owner)["AccountId"], lead
        assert not re.search(r"may pull it|can still take it|the offer stands", reason), \
            f"an accepted lead still said to be open: {reason!r}"
    # LeadHistory shows the change, by the connector, in this action's span
    ours = loop.cx.client.user_id
    changed = [h for h in history if h["CreatedById"][:15] == ours[:15]
               and datetime.strptime(h["CreatedDate"], "%Y-%m-%dT%H:%M:%S.%f%z") >= since]
    assert changed, f"LeadHistory shows no change of the connector's since {since}: {history}"
    return lead


def _offered(org, loop, *, only: bool = False) -> tuple[str, dict]:
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    return next((lid, o) for lid, o in sorted(loop.live().items()) if o["kind"] == "offer"
                and (("; 1 eligible" in (loop.lead(lid)["Routing_Reason__c"] or "")) == only))


# each: (org, loop) -> (lead id, status, the reason's start, when the action began)
def first_offer(org, loop):
    since = org.clock.now()
    lead_id, offer = _offered(org, loop)
    return lead_id, "Offered", "Covering partner, fair rotation: ", since


def offered_on_after_a_rejection(org, loop):
    lead_id, offer = _offered(org, loop)
    since = org.clock.now()
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
    loop.cycle(partners_act=False)
    return lead_id, "Offered", "offer 1 was rejected; Covering partner, fair rotation: ", since


def offered_on_after_a_lapse(org, loop):
    lead_id, offer = _offered(org, loop)
    since = org.clock.now()
    loop.cycle(hours=25, partners_act=False)
    return lead_id, "Offered", "offer 1 lapsed unanswered; Covering partner, fair rotation: ", since


def escalated_after_the_only_partner_rejects(org, loop):
    lead_id, offer = _offered(org, loop, only=True)
    since = org.clock.now()
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
    loop.cycle(partners_act=False)
    return lead_id, "Escalated", "Escalated: Covering partner, fair rotation: ", since


def escalated_after_the_only_offer_lapses(org, loop):
    lead_id, offer = _offered(org, loop, only=True)
    since = org.clock.now()
    loop.cycle(hours=25, partners_act=False)
    return lead_id, "Escalated", "Escalated: Covering partner, fair rotation: ", since


def accepted(org, loop):
    lead_id, offer = _offered(org, loop)
    since = org.clock.now()
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["accept"])
    loop.cycle(partners_act=False)
    return lead_id, "Accepted", "Covering partner, fair rotation: ", since


def handed_back_after_accepting(org, loop):
    lead_id, offer = _offered(org, loop)
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["accept"])
    loop.cycle(partners_act=False)
    since = org.clock.now()
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
    loop.cycle(partners_act=False)
    return lead_id, "Offered", "offer 1 was accepted, then handed back; ", since


def withdrawn_when_the_partner_pauses(org, loop):
    lead_id, offer = _offered(org, loop)
    since = org.clock.now()
    org.org.update("Account", offer["partner_id"], {"Routing_Paused__c": True}, as_user=_admin(org, loop))
    loop.cycle(hours=1, partners_act=False)
    return lead_id, "Offered", "the previous offer was withdrawn: its partner paused routing; ", since


def withdrawn_when_the_rep_is_deactivated(org, loop):
    lead_id, offer = _offered(org, loop)
    since = org.clock.now()
    org.org.update("User", offer["rep_id"], {"IsActive": False}, as_user=_admin(org, loop))
    loop.cycle(hours=1, partners_act=False)
    return lead_id, "Offered", "the previous offer was withdrawn: the rep it was offered to was deactivated; ", since


def routed_again_when_a_person_sets_pending(org, loop):
    lead_id, offer = _offered(org, loop)
    since = org.clock.now()
    org.org.update("Lead", lead_id, {"Routing_Status__c": "Pending"}, as_user=_admin(org, loop))
    loop.cycle(partners_act=False)
    return lead_id, "Offered", "routed again because a person set Routing Status to Pending; ", since


def released_when_a_person_takes_it(org, loop):
    lead_id, offer = _offered(org, loop)
    since = org.clock.now()
    admin = _admin(org, loop)
    org.org.update("Lead", lead_id, {"OwnerId": admin}, as_user=admin)
    loop.cycle(partners_act=False)
    return lead_id, "Released", f"taken over by a person: owner set to {org.org.get('User', admin)['Name']} at ", since


def held_while_the_escalation_queue_is_gone(org, loop):
    lead_id, offer = _offered(org, loop, only=True)
    since = org.clock.now()
    org.org.delete("Group", loop.queue_id("Channel_Escalations"), as_user=_admin(org, loop))
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
    loop.cycle(hours=1, partners_act=False)
    return lead_id, "Unroutable", "Escalation held: queue Channel Escalations is not in the org", since


def held_when_a_person_sets_pending_while_the_queue_is_gone(org, loop):
    lead_id, offer = _offered(org, loop, only=True)
    since = org.clock.now()
    admin = _admin(org, loop)
    org.org.delete("Group", loop.queue_id("Channel_Escalations"), as_user=admin)
    org.org.update("Lead", lead_id, {"Routing_Status__c": "Pending"}, as_user=admin)
    loop.cycle(hours=1, partners_act=False)
    return lead_id, "Unroutable", "Escalation held: queue Channel Escalations is not in the org", since


def handed_down_to_a_reseller(org, loop):
    since = org.clock.now()
    _, dist_offer = a_distributor_accepts(org, loop)
    return dist_offer["lead_id"], "Offered", "Hand-down from ", since


def back_with_the_distributor(org, loop):
    _, dist_offer = a_distributor_accepts(org, loop)
    since = org.clock.now()
    for _ in range(6):  # every reseller rejects
        loop.cycle(hours=1)
    return dist_offer["lead_id"], "Accepted", "Back to the distributor: offer ", since


def kept_by_the_distributor_no_reseller_can_take(org, loop):
    admin = _admin(org, loop)
    for account in org.org.records("Account"):
        if account.get("ParentId"):
            org.org.update("Account", account["Id"], {"Routing_Paused__c": True}, as_user=admin)
    since = org.clock.now()
    _, dist_offer = a_distributor_accepts(org, loop)
    return dist_offer["lead_id"], "Accepted", "Hand-down: no reseller of ", since


ACTIONS = [first_offer, offered_on_after_a_rejection, offered_on_after_a_lapse, escalated_after_the_only_partner_rejects,
           escalated_after_the_only_offer_lapses, accepted, handed_back_after_accepting,
           withdrawn_when_the_partner_pauses, withdrawn_when_the_rep_is_deactivated,
           routed_again_when_a_person_sets_pending, released_when_a_person_takes_it,
           held_while_the_escalation_queue_is_gone, held_when_a_person_sets_pending_while_the_queue_is_gone,
           handed_down_to_a_reseller, back_with_the_distributor, kept_by_the_distributor_no_reseller_can_take]


@pytest.mark.parametrize("action", ACTIONS, ids=[a.__name__ for a in ACTIONS])
def test_an_automatic_action_shows_on_the_lead(org, loop, action):
    lead_id, status, starts, since = action(org, loop)
    admin_sees(org, loop, lead_id, status=status, reason_starts=starts, since=since)


# the pool: one live pool offer, two member reps the pool's rule admits
def pool_offer(org, pooled):  # noqa: F811
    loop, lead_id, offer, _, _ = pooled
    return loop, lead_id, "Offered", "North America pool: pool Partner Pool NA", None


def pool_member_declines(org, pooled):  # noqa: F811
    loop, lead_id, offer, (_, decliner), _ = pooled
    since = org.clock.now()
    assert save_as(org, decliner, lead_id, ANSWERS["reject_out_of_territory"]["fields"]).status_code == 204
    loop.cycle(partners_act=False)
    return loop, lead_id, "Offered", "a partner of the pool declined it at ", since


def pool_pick_up(org, pooled):  # noqa: F811
    loop, lead_id, offer, _, (_, taker) = pooled
    since = org.clock.now()
    assert save_as(org, taker, lead_id, {**ANSWERS["accept"], "OwnerId": taker}).status_code == 204
    loop.cycle(partners_act=False)
    return loop, lead_id, "Accepted", "taken from the pool at ", since


def pool_pick_up_by_a_member_that_declined_is_undone(org, pooled):  # noqa: F811
    loop, lead_id, offer, (_, decliner), _ = pooled
    assert save_as(org, decliner, lead_id, ANSWERS["reject_out_of_territory"]["fields"]).status_code == 204
    loop.cycle(partners_act=False)
    since = org.clock.now()
    assert save_as(org, decliner, lead_id, {**ANSWERS["accept"], "OwnerId": decliner}).status_code == 204
    loop.cycle(partners_act=False)
    return loop, lead_id, "Offered", "a pick-up by a partner barred from this lead", since


POOL_ACTIONS = [pool_offer, pool_member_declines, pool_pick_up, pool_pick_up_by_a_member_that_declined_is_undone]


@pytest.mark.parametrize("action", POOL_ACTIONS, ids=[a.__name__ for a in POOL_ACTIONS])
def test_an_automatic_pool_action_shows_on_the_lead(org, pooled, action):  # noqa: F811
    loop, lead_id, status, starts, since = action(org, pooled)
    admin_sees(org, loop, lead_id, status=status, reason_starts=starts,
               since=since or org.clock.now() - timedelta(hours=1))


def test_a_reminder_shows_on_the_lead_as_a_task_and_leaves_the_offer_as_it_was(org, loop):
    """A reminder changes nothing on the Lead (the offer, its reason, its deadline stand); it
    shows in the Lead's activity, as a completed Task dated by the org's clock."""
    lead_id, offer = _offered(org, loop)
    before = admin_sees(org, loop, lead_id, status="Offered", reason_starts="Covering partner, fair rotation: ",
                        since=org.clock.now() - timedelta(hours=1))
    loop.cycle(hours=20, partners_act=False)
    after = admin_sees(org, loop, lead_id, status="Offered", reason_starts="Covering partner, fair rotation: ",
                       since=org.clock.now() - timedelta(days=1))
    assert after == before
    sf = salesforce_client(org)
    try:
        tasks = sf.query(f"SELECT Subject, Status, ActivityDate FROM Task WHERE WhoId = '{lead_id}'")["records"]
    finally:
        sf.session.close()
    assert [(t["Subject"], t["Status"], t["ActivityDate"]) for t in tasks] == [
        ("Offer reminder sent", "Completed", f"{org.clock.now():%Y-%m-%d}")], tasks
