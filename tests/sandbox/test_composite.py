"""sObject Collections (/composite/sobjects): ≤200 records, SaveResults in order, allOrNone."""
from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sandbox import ids
from tests.sandbox.raw import Raw

NO_ASSIGN = {"Sforce-Auto-Assign": "FALSE"}


def add_leads(org, n: int) -> list[str]:
    return [org.create("Lead", {"LastName": f"Lead {i}", "Company": "Acme"}) for i in range(n)]


def lead_update(lead_id: str, **fields) -> dict:
    return {"attributes": {"type": "Lead"}, "id": lead_id, **fields}


@pytest.fixture
def raw(sandbox):
    client = Raw(sandbox)
    yield client
    client.close()


def test_two_hundred_lead_update_is_one_request_with_results_in_order(sandbox, sf):
    lead_ids = add_leads(sandbox.org, 200)
    queue = sandbox.org.queue_ids["Unassigned_Partner_Leads"]
    sandbox.counters.reset()
    results = sf.restful("composite/sobjects", method="PATCH", headers=NO_ASSIGN, json={
        "allOrNone": False,
        "records": [lead_update(i, OwnerId=queue, Routing_Status__c="Offered") for i in lead_ids],
    })  # fmt: skip
    assert results == [{"id": i, "success": True, "errors": []} for i in lead_ids]
    assert sandbox.counters.snapshot()["endpoints"] == {"PATCH composite/sobjects": 1}
    assert all(sandbox.org.get("Lead", i)["OwnerId"] == queue for i in lead_ids)


def test_more_than_two_hundred_records_is_refused_whole(sandbox, sf):
    lead_ids = add_leads(sandbox.org, 201)
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.restful("composite/sobjects", method="PATCH",
                   json={"records": [lead_update(i, Rating="Hot") for i in lead_ids]})  # fmt: skip
    assert info.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert all(sandbox.org.get("Lead", i)["Rating"] is None for i in lead_ids)


def test_without_all_or_none_each_record_stands_alone(sandbox, raw):
    good, deleted = add_leads(sandbox.org, 2)
    sandbox.org.delete("Lead", deleted)
    r = raw.patch("composite/sobjects", headers=NO_ASSIGN, json={"allOrNone": False, "records": [
        lead_update(good, Routing_Status__c="Offered"),
        lead_update(deleted, Routing_Status__c="Offered"),
        lead_update(good[:15], Routing_Status__c="Bogus"),
        lead_update("00Qbanana", Rating="Hot"),
    ]})  # fmt: skip
    assert r.status_code == 200
    assert r.headers["Sforce-Limit-Info"].startswith("api-usage=")
    assert r.json() == [
        {"id": good, "success": True, "errors": []},
        {"success": False, "errors": [{"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}]},
        {"success": False, "errors": [{"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                       "message": "Routing Status: bad value for restricted picklist field: Bogus",
                                       "fields": ["Routing_Status__c"]}]},
        {"success": False, "errors": [{"statusCode": "MALFORMED_ID",
                                       "message": "Lead ID: id value of incorrect type: 00Qbanana", "fields": ["Id"]}]},
    ]  # fmt: skip
    assert sandbox.org.get("Lead", good)["Routing_Status__c"] == "Offered"


def test_all_or_none_rolls_everything_back_when_one_record_fails(sandbox, raw):
    first, second = add_leads(sandbox.org, 2)
    before = dict(sandbox.org.get("Lead", first))
    r = raw.patch("composite/sobjects", headers=NO_ASSIGN, json={"allOrNone": True, "records": [
        lead_update(first, Routing_Status__c="Offered"),
        lead_update(second, Routing_Status__c="Bogus"),
    ]})  # fmt: skip
    assert r.status_code == 200
    assert r.json()[0] == {"success": False, "errors": [{
        "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
        "fields": []}]}  # fmt: skip
    assert r.json()[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert sandbox.org.get("Lead", first) == before


def test_create_returns_new_ids_in_order(sandbox, sf):
    results = sf.restful("composite/sobjects", method="POST", headers=NO_ASSIGN, json={"allOrNone": False, "records": [
        {"attributes": {"type": "Account"}, "Name": "Partner A", "IsPartner": True},
        {"attributes": {"type": "Lead"}, "LastName": "L", "Company": "C"},
        {"attributes": {"type": "Lead"}, "LastName": "No company"},
    ]})  # fmt: skip
    assert results[0]["id"].startswith("001") and results[1]["id"].startswith("00Q")
    assert results[2] == {"success": False, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING",
                                                        "message": "Required fields are missing: [Company]",
                                                        "fields": ["Company"]}]}  # fmt: skip
    assert sandbox.org.get("Account", results[0]["id"])["IsPartner"] is True


def test_record_without_a_type_fails_alone(sandbox, raw):
    (lead_id,) = add_leads(sandbox.org, 1)
    r = raw.patch("composite/sobjects", json={"records": [{"id": lead_id, "Rating": "Hot"}]})
    assert r.json()[0]["errors"][0]["statusCode"] == "INVALID_TYPE"


def test_delete_and_retrieve_collections(sandbox, raw):
    a, b = add_leads(sandbox.org, 2)
    got = raw.get(f"composite/sobjects/Lead?ids={a},{b}&fields=Id,LastName").json()
    assert [g["LastName"] for g in got] == ["Lead 0", "Lead 1"]
    r = raw.delete(f"composite/sobjects?ids={a},{ids.make_id('00Q', 9999)}&allOrNone=false")
    assert r.json()[0] == {"id": a, "success": True, "errors": []}
    assert r.json()[1]["success"] is False
    assert raw.get(f"composite/sobjects/Lead?ids={a}&fields=Id").json() == [None]
