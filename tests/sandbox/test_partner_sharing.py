"""A partner user's session reaches only what a real org shares with it: the leads the
rep owns, the leads of the pools (queues) the rep is in, a colleague's leads only as a
partner super user; and of those only the fields the LeadRouter_Partner_Rep permission
set lets a rep edit. Each call goes over HTTPS with the rep's own token, as jsforce, the
sf CLI or the portal would send it."""
from __future__ import annotations

import pytest
import requests

from sandbox.bootstrap import add_queue

pytestmark = pytest.mark.e2e


class Rep:
    """One partner user's REST session."""

    def __init__(self, sb, user_id: str):
        c = sb.connection
        self.id, self.base = user_id, f"{c['instance_url']}/services/data/v62.0"
        self.http = requests.Session()
        self.http.verify, self.http.trust_env = c["ca_file"], False
        token = self.http.post(c["login_url"] + "/services/oauth2/token", data={
            "grant_type": "password", "client_id": c["client_id"], "client_secret": c["client_secret"],
            "username": sb.org.get("User", user_id)["Username"], "password": c["password"]}, timeout=10).json()  # fmt: skip
        self.http.headers["Authorization"] = f"Bearer {token['access_token']}"
        # the portal saves through the UI API, which runs no lead assignment rule
        self.http.headers["Sforce-Auto-Assign"] = "FALSE"

    def patch(self, lead_id: str, fields: dict) -> requests.Response:
        return self.http.patch(f"{self.base}/sobjects/Lead/{lead_id}", json=fields, timeout=10)

    def get(self, lead_id: str) -> requests.Response:
        return self.http.get(f"{self.base}/sobjects/Lead/{lead_id}", timeout=10)

    def lead_ids(self) -> set[str]:
        r = self.http.get(f"{self.base}/query", params={"q": "SELECT Id FROM Lead"}, timeout=10)
        assert r.status_code == 200, r.text
        return {row["Id"] for row in r.json()["records"]}


@pytest.fixture
def org(sandbox):
    """Two partners, two reps each (one of B's a super user), a pool both A1 and B1 are
    in, and a lead owned by each of A1, A2, B1 and the pool."""
    o = sandbox.org
    ids: dict[str, str] = {}
    for p in ("A", "B"):
        account = o.create("Account", {"Name": f"Partner {p}", "IsPartner": True})
        ids[p] = account
        for n in (1, 2):
            contact = o.create("Contact", {"AccountId": account, "LastName": f"{p}{n}"})
            ids[f"{p}{n}"] = o.create("User", {
                "Username": f"{p.lower()}{n}@partner.sandbox", "LastName": f"{p}{n}", "Email": f"{p.lower()}{n}@partner.test",
                "UserType": "PowerPartner", "AccountId": account, "ContactId": contact, "IsPrmSuperUser": p == "B" and n == 2})  # fmt: skip
    ids["pool"] = add_queue(o, "Partner_Pool_Test", "Partner Pool Test")
    for rep in ("A1", "B1"):
        o.create("GroupMember", {"GroupId": ids["pool"], "UserOrGroupId": ids[rep]})
    for owner in ("A1", "A2", "B1", "pool"):
        ids[f"lead_{owner}"] = o.create("Lead", {"LastName": "Lead", "Company": f"Owned by {owner}", "OwnerId": ids[owner],
                                                 "Routing_Status__c": "Offered"})  # fmt: skip
    sandbox.ids = ids
    return sandbox


def test_a_rep_queries_only_its_own_leads_and_its_pools(org):
    ids = org.ids
    assert Rep(org, ids["A1"]).lead_ids() == {ids["lead_A1"], ids["lead_pool"]}
    assert Rep(org, ids["A2"]).lead_ids() == {ids["lead_A2"]}
    assert Rep(org, ids["B1"]).lead_ids() == {ids["lead_B1"], ids["lead_pool"]}
    # a partner super user sees every lead of its partner account's users, no other partner's
    assert Rep(org, ids["B2"]).lead_ids() == {ids["lead_B1"]}


def test_another_partners_lead_is_out_of_reach(org):
    ids, a1 = org.ids, Rep(org, org.ids["A1"])
    r = a1.get(ids["lead_B1"])
    assert (r.status_code, r.json()[0]["errorCode"]) == (404, "NOT_FOUND")
    r = a1.patch(ids["lead_B1"], {"Partner_Response__c": "Rejected"})
    assert (r.status_code, r.json()[0]["errorCode"]) == (400, "INSUFFICIENT_ACCESS_OR_READONLY")
    assert org.org.get("Lead", ids["lead_B1"])["Partner_Response__c"] is None
    # a colleague who is not a super user cannot answer for the rep either
    r = Rep(org, ids["A2"]).patch(ids["lead_A1"], {"Partner_Response__c": "Accepted"})
    assert (r.status_code, r.json()[0]["errorCode"]) == (400, "INSUFFICIENT_ACCESS_OR_READONLY")


