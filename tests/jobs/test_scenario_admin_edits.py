"""An admin edits the routing fields of a lead the connector still follows: sets
Routing_Status__c back to Pending (the README's way to have a lead routed again), or takes
the partner account off a live offer. The scenario org of test_scenario_lifecycle; after
each step the Lead as an admin sees it, and the org-only invariants of
tests/reliability/invariants_lifecycle.py."""
from __future__ import annotations

from datetime import timedelta

import pytest

from jobs import lifecycle
from jobs.state import offers as of
from tests.jobs import test_scenario_lifecycle as base
from tests.reliability import invariants_lifecycle as il

pytestmark = pytest.mark.e2e
so, sc, offered_partner = base.so, base.sc, base.offered_partner  # the scenario org and its loop

SYNC = timedelta(minutes=16)  # past the partner sync's interval: the next cycle reads accounts and users


def admin_sets(sc, lead: str, fields: dict) -> None:
    sc.sb.org.update("Lead", lead, fields, as_user=sc.so.admin)


def no_broken_promise(sc) -> None:
    found = il.audit(il.OrgView.from_org(sc.sb.org))
    assert not any(found.values()), il.explain(found)


def track_record(sc, partner_id: str):
    with sc.cx.store.connect() as conn:
        return lifecycle.load_state(conn).perf(partner_id)


def barred_from(sc, lead: str) -> dict:
    with sc.cx.store.connect() as conn:
        return of.lead_facts(conn, [lead])[0].get(lead, {})


def asked_again(reason: str | None) -> bool:
    return bool(reason) and "routed again because a person set Routing Status to Pending" in reason


# ------------------------------------------------------------------ Pending on a lead we follow
def test_pending_on_a_live_offer_withdraws_it_and_routes_the_lead_afresh(so, sc):
    lead = so.new_lead("Haarlem Hout")
    sc.step()
    first = offered_partner(sc, lead)
    first_rep = sc.view(lead)["OwnerId"]
    admin_sets(sc, lead, {"Routing_Status__c": "Pending"})
    sc.step()
    v = sc.view(lead)
    second = offered_partner(sc, lead)
    assert second != first and v["OwnerId"] != first_rep, f"the offer the admin asked to route again stays: {v}"
    assert v["Routing_Attempt__c"] == 1 and asked_again(v["Routing_Reason__c"]), v
    withdrawn, live = sc.offers(lead)
    assert withdrawn["status"] == "closed" and "withdrawn" in withdrawn["close_reason"], withdrawn
    assert live["status"] == "live" and live["partner_id"] == second
    # nobody declined: the first partner is not barred, and its record is as it was
    assert first not in barred_from(sc, lead)
    perf = track_record(sc, first)
    assert (perf.rejected, perf.lapsed, perf.closed) == (0, 0, 0), perf
    no_broken_promise(sc)
    sc.step(hours=1)  # our own write's echo is no new request
    assert len(sc.offers(lead)) == 2 and sc.view(lead)["PartnerAccountId"] == second


def test_pending_on_an_accepted_lead_takes_it_from_the_partner_and_routes_it_afresh(so, sc):
    lead = so.new_lead("Hoorn Haring")
    sc.step()
    first = offered_partner(sc, lead)
    first_rep = sc.view(lead)["OwnerId"]
    sc.accept(lead)
    sc.step()
    assert sc.view(lead)["Routing_Status__c"] == "Accepted"
    admin_sets(sc, lead, {"Routing_Status__c": "Pending"})
    sc.step()
    v = sc.view(lead)
    second = offered_partner(sc, lead)
    assert second != first and v["OwnerId"] != first_rep, v
    assert v["Partner_Response__c"] is None, f"the first partner's acceptance must not read as the new one's: {v}"
    assert v["Routing_Attempt__c"] == 1 and asked_again(v["Routing_Reason__c"]), v
    assert [o["status"] for o in sc.offers(lead)] == ["closed", "live"]
    perf = track_record(sc, first)
    assert (perf.accepted, perf.closed) == (1, 0), f"a person's request is no conversion of the partner's: {perf}"
    sc.step(hours=1)
    v = sc.view(lead)
    assert (v["Routing_Status__c"], v["PartnerAccountId"]) == ("Offered", second), v
    no_broken_promise(sc)


def test_pending_on_a_pool_lead_taken_by_a_rep_puts_it_back_in_the_pool(so, sc):
    lead = so.new_lead("Lyon Laine", country="FR")
    sc.step()
    loire = so.reps["loire"][0]
    sc.sb.org.update("Lead", lead, {"OwnerId": loire}, as_user=loire)
    sc.step()
    assert (sc.view(lead)["Routing_Status__c"], sc.view(lead)["PartnerAccountId"]) == ("Accepted", so.partners["loire"])
    admin_sets(sc, lead, {"Routing_Status__c": "Pending"})
    sc.step()
    v = sc.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"], v["PartnerAccountId"]) == ("Offered", so.pool, None), v
    assert asked_again(v["Routing_Reason__c"]) and v["Routing_Attempt__c"] == 1, v
    no_broken_promise(sc)


