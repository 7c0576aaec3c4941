"""Records over REST: create, read, update, delete, through simple-salesforce and raw HTTP."""
from __future__ import annotations

import re
from email.utils import format_datetime

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from sandbox import ids
from tests.sandbox.raw import Raw

NO_ASSIGN = {"Sforce-Auto-Assign": "FALSE"}


@pytest.fixture
def raw(sandbox):
    client = Raw(sandbox)
    yield client
    client.close()


def test_create_answers_201_with_id_and_location(raw):
    r = raw.post("sobjects/Lead", json={"LastName": "Hopper", "Company": "Navy"}, headers=NO_ASSIGN)
    assert r.status_code == 201
    body = r.json()
    assert body == {"id": body["id"], "success": True, "errors": []}
    assert ids.is_valid(body["id"]) and body["id"].startswith("00Q")
    assert r.headers["Location"] == f"/services/data/v62.0/sobjects/Lead/{body['id']}"
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert re.fullmatch(r"api-usage=\d+/\d+", r.headers["Sforce-Limit-Info"])


def test_get_returns_attributes_then_every_field_in_json_form(sandbox, raw):
    lead_id = sandbox.org.create("Lead", {"LastName": "Hopper", "Company": "Navy",
                                          "Offered_At__c": "2024-05-01T10:00:00Z", "Expected_Close_Date__c": "2024-06-30"})  # fmt: skip
    body = raw.get(f"sobjects/Lead/{lead_id}").json()
    assert list(body)[:2] == ["attributes", "Id"]
    assert body["attributes"] == {"type": "Lead", "url": f"/services/data/v62.0/sobjects/Lead/{lead_id}"}
    assert body["Offered_At__c"] == "2024-05-01T10:00:00.000+0000"
    assert body["Expected_Close_Date__c"] == "2024-06-30"
    assert body["Do_Not_Route__c"] is False and body["Routing_Status__c"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", body["SystemModstamp"])


def test_get_with_fields_returns_only_those(sandbox, raw):
    lead_id = sandbox.org.create("Lead", {"LastName": "Hopper", "Company": "Navy"})
    body = raw.get(f"sobjects/Lead/{lead_id}?fields=Company,status").json()
    assert body == {"attributes": {"type": "Lead", "url": f"/services/data/v62.0/sobjects/Lead/{lead_id}"},
                    "Company": "Navy", "Status": "Open - Not Contacted"}  # fmt: skip


def test_update_answers_204_and_fifteen_char_ids_work(sandbox, raw):
    lead_id = sandbox.org.create("Lead", {"LastName": "Hopper", "Company": "Navy"})
    r = raw.patch(f"sobjects/Lead/{lead_id[:15]}", json={"Rating": "Hot"}, headers=NO_ASSIGN)
    assert (r.status_code, r.content) == (204, b"")
    assert r.headers["Sforce-Limit-Info"].startswith("api-usage=")
    assert sandbox.org.get("Lead", lead_id)["Rating"] == "Hot"


def test_delete_answers_204_then_get_is_entity_is_deleted(sandbox, raw):
    lead_id = sandbox.org.create("Lead", {"LastName": "Hopper", "Company": "Navy"})
    assert raw.delete(f"sobjects/Lead/{lead_id}").status_code == 204
    r = raw.get(f"sobjects/Lead/{lead_id}")
    assert (r.status_code, r.json()) == (404, [{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}])


def test_unknown_record_and_malformed_url_id_are_404(raw):
    missing = ids.make_id("00Q", 424242)
    r = raw.get(f"sobjects/Lead/{missing}")
    assert (r.status_code, r.json()[0]["errorCode"]) == (404, "NOT_FOUND")
    r = raw.get("sobjects/Lead/banana")
    assert r.status_code == 404
    assert r.json()[0]["message"] == "Provided external ID field does not exist or is not accessible: banana"


def test_unknown_sobject_type_is_404(raw):
    r = raw.get("sobjects/Spaceship__c/describe")
    assert (r.status_code, r.json()[0]["errorCode"]) == (404, "NOT_FOUND")


def test_unsupported_api_version_is_404(raw):
    r = raw.get("/services/data/v49.0/limits")
    assert (r.status_code, r.json()[0]["errorCode"]) == (404, "NOT_FOUND")


@pytest.mark.parametrize("version", ["50.0", "68.0"])
def test_every_version_from_50_to_68_serves_the_api(sandbox, sf_for, version):
    sf = sf_for(sandbox, version=version)
    assert sf.Lead.describe()["name"] == "Lead"


def test_version_list_needs_no_session(sandbox):
    from tests.conftest import https_session

    with https_session(sandbox.connection["ca_file"]) as session:
        r = session.get(sandbox.url + "/services/data")
    assert r.status_code == 200
    assert r.json()[0] == {"label": "Winter '21", "url": "/services/data/v50.0", "version": "50.0"}
    assert r.json()[-1] == {"label": "Winter '27", "url": "/services/data/v68.0", "version": "68.0"}


def test_wrong_method_is_405(raw):
    r = raw.request("PUT", "sobjects/Lead/" + ids.make_id("00Q", 1), json={})
    assert r.status_code == 405
    assert r.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"


def test_crud_through_simple_salesforce(sandbox, sf):
    created = sf.Lead.create({"LastName": "Hopper", "Company": "Navy", "Products__c": "Analytics;Networking"},
                             headers=NO_ASSIGN)  # fmt: skip
    lead_id = created["id"]
    assert sf.Lead.get(lead_id)["Products__c"] == "Analytics;Networking"
    assert sf.Lead.update(lead_id, {"Routing_Status__c": "Offered"}, headers=NO_ASSIGN) == 204
    assert sf.Lead.get(lead_id)["Routing_Status__c"] == "Offered"
    leads = sf.Lead  # simple-salesforce makes a new SFType per attribute access
    assert leads.delete(lead_id) == 204
    assert leads.api_usage["api-usage"].used == sandbox.limit.used  # read from Sforce-Limit-Info
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.get(lead_id)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"Colour__c": "red"}, "INVALID_FIELD"),
        ({"IsConverted": True}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"OwnerId": "00Gnope"}, "MALFORMED_ID"),
        ({"PartnerAccountId": ids.make_id("001", 777)}, "INVALID_CROSS_REFERENCE_KEY"),
        ({"Routing_Status__c": "Maybe"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"LastName": None}, "REQUIRED_FIELD_MISSING"),
    ],
)
def test_validation_errors_reach_simple_salesforce_as_400(sandbox, sf, fields, code):
    lead_id = sandbox.org.create("Lead", {"LastName": "Hopper", "Company": "Navy"})
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Lead.update(lead_id, fields, headers=NO_ASSIGN)
    assert info.value.status == 400
    assert info.value.content[0]["errorCode"] == code


