"""sObject Relationships ("Traverse Relationships with Friendly URLs"), over raw HTTP as
Salesforce's REST API Developer Guide gives it: GET sobjects/X/{id}/{relationship} answers
the parent record a lookup names (404 when the lookup is empty) or, for a child
relationship, the set of child records (200, empty when there are none); `fields`
narrows the answer, an unknown field is 400. The sandbox answered 404 to every such URL."""
from __future__ import annotations

import pytest

from tests.sandbox.raw import Raw


@pytest.fixture
def raw(sandbox):
    client = Raw(sandbox)
    yield client
    client.close()


def test_parent_and_child_relationships_by_friendly_url(sandbox, raw):
    org = sandbox.org
    account = org.create("Account", {"Name": "Initech"})
    contacts = [org.create("Contact", {"LastName": f"C{i}", "AccountId": account}) for i in range(2)]
    lonely = org.create("Account", {"Name": "Nobody"})
    lead = org.create("Lead", {"LastName": "Lumbergh", "Company": "Initech", "PartnerAccountId": account})

    parent = raw.get(f"sobjects/Contact/{contacts[0]}/Account")
    assert parent.status_code == 200, parent.text
    body = parent.json()
    assert body["attributes"] == {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{account}"}
    assert (body["Id"], body["Name"]) == (account, "Initech")
    assert raw.get(f"sobjects/Lead/{lead}/PartnerAccount?fields=Name").json() == {
        "attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{account}"}, "Name": "Initech"}
    owner = raw.get(f"sobjects/Lead/{lead}/Owner?fields=Name").json()
    assert owner["attributes"]["type"] in ("User", "Group") and owner["Name"]

    children = raw.get(f"sobjects/Account/{account}/Contacts?fields=LastName")
    assert children.status_code == 200, children.text
    listed = children.json()
    assert (listed["totalSize"], listed["done"]) == (2, True)
    assert sorted(r["LastName"] for r in listed["records"]) == ["C0", "C1"]
    assert listed["records"][0]["attributes"]["type"] == "Contact"
    none = raw.get(f"sobjects/Account/{lonely}/Contacts")
    assert (none.status_code, none.json()["totalSize"], none.json()["records"]) == (200, 0, [])

    empty = raw.get(f"sobjects/Account/{lonely}/Parent")
    assert (empty.status_code, empty.json()[0]["errorCode"]) == (404, "NOT_FOUND")
    assert raw.get(f"sobjects/Account/{account}/Nope").status_code == 404
    bad_field = raw.get(f"sobjects/Account/{account}/Contacts?fields=Nope__c")
    assert (bad_field.status_code, bad_field.json()[0]["errorCode"]) == (400, "INVALID_FIELD")