def test_pending_on_a_pooled_lead_offers_it_to_the_pool_afresh(so, sc):
    lead = so.new_lead("Lille Lacets", country="FR")
    sc.step()
    before = sc.lead(lead)["Offered_At__c"]
    sc.step(hours=20)
    admin_sets(sc, lead, {"Routing_Status__c": "Pending"})
    sc.step()
    v = sc.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"]) == ("Offered", so.pool), v
    assert asked_again(v["Routing_Reason__c"]) and sc.lead(lead)["Offered_At__c"] != before, v
    sc.step(hours=10)  # past the first pool offer's deadline, within the new one's
    assert sc.view(lead)["OwnerId"] == so.pool and [o["status"] for o in sc.offers(lead)] == ["closed", "live"]


def test_pending_written_with_the_integration_users_own_login_routes_the_lead_again(so, sc):
    """The connector never writes Pending; an admin's tool (jsforce, `sf data update record`, a
    data loader) may well log in as the integration user: its Pending is a request too."""
    lead = so.new_lead("Zaandam Zeep")
    sc.step()
    first = offered_partner(sc, lead)
    sc.sb.org.update("Lead", lead, {"Routing_Status__c": "Pending"}, as_user=sc.sb.org.integration_user_id)
    sc.step()
    v = sc.view(lead)
    assert offered_partner(sc, lead) not in (None, first) and asked_again(v["Routing_Reason__c"]), v
    sc.step(hours=1)  # our own writes' echo is no new request
    assert len(sc.offers(lead)) == 2


def test_pending_and_a_new_owner_in_one_save_routes_the_lead_again(so, sc):
    lead = so.new_lead("Gorinchem Garens")
    sc.step()
    first = offered_partner(sc, lead)
    admin_sets(sc, lead, {"Routing_Status__c": "Pending", "PartnerAccountId": None, "OwnerId": so.admin})
    sc.step()
    v = sc.view(lead)
    assert offered_partner(sc, lead) != first and asked_again(v["Routing_Reason__c"]), v
    no_broken_promise(sc)


# ------------------------------------------------------------------ the partner taken off a live offer
def test_partner_cleared_on_a_live_offer_releases_the_lead_and_a_later_accept_changes_nothing(so, sc):
    lead = so.new_lead("Enkhuizen Emaille")
    sc.step()
    partner = offered_partner(sc, lead)
    rep = sc.view(lead)["OwnerId"]
    admin_sets(sc, lead, {"PartnerAccountId": None})
    sc.step()
    v = sc.view(lead)
    assert v["Routing_Status__c"] == "Released", f"a person took the partner off; the Lead must say so: {v}"
    assert "partner" in v["Routing_Reason__c"] and "person" in v["Routing_Reason__c"], v
    # the rep still owns it: the Lead names the rep's partner, as for any lead a person took over
    assert (v["OwnerId"], v["PartnerAccountId"]) == (rep, partner), v
    (offer,) = sc.offers(lead)
    assert offer["status"] == "closed"
    sc.accept(lead)
    sc.step()
    v = sc.view(lead)
    assert v["Routing_Status__c"] == "Released", v
    assert track_record(sc, partner).closed == 0
    no_broken_promise(sc)


def test_partner_cleared_together_with_pending_routes_the_lead_again(so, sc):
    lead = so.new_lead("Hindeloopen Hout")
    sc.step()
    first = offered_partner(sc, lead)
    admin_sets(sc, lead, {"PartnerAccountId": None, "Routing_Status__c": "Pending"})
    sc.step()
    v = sc.view(lead)
    assert offered_partner(sc, lead) != first and asked_again(v["Routing_Reason__c"]), v
    no_broken_promise(sc)


def test_partner_cleared_on_an_accepted_lead_releases_it(so, sc):
    lead = so.new_lead("Sneek Zeilen")
    sc.step()
    partner = offered_partner(sc, lead)
    sc.accept(lead)
    sc.step()
    admin_sets(sc, lead, {"PartnerAccountId": None})
    sc.step()
    v = sc.view(lead)
    assert (v["Routing_Status__c"], v["PartnerAccountId"]) == ("Released", partner), v
    assert track_record(sc, partner).closed == 0
    no_broken_promise(sc)


# ------------------------------------------------------------------ the partner's track record
def test_withdrawals_and_takeovers_leave_the_partners_record_as_it_was_a_conversion_counts(so, sc):
    paused, taken, converted = (so.new_lead(n) for n in ("Alkmaar Kaas", "Bolsward Bier", "Culemborg Cement"))
    sc.step()
    by_lead = {x: offered_partner(sc, x) for x in (paused, taken, converted)}
    assert len(set(by_lead.values())) == 3
    sc.accept(converted)
    admin_sets(sc, taken, {"OwnerId": so.admin})
    sc.step()
    sc.sb.org.update("Account", by_lead[paused], {"Routing_Paused__c": True}, as_user=so.admin)
    sc.sb.org.update("Lead", converted, {"IsConverted": True, "Status": "Closed - Converted"}, system=True)
    sc.step(hours=SYNC.total_seconds() / 3600)
    assert sc.view(taken)["Routing_Status__c"] == "Released"
    assert sc.offers(paused)[0]["status"] == "closed" and offered_partner(sc, paused) != by_lead[paused]
    assert track_record(sc, by_lead[paused]).closed == 0, "a withdrawal is not the partner's conversion"
    assert track_record(sc, by_lead[taken]).closed == 0, "a takeover is not the partner's conversion"
    perf = track_record(sc, by_lead[converted])
    assert (perf.accepted, perf.closed) == (1, 1), perf