def test_update_of_a_deleted_record_is_entity_is_deleted(sandbox, sf):
    lead_id = sandbox.org.create("Lead", {"LastName": "Hopper", "Company": "Navy"})
    sandbox.org.delete("Lead", lead_id)
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.Lead.update(lead_id, {"Rating": "Hot"})
    assert info.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_bad_json_body_is_json_parser_error(raw):
    r = raw.post("sobjects/Lead", data=b"{not json", headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()[0]["errorCode"]) == (400, "JSON_PARSER_ERROR")


def test_conditional_patch_refuses_a_record_changed_since(sandbox, raw):
    lead_id = sandbox.org.create("Lead", {"LastName": "Hopper", "Company": "Navy"})
    modified = sandbox.org.get("Lead", lead_id)["LastModifiedDate"]
    from datetime import timedelta

    earlier = format_datetime(modified - timedelta(minutes=1), usegmt=True)
    r = raw.patch(f"sobjects/Lead/{lead_id}", json={"Rating": "Hot"}, headers={"If-Unmodified-Since": earlier})
    assert (r.status_code, r.json()[0]["errorCode"]) == (412, "PRECONDITION_FAILED")
    later = format_datetime(modified + timedelta(minutes=1), usegmt=True)
    r = raw.patch(f"sobjects/Lead/{lead_id}", json={"Rating": "Hot"}, headers={"If-Unmodified-Since": later, **NO_ASSIGN})
    assert r.status_code == 204


def test_conditional_get_answers_304_for_a_record_not_modified_since(sandbox, raw):
    """If-Modified-Since on sObject Rows (REST API Developer Guide, Conditional Request
    Headers): 304 Not Modified with no body when the record has not changed since, the
    record when it has; If-Unmodified-Since on a GET: 412 when it has changed. A client
    caching records got the whole record every time, and a 200 where it waits for a 304."""
    from datetime import timedelta

    lead_id = sandbox.org.create("Lead", {"LastName": "Hopper", "Company": "Navy"})
    modified = sandbox.org.get("Lead", lead_id)["LastModifiedDate"]
    later = format_datetime(modified + timedelta(minutes=1), usegmt=True)
    earlier = format_datetime(modified - timedelta(minutes=1), usegmt=True)
    cached = raw.get(f"sobjects/Lead/{lead_id}", headers={"If-Modified-Since": later})
    assert (cached.status_code, cached.content) == (304, b"")
    fresh = raw.get(f"sobjects/Lead/{lead_id}?fields=Company", headers={"If-Modified-Since": earlier})
    assert (fresh.status_code, fresh.json()["Company"]) == (200, "Navy")
    changed = raw.get(f"sobjects/Lead/{lead_id}", headers={"If-Unmodified-Since": earlier})
    assert (changed.status_code, changed.json()[0]["errorCode"]) == (412, "PRECONDITION_FAILED")
    assert raw.get(f"sobjects/Lead/{lead_id}", headers={"If-Unmodified-Since": later}).status_code == 200