def test_a_batch_update_refuses_the_record_out_of_reach_and_writes_the_other(org):
    ids, a1 = org.ids, Rep(org, org.ids["A1"])
    body = {"allOrNone": False, "records": [
        {"attributes": {"type": "Lead"}, "id": ids["lead_A1"], "Partner_Response__c": "Accepted"},
        {"attributes": {"type": "Lead"}, "id": ids["lead_B1"], "Partner_Response__c": "Accepted"}]}  # fmt: skip
    r = a1.http.patch(f"{a1.base}/composite/sobjects", json=body, timeout=10)
    assert r.status_code == 200, r.text
    first, second = r.json()
    assert first["success"] and not second["success"]
    assert second["errors"][0]["statusCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"
    assert org.org.get("Lead", ids["lead_B1"])["Partner_Response__c"] is None


def test_a_pool_member_takes_a_pool_lead_and_then_the_other_member_cannot(org):
    ids = org.ids
    assert Rep(org, ids["A1"]).patch(ids["lead_pool"], {"OwnerId": ids["A1"]}).status_code == 204
    r = Rep(org, ids["B1"]).patch(ids["lead_pool"], {"OwnerId": ids["B1"]})
    assert (r.status_code, r.json()[0]["errorCode"]) == (400, "INSUFFICIENT_ACCESS_OR_READONLY")
    assert org.org.get("Lead", ids["lead_pool"])["OwnerId"] == ids["A1"]


def test_a_rep_edits_only_the_fields_the_permission_set_grants(org):
    ids, a1, lead = org.ids, Rep(org, org.ids["A1"]), org.ids["lead_A1"]
    refused = {
        "Routing_Rule__c": "INVALID_FIELD",  # not readable by reps: no such column for them
        "Routing_Status__c": "INVALID_FIELD_FOR_INSERT_UPDATE",  # readable, not editable
        "Offer_Deadline__c": "INVALID_FIELD_FOR_INSERT_UPDATE",
        "PartnerAccountId": "INVALID_FIELD_FOR_INSERT_UPDATE",
    }
    values = {"Routing_Rule__c": "mine", "Routing_Status__c": "Accepted", "Offer_Deadline__c": "2099-01-01T00:00:00Z",
              "PartnerAccountId": ids["B"]}  # fmt: skip
    for field, code in refused.items():
        r = a1.patch(lead, {field: values[field]})
        assert (r.status_code, r.json()[0]["errorCode"]) == (400, code), field
    before = org.org.get("Lead", lead)
    assert (before["Routing_Status__c"], before["PartnerAccountId"]) == ("Offered", None)
    # the answer, the reason and ordinary lead fields are the rep's to write
    ok = {"Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": "No capacity",
          "Rejection_Reason__c": "No capacity", "Phone": "+49 89 1234"}  # fmt: skip
    assert a1.patch(lead, ok).status_code == 204


def test_a_rep_hands_a_lead_only_to_a_colleague(org):
    ids, a1 = org.ids, Rep(org, org.ids["A1"])
    r = a1.patch(ids["lead_A1"], {"OwnerId": ids["B1"]})
    assert (r.status_code, r.json()[0]["errorCode"]) == (400, "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY")
    assert a1.patch(ids["lead_A1"], {"OwnerId": ids["A2"]}).status_code == 204
    assert org.org.get("Lead", ids["lead_A1"])["OwnerId"] == ids["A2"]


def test_an_org_that_opened_leads_to_partner_users_lets_any_rep_write(org):
    ids = org.ids
    org.org.lead_sharing_external = "ReadWrite"
    assert Rep(org, ids["A1"]).patch(ids["lead_B1"], {"Partner_Response__c": "Rejected"}).status_code == 204
    assert org.org.get("Lead", ids["lead_B1"])["LastModifiedById"] == ids["A1"]


def test_an_internal_user_reaches_every_lead(org, sf):
    assert len(sf.query("SELECT Id FROM Lead WHERE Routing_Status__c = 'Offered'")["records"]) == 4


def test_a_rep_searching_finds_only_its_own_leads(org):
    ids, a1 = org.ids, Rep(org, org.ids["A1"])
    r = a1.http.get(f"{a1.base}/search", params={"q": "FIND {Owned} IN ALL FIELDS RETURNING Lead(Id, Company)"},
                    timeout=10)
    assert r.status_code == 200, r.text
    assert {row["Id"] for row in r.json()["searchRecords"]} == {ids["lead_A1"], ids["lead_pool"]}
