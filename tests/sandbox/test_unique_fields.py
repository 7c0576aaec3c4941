"""A unique External ID field over HTTPS, as the org lease relies on it (connector/lease.py):
a second insert of one value is refused with Salesforce's DUPLICATE_VALUE, on every write
path the connector may use, and the custom object answers describe, SOQL, update and
delete like any other."""
from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

LEASE = "LeadRouter_Lease__c"


def term(key: str) -> dict:
    return {"Name": key, "Key__c": key, "Term__c": 1}


def test_describe_names_the_unique_case_sensitive_external_id(sf):
    d = getattr(sf, LEASE).describe()
    key = next(f for f in d["fields"] if f["name"] == "Key__c")
    assert (key["unique"], key["caseSensitive"], key["externalId"], key["nillable"]) == (True, True, True, False)
    assert d["custom"] and d["keyPrefix"].startswith("a") and d["createable"] and d["deletable"]
    assert {"Id", "Name", "OwnerId", "LastModifiedDate"} <= {f["name"] for f in d["fields"]}


def test_a_second_insert_of_a_value_is_refused_on_rest_and_composite_paths(sf):
    first = getattr(sf, LEASE).create(term("org:1"))["id"]
    said = f"duplicate value found: Key__c duplicates value on record with id: {first}"
    with pytest.raises(SalesforceMalformedRequest) as refused:
        getattr(sf, LEASE).create(term("org:1"))
    assert refused.value.content == [{"message": said, "errorCode": "DUPLICATE_VALUE", "fields": []}]

    saved = sf.restful("composite/sobjects", method="POST", json={
        "allOrNone": False, "records": [{"attributes": {"type": LEASE}, **term("org:1")}]})
    assert saved == [{"success": False, "errors": [{"statusCode": "DUPLICATE_VALUE", "message": said, "fields": []}]}]

    answer = sf.restful("composite", method="POST", json={"allOrNone": False, "compositeRequest": [
        {"method": "POST", "url": f"/services/data/v62.0/sobjects/{LEASE}/", "referenceId": "take",
         "body": term("org:1")}]})["compositeResponse"][0]
    assert answer["httpStatusCode"] == 400
    assert answer["body"] == [{"message": said, "errorCode": "DUPLICATE_VALUE", "fields": []}]
    # case-sensitive: another case is another value
    assert getattr(sf, LEASE).create(term("ORG:1"))["success"]


def test_the_custom_object_is_queried_updated_and_deleted_like_any_other(sf, sandbox):
    rid = getattr(sf, LEASE).create(term("org:7"))["id"]
    before = sf.query(f"SELECT LastModifiedDate FROM {LEASE} WHERE Id = '{rid}'")["records"][0]["LastModifiedDate"]
    from datetime import timedelta

    sandbox.clock.advance(timedelta(minutes=5))  # LastModifiedDate is the org's clock
    getattr(sf, LEASE).update(rid, {"Beat__c": 1})
    after = sf.query(f"SELECT LastModifiedDate, Beat__c FROM {LEASE} WHERE Key__c LIKE 'org:%' "
                     "ORDER BY Term__c DESC LIMIT 1")["records"][0]
    assert after["Beat__c"] == 1 and after["LastModifiedDate"] > before
    assert after["LastModifiedDate"].startswith(sandbox.clock.now().strftime("%Y-%m-%dT%H:%M"))
    sf.restful("composite/sobjects", method="DELETE", params={"ids": rid, "allOrNone": "false"})
    assert sf.query(f"SELECT Id FROM {LEASE}")["totalSize"] == 0