def test_account_records_carry_an_etag_for_if_match_and_if_none_match(sandbox, raw):
    """ETag, If-Match and If-None-Match on sObject Rows, which Salesforce supports for
    account records (Conditional Request Headers): GET answers an ETag; If-None-Match with
    it is 304 on GET and 412 on PATCH; If-Match with a stale one is 412 and the record is
    left alone; after a change the ETag differs."""
    account = sandbox.org.create("Account", {"Name": "Initech"})
    first = raw.get(f"sobjects/Account/{account}")
    etag = first.headers.get("ETag")
    assert first.status_code == 200 and etag and etag.startswith('"'), first.headers
    assert raw.get(f"sobjects/Account/{account}", headers={"If-None-Match": etag}).status_code == 304
    same = raw.patch(f"sobjects/Account/{account}", json={"Name": "Initrode"}, headers={"If-None-Match": etag})
    assert (same.status_code, same.json()[0]["errorCode"]) == (412, "PRECONDITION_FAILED")
    assert raw.patch(f"sobjects/Account/{account}", json={"Name": "Initrode"}, headers={"If-Match": etag}).status_code == 204
    stale = raw.patch(f"sobjects/Account/{account}", json={"Name": "Penetrode"}, headers={"If-Match": etag})
    assert (stale.status_code, stale.json()[0]["errorCode"]) == (412, "PRECONDITION_FAILED")
    assert sandbox.org.get("Account", account)["Name"] == "Initrode"
    now = raw.get(f"sobjects/Account/{account}")
    assert now.headers["ETag"] != etag
    assert raw.get(f"sobjects/Account/{account}", headers={"If-Match": etag}).status_code == 412


def test_describe_answers_304_when_the_metadata_has_not_changed_since(sandbox, raw):
    """If-Modified-Since on sObject Describe and Describe Global ("Get Object Metadata
    Changes"): 304 with no body when no object's metadata changed since the date, the
    describe when it did (the sandbox's metadata changes at its start and when a test
    changes the org's setup). A client caching describe got the whole body every time."""
    from datetime import timedelta

    later = format_datetime(sandbox.clock.now() + timedelta(minutes=1), usegmt=True)
    for path in ("sobjects/Lead/describe", "sobjects"):
        cached = raw.get(path, headers={"If-Modified-Since": later})
        assert (cached.status_code, cached.content) == (304, b""), path
    sandbox.clock.advance(timedelta(minutes=5))
    sandbox.org.set_history_tracking("Lead", {"Status": False})  # an admin changes Lead's setup
    changed = raw.get("sobjects/Lead/describe", headers={"If-Modified-Since": later})
    assert (changed.status_code, changed.json()["name"]) == (200, "Lead")


def test_head_answers_as_get_without_a_body(sandbox, raw):
    """HEAD is served wherever GET is (the REST API lists GET, HEAD for sObject Rows,
    describe, the resource lists): the status and headers of the GET, no body. A client
    checking that a record exists before fetching it got 405 METHOD_NOT_ALLOWED."""
    lead_id = sandbox.org.create("Lead", {"LastName": "Hopper", "Company": "Navy"})
    for path in (f"sobjects/Lead/{lead_id}", "sobjects/Lead/describe", "sobjects", "", "/services/data"):
        head = raw.request("HEAD", path)
        assert (head.status_code, head.content) == (200, b""), path
    missing = raw.request("HEAD", "sobjects/Lead/00Q000000000000AAA")
    assert missing.status_code == 404
    assert raw.get(f"sobjects/Lead/{lead_id}?fields=Company").json()["Company"] == "Navy"  # the connection is still sound


def test_keep_alive_connections_are_reused(sandbox, raw):
    for _ in range(5):
        assert raw.get("limits").status_code == 200
    assert len(raw.session.get_adapter(raw.base).poolmanager.pools) == 1


@pytest.mark.parametrize(("sent", "stored"), [(2.5, 3), (3.5, 4), (-2.5, -3), ("2.5", 3), (2.49, 2)])
def test_a_number_saved_with_more_decimals_than_the_field_keeps_is_rounded_half_away_from_zero(sf, sent, stored):
    """Salesforce rounds a value to the field's scale half up (away from zero: ROUND(1.5, 0) = 2,
    ROUND(-1.5, 0) = -2), not to the even neighbour as Python's round() does."""
    account = sf.Account.create({"Name": f"Rounding {sent}"})["id"]
    sf.Account.update(account, {"Capacity__c": sent})
    assert sf.Account.get(account)["Capacity__c"] == stored
