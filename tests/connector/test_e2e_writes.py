"""Writes: batching, per-record results, the staleness guard, Sforce-Auto-Assign."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from connector import GuardedUpdate

pytestmark = pytest.mark.e2e


def add_leads(org, n, **fields):
    return [org.org.create("Lead", {"LastName": f"Lead {i}", "Company": f"Co {i}", **fields}) for i in range(n)]


def test_1000_lead_updates_are_written_in_5_calls(org, client):
    ids = add_leads(org, 1000)
    client.calls = 0
    results = client.update("Lead", [{"Id": i, "Routing_Status__c": "Pending", "Routing_Attempt__c": 1}
                                     for i in ids])
    assert client.calls == 5
    assert [r.id for r in results] == ids and all(r.ok for r in results)
    assert {org.org.get("Lead", i)["Routing_Status__c"] for i in ids} == {"Pending"}


def test_each_record_result_says_what_failed_and_the_rest_are_written(org, client):
    good, bad = add_leads(org, 2)
    results = client.update("Lead", [{"Id": good, "Routing_Status__c": "Offered"},
                                     {"Id": bad, "Routing_Status__c": "Not A Status"}])
    assert results[0].ok and results[0].kind == "ok"
    assert (results[1].ok, results[1].kind, results[1].code) == (
        False, "permanent", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
    assert org.org.get("Lead", good)["Routing_Status__c"] == "Offered"


def test_datetimes_and_dates_are_written_in_salesforce_form(org, client):
    lead = add_leads(org, 1)[0]
    offered = datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=timezone.utc)
    results = client.update("Lead", [{"Id": lead, "Offered_At__c": offered,
                                      "Expected_Close_Date__c": offered.date()}])
    assert results[0].ok, results[0]
    back = next(client.read_by_ids("Lead", ["Offered_At__c", "Expected_Close_Date__c"], [lead]))
    assert back["Offered_At__c"] == "2024-05-01T10:00:00.250+0000"
    assert back["Expected_Close_Date__c"] == "2024-05-01"


def test_lead_writes_keep_our_owner_because_auto_assign_is_off(org, client):
    lead = add_leads(org, 1)[0]
    rep_queue = org.org.queue_ids["Channel_Escalations"]
    assert client.update("Lead", [{"Id": lead, "OwnerId": rep_queue}])[0].ok
    assert org.org.get("Lead", lead)["OwnerId"] == rep_queue


def test_without_the_header_the_orgs_assignment_rule_replaces_the_owner(org, client):
    """The other way round: proves the test above would catch a missing header."""
    lead = add_leads(org, 1)[0]
    rep_queue = org.org.queue_ids["Channel_Escalations"]
    sf = client.sf
    body = {"allOrNone": False, "records": [{"attributes": {"type": "Lead"}, "id": lead, "OwnerId": rep_queue}]}
    raw = requests.patch(sf.base_url + "composite/sobjects", json=body, headers=sf.headers,
                         verify=str(client.config.ca_bundle), timeout=10)
    assert raw.status_code == 200 and raw.json()[0]["success"]
    assert org.org.get("Lead", lead)["OwnerId"] == org.org.queue_ids["Inside_Sales"]


def test_a_lead_a_person_changed_after_the_decision_is_not_overwritten(org, client):
    untouched, edited = add_leads(org, 2)
    seen = {r["Id"]: r["SystemModstamp"] for r in client.read_by_ids("Lead", ["SystemModstamp"],
                                                                        [untouched, edited])}
    org.clock.advance(timedelta(seconds=5))
    org.org.update("Lead", edited, {"Status": "Working - Contacted", "Routing_Status__c": "Closed"},
                   as_user=org.org.admin_user_id)
    results = client.update_guarded("Lead", [
        GuardedUpdate(untouched, {"Routing_Status__c": "Offered"}, seen[untouched]),
        GuardedUpdate(edited, {"Routing_Status__c": "Offered"}, seen[edited]),
    ])
    assert results[0].ok
    assert (results[1].ok, results[1].kind, results[1].code) == (False, "stale", "CHANGED_SINCE_DECISION")
    assert org.org.get("Lead", edited)["Routing_Status__c"] == "Closed"
    assert org.org.get("Lead", untouched)["Routing_Status__c"] == "Offered"


def test_a_deleted_lead_is_reported_stale_by_the_guard(org, client):
    lead = add_leads(org, 1)[0]
    seen = org.org.get("Lead", lead)["SystemModstamp"]
    org.org.delete("Lead", lead)
    [result] = client.update_guarded("Lead", [GuardedUpdate(lead, {"Routing_Status__c": "Offered"}, seen)])
    assert (result.kind, result.code) == ("stale", "ENTITY_IS_DELETED")


def test_guarded_update_costs_one_check_per_batch(org, client):
    ids = add_leads(org, 400)
    seen = {r["Id"]: r["SystemModstamp"] for r in client.read_by_ids("Lead", ["SystemModstamp"], ids)}
    client.calls = 0
    results = client.update_guarded("Lead", [GuardedUpdate(i, {"Routing_Attempt__c": 2}, seen[i]) for i in ids])
    assert all(r.ok for r in results)
    assert client.calls == 4  # 2 × (check + write)


def test_create_returns_new_ids(org, client):
    results = client.create("Lead", [{"LastName": "New", "Company": "Fresh Co"}, {"LastName": "NoCompany"}])
    assert results[0].ok and org.org.get("Lead", results[0].id)["Company"] == "Fresh Co"
    assert (results[1].ok, results[1].code) == (False, "REQUIRED_FIELD_MISSING")


def test_every_write_request_on_the_wire_carries_auto_assign_false(org, client):
    sent = []
    client._http.hooks["response"].append(lambda resp, *a, **k: sent.append(resp.request))
    ids = add_leads(org, 3)
    org.faults.plan("record_failures", count=1, records=[0])  # the retry of a locked record too
    client.update("Lead", [{"Id": i, "Routing_Attempt__c": 1} for i in ids])
    seen = {r["Id"]: r["SystemModstamp"] for r in client.read_by_ids("Lead", ["SystemModstamp"], ids)}
    client.update_guarded("Lead", [GuardedUpdate(ids[0], {"Routing_Attempt__c": 2}, seen[ids[0]])])
    client.create("Lead", [{"LastName": "New", "Company": "Wire Co"}])
    writes = [r for r in sent if r.method in ("PATCH", "POST")]
    assert [w.method for w in writes] == ["PATCH", "PATCH", "PATCH", "POST"]
    assert all(r.headers.get("Sforce-Auto-Assign") == "FALSE" for r in writes)
    assert all(r.headers.get("Sforce-Call-Options") == "client=leadrouter" for r in sent)
