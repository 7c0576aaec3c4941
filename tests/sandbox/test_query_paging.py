"""/query and /queryAll: first page now, the rest through nextRecordsUrl cursors."""
from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.sandbox.raw import Raw


def add_leads(org, n: int, **fields) -> list[str]:
    return [org.create("Lead", {"LastName": f"Lead {i}", "Company": "Acme", **fields}) for i in range(n)]


@pytest.fixture
def raw(sandbox):
    client = Raw(sandbox)
    yield client
    client.close()


def test_ten_thousand_leads_come_back_in_five_pages_of_two_thousand(sandbox, sf):
    add_leads(sandbox.org, 10_000)
    sandbox.counters.reset()
    page = sf.query("SELECT Id, Company FROM Lead ORDER BY SystemModstamp, Id")
    sizes, seen = [], set()
    while True:
        sizes.append(len(page["records"]))
        seen.update(r["Id"] for r in page["records"])
        assert page["totalSize"] == 10_000
        if page["done"]:
            break
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
    assert sizes == [2000] * 5
    assert len(seen) == 10_000
    assert sandbox.counters.count("GET query") == 1
    assert sandbox.counters.count("GET query/{locator}") == 4


def test_first_page_has_salesforces_exact_shape(sandbox, raw):
    lead_ids = add_leads(sandbox.org, 3)
    r = raw.get("query", params={"q": "SELECT Id, Company, Owner.Name FROM Lead ORDER BY Id"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert r.headers["Sforce-Limit-Info"].startswith("api-usage=")
    assert r.json() == {
        "totalSize": 3,
        "done": True,
        "records": [
            {"attributes": {"type": "Lead", "url": f"/services/data/v62.0/sobjects/Lead/{i}"}, "Id": i,
             "Company": "Acme",
             # a polymorphic lookup (Owner: User or Group) reports its type as "Name"
             "Owner": {"attributes": {"type": "Name",
                                      "url": f"/services/data/v62.0/sobjects/User/{sandbox.org.integration_user_id}"},
                       "Name": "LeadRouter Integration"}}
            for i in lead_ids
        ],
    }  # fmt: skip


def test_batch_size_header_sets_the_page_size_within_200_to_2000(sandbox, raw):
    add_leads(sandbox.org, 450)
    q = {"q": "SELECT Id FROM Lead"}
    first = raw.get("query", params=q, headers={"Sforce-Query-Options": "batchSize=200"}).json()
    assert (len(first["records"]), first["done"]) == (200, False)
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-200")
    second = raw.get(first["nextRecordsUrl"]).json()
    third = raw.get(second["nextRecordsUrl"]).json()
    assert [len(p["records"]) for p in (first, second, third)] == [200, 200, 50]
    assert third["done"] is True and "nextRecordsUrl" not in third
    tiny = raw.get("query", params=q, headers={"Sforce-Query-Options": "batchSize=10"}).json()
    assert len(tiny["records"]) == 200  # Salesforce's floor


def test_query_all_includes_deleted_rows_and_query_does_not(sandbox, sf):
    kept, gone = add_leads(sandbox.org, 2)
    sandbox.org.delete("Lead", gone)
    assert [r["Id"] for r in sf.query("SELECT Id FROM Lead")["records"]] == [kept]
    every = sf.query("SELECT Id, IsDeleted FROM Lead ORDER BY Id", include_deleted=True)["records"]  # queryAll
    assert [(r["Id"], r["IsDeleted"]) for r in every] == [(kept, False), (gone, True)]


def test_count_query_returns_the_count_and_no_records(sandbox, raw):
    add_leads(sandbox.org, 7)
    assert raw.get("query", params={"q": "SELECT COUNT() FROM Lead"}).json() == {"totalSize": 7, "done": True, "records": []}


def test_malformed_query_is_400_through_simple_salesforce(sf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FROM")
    assert info.value.content[0]["errorCode"] == "MALFORMED_QUERY"


def test_unknown_or_used_up_locator_is_invalid_query_locator(sandbox, raw):
    r = raw.get("query/01g5g0000000999AAA-2000")
    assert (r.status_code, r.json()) == (400, [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR", "fields": []}])


def test_query_without_q_is_malformed_query(raw):
    r = raw.get("query")
    assert (r.status_code, r.json()[0]["errorCode"]) == (400, "MALFORMED_QUERY")


def test_a_page_can_be_fetched_again_after_a_lost_answer(sandbox, raw):
    add_leads(sandbox.org, 300)
    first = raw.get("query", params={"q": "SELECT Id FROM Lead"}, headers={"Sforce-Query-Options": "batchSize=200"}).json()
    last = raw.get(first["nextRecordsUrl"]).json()
    again = raw.get(first["nextRecordsUrl"]).json()
    assert again == last and last["done"] is True


def test_an_idle_cursor_expires(sandbox, raw, monkeypatch):
    from sandbox import cursors

    add_leads(sandbox.org, 250)
    first = raw.get("query", params={"q": "SELECT Id FROM Lead"}, headers={"Sforce-Query-Options": "batchSize=200"}).json()
    monkeypatch.setattr(cursors, "IDLE_SECONDS", -1)  # every cursor is now past its idle time
    r = raw.get(first["nextRecordsUrl"])
    assert (r.status_code, r.json()[0]["errorCode"]) == (400, "INVALID_QUERY_LOCATOR")
