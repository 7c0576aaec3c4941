"""The sObject Rows by External ID resource over raw HTTP, as Salesforce's REST API
Developer Guide gives it: GET, PATCH (upsert), DELETE of sobjects/X/Field/value, and POST
of sobjects/X/Id (Id as the external id, null as its value: a create)."""
from __future__ import annotations

import pytest

from tests.sandbox.raw import Raw

LEASE = "LeadRouter_Lease__c"


@pytest.fixture
def raw(sandbox):
    client = Raw(sandbox)
    yield client
    client.close()


def test_get_patch_and_delete_by_external_id(sandbox, raw):
    new = raw.patch(f"sobjects/{LEASE}/Key__c/org%3A1", json={"Name": "one", "Term__c": 1})
    assert new.status_code == 201, new.text
    body = new.json()
    assert (body["success"], body["errors"], body["created"]) == (True, [], True)
    assert new.headers["Location"] == f"/services/data/v62.0/sobjects/{LEASE}/{body['id']}"
    assert sandbox.org.get(LEASE, body["id"])["Key__c"] == "org:1"

    again = raw.patch(f"sobjects/{LEASE}/Key__c/org:1", json={"Term__c": 2})
    assert again.status_code == 200, again.text
    assert again.json() == {"id": body["id"], "success": True, "errors": [], "created": False}
    assert raw.patch(f"sobjects/{LEASE}/Key__c/ORG:1", json={"Term__c": 3}).status_code == 201  # case-sensitive key
    sandbox.org.delete(LEASE, raw.get(f"sobjects/{LEASE}/Key__c/ORG:1").json()["Id"])
    raw.patch(f"sobjects/{LEASE}/Key__c/org:1", json={"Term__c": 3})

    got = raw.get(f"sobjects/{LEASE}/Key__c/org:1")
    assert got.status_code == 200, got.text
    assert (got.json()["Id"], got.json()["Term__c"], got.json()["attributes"]["type"]) == (body["id"], 3, LEASE)
    assert raw.get(f"sobjects/{LEASE}/Key__c/org:1?fields=Term__c").json() == {
        "attributes": {"type": LEASE, "url": f"/services/data/v62.0/sobjects/{LEASE}/{body['id']}"}, "Term__c": 3}

    assert raw.delete(f"sobjects/{LEASE}/Key__c/org:1").status_code == 204
    assert sandbox.org.get(LEASE, body["id"])["IsDeleted"] is True
    gone = raw.get(f"sobjects/{LEASE}/Key__c/org:1")
    assert (gone.status_code, gone.json()[0]["errorCode"]) == (404, "NOT_FOUND")


def test_upsert_refusals(sandbox, raw):
    not_external = raw.patch(f"sobjects/{LEASE}/Host__c/h1", json={"Term__c": 1, "Key__c": "k"})
    assert not_external.status_code == 404
    assert not_external.json()[0]["errorCode"] == "NOT_FOUND"
    assert raw.get(f"sobjects/{LEASE}/Nope__c/x").status_code == 404

    update_only = raw.patch(f"sobjects/{LEASE}/Key__c/none?updateOnly=true", json={"Term__c": 1})
    assert update_only.status_code == 404, update_only.text
    assert list(sandbox.org.records(LEASE)) == []

    missing = raw.patch(f"sobjects/{LEASE}/Key__c/k1", json={"Name": "no term"})
    assert missing.status_code == 400
    assert missing.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_post_to_the_id_external_id_creates_and_patch_by_id_updates(sandbox, raw):
    made = raw.post(f"sobjects/{LEASE}/Id", json={"Name": "x", "Key__c": "k1", "Term__c": 1})
    assert made.status_code == 201, made.text
    new_id = made.json()["id"]
    assert made.json()["created"] is True
    by_id = raw.patch(f"sobjects/{LEASE}/Id/{new_id}", json={"Term__c": 4})
    assert (by_id.status_code, by_id.json()["created"]) == (200, False)
    assert sandbox.org.get(LEASE, new_id)["Term__c"] == 4


def test_the_collection_upsert_with_all_or_none(sandbox, raw):
    kept = sandbox.org.create(LEASE, {"Name": "k", "Key__c": "k1", "Term__c": 1})
    records = [{"attributes": {"type": LEASE}, "Key__c": "k1", "Term__c": 9},
               {"attributes": {"type": LEASE}, "Key__c": "k2", "Name": "no term"}]
    answer = raw.patch(f"composite/sobjects/{LEASE}/Key__c", json={"allOrNone": True, "records": records})
    assert answer.status_code == 200, answer.text
    first, second = answer.json()
    assert first["success"] is False and first["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert second["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sandbox.org.get(LEASE, kept)["Term__c"] == 1

    no_key = raw.patch(f"composite/sobjects/{LEASE}/Key__c", json={"records": [{"attributes": {"type": LEASE}, "Term__c": 1}]})
    assert no_key.json()[0]["success"] is False
    assert no_key.json()[0]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    other_type = raw.patch(f"composite/sobjects/{LEASE}/Key__c", json={"records": [{"attributes": {"type": "Lead"}, "Key__c": "x"}]})
    assert other_type.json()[0]["success"] is False
