"""The User Interface API calls the shipped portal component (salesforce/…/lwc/
leadOfferResponse) makes as the partner rep — getRecord, getPicklistValues (master record
type) and updateRecord — over raw HTTPS with the rep's own token, as Lightning Data
Service sends them: GET ui-api/records/{id}?fields=Lead.X, GET ui-api/object-info/Lead/
picklist-values/012000000000000AAA/{field}, PATCH ui-api/records/{id} {"fields": {…}}.
The sandbox answered 404 to each, so the component's data path could not be exercised."""
from __future__ import annotations

import pytest

from tests.sandbox.test_partner_sharing import Rep, org  # noqa: F401 (the fixture)

pytestmark = pytest.mark.e2e
MASTER = "012000000000000AAA"


def _ui(rep: Rep, method: str, path: str, **kwargs):
    return rep.http.request(method, f"{rep.base}/ui-api/{path}", timeout=10, **kwargs)


def test_the_portal_components_ui_api_calls_as_the_rep(org):  # noqa: F811
    ids = org.ids
    a1 = Rep(org, ids["A1"])
    lead = ids["lead_A1"]
    got = _ui(a1, "GET", f"records/{lead}", params={"fields": "Lead.Company,Lead.OwnerId,Lead.Routing_Status__c"})
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["apiName"], body["id"], body["recordTypeId"]) == ("Lead", lead, MASTER)
    assert body["fields"]["Company"]["value"] == "Owned by A1"
    assert body["fields"]["OwnerId"]["value"] == ids["A1"]
    assert body["fields"]["Routing_Status__c"] == {"displayValue": "Offered", "value": "Offered"}
    assert {"eTag", "lastModifiedDate", "systemModstamp", "weakEtag", "childRelationships"} <= set(body)

    theirs = _ui(a1, "GET", f"records/{ids['lead_B1']}", params={"fields": "Lead.Company"})
    assert (theirs.status_code, theirs.json()[0]["errorCode"]) == (404, "NOT_FOUND")
    hidden = _ui(a1, "GET", f"records/{lead}", params={"fields": "Lead.Routing_Rule__c"})
    assert (hidden.status_code, hidden.json()[0]["errorCode"]) == (400, "INVALID_FIELD")
    optional = _ui(a1, "GET", f"records/{lead}", params={"fields": "Lead.Company", "optionalFields": "Lead.Routing_Rule__c"})
    assert set(optional.json()["fields"]) == {"Company"}

    values = _ui(a1, "GET", f"object-info/Lead/picklist-values/{MASTER}/Rejection_Reason_Code__c")
    assert values.status_code == 200, values.text
    listed = values.json()
    shipped = org.org.schema.object("Lead").field("Rejection_Reason_Code__c").picklist_values
    assert [v["value"] for v in listed["values"]] == shipped
    assert listed["values"][0] == {"attributes": None, "label": shipped[0], "validFor": [], "value": shipped[0]}
    assert listed["controllerValues"] == {} and "eTag" in listed
    assert _ui(a1, "GET", f"object-info/Lead/picklist-values/{MASTER}/Company").status_code == 400  # not a picklist

    saved = _ui(a1, "PATCH", f"records/{lead}", json={"fields": {"Partner_Response__c": "Accepted"}})
    assert saved.status_code == 200, saved.text
    assert saved.json()["fields"]["Partner_Response__c"]["value"] == "Accepted"
    assert org.org.get("Lead", lead)["Partner_Response__c"] == "Accepted"
    assert org.org.get("Lead", lead)["OwnerId"] == ids["A1"]  # the UI API runs no assignment rule
    refused = _ui(a1, "PATCH", f"records/{lead}", json={"fields": {"PartnerAccountId": ids["B"]}})
    assert (refused.status_code, refused.json()[0]["errorCode"]) == (400, "INVALID_FIELD_FOR_INSERT_UPDATE")
    other = _ui(a1, "PATCH", f"records/{ids['lead_B1']}", json={"fields": {"Partner_Response__c": "Accepted"}})
    assert other.status_code in (400, 404) and org.org.get("Lead", ids["lead_B1"])["Partner_Response__c"] is None
