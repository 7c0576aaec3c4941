"""Exact JSON and headers per endpoint over raw HTTPS: what any client, not just
simple-salesforce, gets back."""
from __future__ import annotations

from datetime import timedelta

import pytest
from simple_salesforce.exceptions import SalesforceGeneralError

from tests.sandbox.raw import Raw

JSON = "application/json;charset=UTF-8"


@pytest.fixture
def raw(sandbox):
    client = Raw(sandbox)
    yield client
    client.close()


def test_version_root_lists_its_resources(raw):
    r = raw.get("")
    assert (r.status_code, r.headers["Content-Type"]) == (200, JSON)
    body = r.json()
    assert body["sobjects"] == "/services/data/v62.0/sobjects"
    assert body["query"] == "/services/data/v62.0/query"
    assert body["queryAll"] == "/services/data/v62.0/queryAll"
    assert body["limits"] == "/services/data/v62.0/limits"


def test_global_describe_shape(raw):
    body = raw.get("sobjects").json()
    assert (body["encoding"], body["maxBatchSize"]) == ("UTF-8", 200)
    lead = next(o for o in body["sobjects"] if o["name"] == "Lead")
    assert {k: lead[k] for k in ("keyPrefix", "label", "labelPlural", "custom", "queryable", "updateable")} == {
        "keyPrefix": "00Q", "label": "Lead", "labelPlural": "Leads", "custom": False, "queryable": True,
        "updateable": True}  # fmt: skip
    assert lead["urls"]["describe"] == "/services/data/v62.0/sobjects/Lead/describe"
    history = next(o for o in body["sobjects"] if o["name"] == "LeadHistory")
    assert (history["createable"], history["updateable"]) == (False, False)


def test_sobject_info_shape(raw):
    body = raw.get("sobjects/Account").json()
    assert set(body) == {"objectDescribe", "recentItems"}
    assert body["objectDescribe"]["name"] == "Account" and body["recentItems"] == []


def test_query_all_pages_under_query_all(sandbox, raw):
    for i in range(250):
        sandbox.org.create("Lead", {"LastName": f"L{i}", "Company": "C"})
    first = raw.get("queryAll", params={"q": "SELECT Id FROM Lead"}, headers={"Sforce-Query-Options": "batchSize=200"})
    assert (first.status_code, first.headers["Content-Type"]) == (200, JSON)
    body = first.json()
    assert list(body) == ["totalSize", "done", "nextRecordsUrl", "records"]
    assert body["nextRecordsUrl"].startswith("/services/data/v62.0/queryAll/01g")
    rest = raw.get(body["nextRecordsUrl"]).json()
    assert (len(rest["records"]), rest["done"]) == (50, True)


def test_updated_and_deleted_exact_json(sandbox, raw):
    sandbox.clock.set(sandbox.clock.now().replace(second=30, microsecond=0))
    start = sandbox.clock.now().replace(second=0, microsecond=0)
    lead_id = sandbox.org.create("Lead", {"LastName": "L", "Company": "C"})
    gone = sandbox.org.create("Lead", {"LastName": "G", "Company": "C"})
    sandbox.org.delete("Lead", gone)
    deleted_at = sandbox.org.deleted_at[gone]
    sandbox.clock.advance(timedelta(minutes=1))
    end = sandbox.clock.now().replace(second=0, microsecond=0)
    window = {"start": start.isoformat(), "end": end.isoformat()}
    covered = end.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    assert raw.get("sobjects/Lead/updated/", params=window).json() == {"ids": [lead_id], "latestDateCovered": covered}
    assert raw.get("sobjects/Lead/deleted/", params=window).json() == {
        "deletedRecords": [{"id": gone, "deletedDate": deleted_at.strftime("%Y-%m-%dT%H:%M:%S.")
                            + f"{deleted_at.microsecond // 1000:03d}+0000"}],
        # the delete log is whole back to the 15 days Get Deleted covers (nothing purged)
        "earliestDateAvailable": (sandbox.clock.now().replace(second=0, microsecond=0) - timedelta(days=15))
        .strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "latestDateCovered": covered,
    }  # fmt: skip


def test_composite_create_exact_json(raw):
    r = raw.post("composite/sobjects", headers={"Sforce-Auto-Assign": "FALSE"}, json={"allOrNone": True, "records": [
        {"attributes": {"type": "Account"}, "Name": "Partner A"},
        {"attributes": {"type": "Account"}, "Name": "Partner B", "Id": "001000000000001AAA"},
    ]})  # fmt: skip
    assert (r.status_code, r.headers["Content-Type"]) == (200, JSON)
    assert r.json() == [
        {"success": False, "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message":
            "Record rolled back because not all records were valid and the request was using AllOrNone header",
            "fields": []}]},
        {"success": False, "errors": [{"statusCode": "INVALID_FIELD", "message": "cannot specify Id in an insert call",
                                       "fields": ["Id"]}]},
    ]  # fmt: skip


def test_email_simple_exact_json(sandbox, raw):
    r = raw.post("actions/standard/emailSimple", json={"inputs": [
        {"emailAddresses": "a@p.example", "emailSubject": "s", "emailBody": "b"}]})  # fmt: skip
    assert (r.status_code, r.headers["Content-Type"]) == (200, JSON)
    assert r.json() == [{"actionName": "emailSimple", "errors": None, "isSuccess": True, "outputValues": None}]
    assert r.headers["Sforce-Limit-Info"] == f"api-usage={sandbox.limit.used}/{sandbox.limit.maximum}"


def test_errors_are_json_lists_with_the_limit_header(raw):
    r = raw.get("sobjects/Lead/describe", headers={"Authorization": "Bearer expired"})
    assert (r.status_code, r.headers["Content-Type"]) == (401, JSON)
    assert "Sforce-Limit-Info" in r.headers and int(r.headers["Content-Length"]) == len(r.content)


def test_server_error_and_batch_size_through_simple_salesforce(sandbox, sf):
    sandbox.faults.plan("500", endpoint="GET query")
    with pytest.raises(SalesforceGeneralError) as info:
        sf.query("SELECT Id FROM Lead")
    assert (info.value.status, info.value.content[0]["errorCode"]) == (500, "UNKNOWN_EXCEPTION")
    for i in range(300):
        sandbox.org.create("Lead", {"LastName": f"L{i}", "Company": "C"})
    page = sf.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"})
    assert (len(page["records"]), page["done"], page["totalSize"]) == (200, False, 300)


def test_chunked_request_bodies_are_read(sandbox, raw):
    def body():
        yield b'{"LastName": "Chunked",'
        yield b' "Company": "Streams Inc"}'

    r = raw.post("sobjects/Lead", data=body(), headers={"Content-Type": "application/json"})
    assert r.status_code == 201
    assert sandbox.org.get("Lead", r.json()["id"])["Company"] == "Streams Inc"
