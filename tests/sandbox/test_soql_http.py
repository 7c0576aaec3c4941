"""The engine behind the sandbox's REST /query over real HTTPS: paging and error shape,
through simple-salesforce and through a plain HTTP client, unchanged."""
from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

import sandbox


@pytest.fixture(scope="module")
def sb(tmp_path_factory):
    with sandbox.start(tmp_path_factory.mktemp("soql-http"), autosave=None) as handle:
        queue = handle.org.queue_ids["Inside_Sales"]
        for i in range(10_000):
            handle.org.create(
                "Lead", {"LastName": f"L{i:05d}", "Company": "Acme", "OwnerId": queue if i % 2 else None}
            )
        yield handle


@pytest.fixture(scope="module")
def sf(sb) -> Salesforce:
    conn = sb.connection
    return Salesforce(
        instance_url=conn["instance_url"], session_id=sb.token(), session=sb.requests_session(),
        version=conn["api_version"],
    )  # fmt: skip


def test_ten_thousand_leads_come_back_in_five_pages_of_two_thousand(sf):
    page = sf.query("SELECT Id, LastName, Owner.Name FROM Lead ORDER BY LastName")
    pages = [page]
    while not page["done"]:
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
        pages.append(page)
    assert [len(p["records"]) for p in pages] == [2000] * 5
    assert pages[0]["totalSize"] == 10_000
    names = [r["LastName"] for p in pages for r in p["records"]]
    assert names == [f"L{i:05d}" for i in range(10_000)]
    assert pages[0]["records"][1]["Owner"]["Name"] == "Inside Sales"


def test_query_errors_reach_simple_salesforce_as_salesforce_shaped_400s(sf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id, Nope FROM Lead")
    (error,) = info.value.content
    assert error["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Nope' on entity 'Lead'" in error["message"]
    assert "ERROR at Row:1:Column:12" in error["message"]


def test_a_plain_http_client_gets_the_same_json(sb):
    session = sb.requests_session()
    url = f"{sb.connection['instance_url']}/services/data/v62.0/query"
    headers = {"Authorization": f"Bearer {sb.token()}"}
    body = session.get(url, params={"q": "SELECT COUNT() FROM Lead WHERE Owner.Type = 'Queue'"}, headers=headers).json()
    assert body == {"totalSize": 5000, "done": True, "records": []}
    bad = session.get(url, params={"q": "SELECT Id FROM Lead WHERE"}, headers=headers)
    assert bad.status_code == 400
    assert bad.json()[0]["errorCode"] == "MALFORMED_QUERY"
    assert bad.json()[0]["message"].endswith("unexpected token: <EOF>")
    session.close()