def test_pending_on_a_handed_down_lead_withdraws_the_distributor_and_reseller_alike(so, sc):
    # Belgium has one distributor: past it (and its reseller) nobody is left, so a channel manager decides
    lead = so.new_lead("Mechelen Meubel", country="BE")
    sc.step()
    assert offered_partner(sc, lead) == so.partners["maas"]
    sc.accept(lead)
    sc.step()
    reseller = offered_partner(sc, lead)
    assert reseller in (so.partners["schelde"], so.partners["leie"])
    admin_sets(sc, lead, {"Routing_Status__c": "Pending"})
    sc.step()
    v = sc.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"], v["PartnerAccountId"]) == \
        ("Escalated", sc.queue_id("Channel_Escalations"), None), v
    assert asked_again(v["Routing_Reason__c"]) and v["Partner_Response__c"] is None, v
    assert {o["status"] for o in sc.offers(lead)} == {"closed"}, sc.offers(lead)
    with sc.cx.store.connect() as conn:
        assert of.accepted_offers(conn, [lead]) == {}, "the distributor must not hold the lead any more"
    sc.step(hours=30)
    assert sc.view(lead)["Routing_Status__c"] == "Escalated"
    no_broken_promise(sc)


def test_pending_on_a_released_lead_says_a_person_asked(so, sc):
    lead = so.new_lead("Tiel Tegels")
    sc.step()
    offered_partner(sc, lead)
    admin_sets(sc, lead, {"OwnerId": so.admin})
    sc.step()
    assert sc.view(lead)["Routing_Status__c"] == "Released"
    admin_sets(sc, lead, {"Routing_Status__c": "Pending"})
    sc.step()
    v = sc.view(lead)
    assert v["Routing_Status__c"] == "Offered" and asked_again(v["Routing_Reason__c"]), v
    assert v["Routing_Attempt__c"] == 1, v
    no_broken_promise(sc)


def test_an_offer_decided_again_before_it_landed_never_goes_back_to_a_partner_that_declined(so, sc):
    """A redistribution whose write waits (a locked row) and whose lead a person then edits
    is decided again; the withdrawn offer must not wipe the lead's declines."""
    sc.sb.org.update("Account", so.partners["dijk"], {"Routing_Paused__c": True}, as_user=so.admin)
    sc.step(hours=0.5)
    lead = so.new_lead("Vlissingen Vis")
    sc.step()
    declined = offered_partner(sc, lead)
    sc.sb.faults.plan("record_failures", count=10)  # every write of the next cycle: UNABLE_TO_LOCK_ROW
    sc.reject(lead, "No capacity", "full")
    sc.step()
    assert sc.view(lead)["PartnerAccountId"] == declined and sc.offers(lead)[-1]["status"] == "live"
    sc.sb.faults.clear()
    admin_sets(sc, lead, {"Title": "Inkoper"})
    sc.step()
    v = sc.view(lead)
    assert v["PartnerAccountId"] != declined, f"back to the partner that rejected it: {v}"
    assert offered_partner(sc, lead) and v["Routing_Attempt__c"] == 2, v
    no_broken_promise(sc)


@pytest.mark.parametrize("who", ["admin", "integration user"])
def test_pending_set_while_the_state_was_lost_routes_again_past_the_partners_that_declined_or_held_it(so, sc, who):
    """Three Dutch partners: the first rejects, the second holds the offer when an admin
    sets Pending while the connector's state file is gone (in the org, or with a tool logged
    in as the integration user). The rebuilt state remembers both: the lead goes to the
    third, not back to the partner that rejected it."""
    lead = so.new_lead("Zwolle Zink")
    sc.step()
    first = offered_partner(sc, lead)
    sc.reject(lead, "Out of territory", "east only")
    sc.step()
    second = offered_partner(sc, lead)
    assert second not in (None, first)
    sc.restart(lose_state=True)
    sc.sb.org.update("Lead", lead, {"Routing_Status__c": "Pending"},
                     as_user=so.admin if who == "admin" else sc.sb.org.integration_user_id)
    sc.step()
    v = sc.view(lead)
    third = offered_partner(sc, lead)
    assert third is not None and third not in (first, second), (so.name_of(third), v)
    assert v["Routing_Status__c"] == "Offered" and asked_again(v["Routing_Reason__c"]), v
    no_broken_promise(sc)
