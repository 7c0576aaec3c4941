"""The queries an admin checking routing types, answered over HTTPS as Salesforce does:
aggregate functions with GROUP BY / HAVING / ORDER BY (AggregateResult rows, exprN
aliases, one batch, Salesforce's errors), FIELDS(), toLabel() and WITH ..._MODE."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

import sandbox
from tests.conftest import salesforce_client

# (status, partner index or None, amount, created year, owned by the queue)
LEADS = [
    ("Offered", 0, 100.0, 2023, True),
    ("Offered", 0, 250.5, 2023, True),
    ("Offered", 0, None, 2024, False),
    ("Offered", 0, 49.5, 2024, False),
    ("Offered", 1, 1000.0, 2024, True),
    ("Accepted", 0, 10.0, 2024, False),
    ("Accepted", 1, 20.0, 2024, True),
    ("Accepted", 1, 30.0, 2024, True),
    (None, 2, None, 2024, True),
    (None, None, 5.0, 2023, True),
    (None, None, None, 2024, False),
    (None, None, 15.0, 2024, True),
]


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    with sandbox.start(tmp_path_factory.mktemp("soql-aggregates"), autosave=None) as sb:
        partners = [
            sb.org.create("Account", {"Name": name, "IsPartner": True}) for name in ("Partner One", "Partner Two", "Partner Three")
        ]  # fmt: skip
        queue = sb.org.queue_ids["Inside_Sales"]
        for i, (status, partner, amount, year, queued) in enumerate(LEADS):
            values = {
                "LastName": f"L{i}", "Company": "Acme" if i % 2 else "ACME", "Routing_Status__c": status,
                "PartnerAccountId": partners[partner] if partner is not None else None, "Deal_Amount__c": amount,
                "OwnerId": queue if queued else sb.org.integration_user_id,
                "CreatedDate": datetime(year, 3 if i % 2 else 11, 1 + i, 9, 30, tzinfo=timezone.utc),
            }  # fmt: skip
            if i < 3:
                values["Status"] = "Working - Contacted"
            sb.org.create("Lead", values, system=True)
        sb.partners = partners  # type: ignore[attr-defined]
        yield sb


@pytest.fixture(scope="module")
def sf(org) -> Salesforce:
    client = salesforce_client(org)
    yield client
    client.session.close()


def rows(result: dict) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "attributes"} for r in result["records"]]


def refused(sf: Salesforce, soql: str) -> dict:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query(soql)
    (error,) = info.value.content
    return error


def test_group_by_answers_aggregate_results_one_per_group(sf):
    result = sf.query("SELECT Routing_Status__c, COUNT(Id) FROM Lead GROUP BY Routing_Status__c")
    assert result["done"] is True and "nextRecordsUrl" not in result
    assert result["totalSize"] == 3 == len(result["records"])  # the number of groups, null included
    assert all(r["attributes"] == {"type": "AggregateResult"} for r in result["records"])  # no url
    assert {r["Routing_Status__c"]: r["expr0"] for r in rows(result)} == {"Offered": 5, "Accepted": 3, None: 4}


def test_count_of_a_field_is_one_row_while_count_stays_a_size(sf):
    assert rows(sf.query("SELECT COUNT(Id) FROM Lead")) == [{"expr0": 12}]
    assert rows(sf.query("SELECT COUNT(Id) n, COUNT(Deal_Amount__c) FROM Lead WHERE LastName = 'nobody'")) == [
        {"n": 0, "expr0": 0}
    ]
    assert sf.query("SELECT COUNT() FROM Lead") == {"totalSize": 12, "done": True, "records": []}
    assert sf.query("SELECT COUNT() FROM Lead WHERE Routing_Status__c = 'Offered' LIMIT 2")["totalSize"] == 2


def test_top_partners_by_lead_count(sf, org):
    result = sf.query(
        "SELECT PartnerAccountId, COUNT(Id) c FROM Lead WHERE PartnerAccountId != null "
        "GROUP BY PartnerAccountId ORDER BY COUNT(Id) DESC LIMIT 2"
    )
    assert result["totalSize"] == 2
    assert rows(result) == [{"PartnerAccountId": org.partners[0], "c": 5}, {"PartnerAccountId": org.partners[1], "c": 3}]


def test_max_min_sum_avg_count_distinct_get_expr_aliases_in_order(sf):
    (row,) = rows(sf.query(
        "SELECT MAX(CreatedDate), MIN(CreatedDate), SUM(Deal_Amount__c), AVG(Deal_Amount__c) avg, "
        "COUNT_DISTINCT(Company), MAX(Routing_Status__c) FROM Lead"
    ))  # fmt: skip
    amounts = [a for _, _, a, _, _ in LEADS if a is not None]
    assert row == {
        "expr0": "2024-11-11T09:30:00.000+0000",
        "expr1": "2023-03-02T09:30:00.000+0000",
        "expr2": round(sum(amounts), 2),
        "avg": pytest.approx(sum(amounts) / len(amounts)),
        "expr3": 1,  # Acme and ACME are one value: text compares case-insensitively
        "expr4": "Accepted",  # MAX of a picklist follows the picklist's order, not the alphabet
    }


def test_having_and_a_relationship_group_whose_key_is_the_last_name(sf):
    result = sf.query("SELECT Owner.Name, COUNT(Id) n FROM Lead GROUP BY Owner.Name HAVING COUNT(Id) > 4")
    assert rows(result) == [{"Name": "Inside Sales", "n": 8}]
    result = sf.query(
        "SELECT PartnerAccount.Name, SUM(Deal_Amount__c) FROM Lead GROUP BY PartnerAccount.Name "
        "HAVING PartnerAccount.Name != null ORDER BY PartnerAccount.Name"
    )
    assert rows(result) == [
        {"Name": "Partner One", "expr0": 410.0}, {"Name": "Partner Three", "expr0": None},
        {"Name": "Partner Two", "expr0": 1050.0},
    ]  # fmt: skip


def test_group_by_date_functions(sf):
    result = sf.query(
        "SELECT CALENDAR_YEAR(CreatedDate) y, CALENDAR_MONTH(CreatedDate), COUNT(Id) FROM Lead "
        "GROUP BY CALENDAR_YEAR(CreatedDate), CALENDAR_MONTH(CreatedDate) "
        "ORDER BY CALENDAR_YEAR(CreatedDate), CALENDAR_MONTH(CreatedDate)"
    )
    assert rows(result) == [
        {"y": 2023, "expr0": 3, "expr1": 2}, {"y": 2023, "expr0": 11, "expr1": 1},
        {"y": 2024, "expr0": 3, "expr1": 4}, {"y": 2024, "expr0": 11, "expr1": 5},
    ]  # fmt: skip
    first = rows(sf.query("SELECT DAY_ONLY(CreatedDate) d, COUNT(Id) FROM Lead GROUP BY DAY_ONLY(CreatedDate) ORDER BY DAY_ONLY(CreatedDate) LIMIT 1"))  # noqa: E501
    assert first == [{"d": "2023-03-02", "expr0": 1}]
    assert sf.query("SELECT COUNT() FROM Lead WHERE CALENDAR_YEAR(CreatedDate) = 2023")["totalSize"] == 3


def test_group_by_without_aggregates_lists_distinct_values(sf):
    result = sf.query("SELECT Company FROM Lead GROUP BY Company")
    assert result["totalSize"] == 1 and rows(result)[0]["Company"] in ("Acme", "ACME")


def test_salesforce_errors_for_what_aggregates_may_not_do(sf):
    error = refused(sf, "SELECT Company, COUNT(Id) FROM Lead GROUP BY Routing_Status__c")
    assert error["errorCode"] == "MALFORMED_QUERY"
    assert error["message"].endswith("ERROR at Row:1:Column:8\nField must be grouped or aggregated: Company")
    error = refused(sf, "SELECT SUM(Company) FROM Lead")
    assert error["errorCode"] == "MALFORMED_QUERY"
    assert error["message"].endswith("field Company does not support aggregate operator SUM")
    assert refused(sf, "SELECT COUNT(Do_Not_Route__c) FROM Lead")["message"].endswith(
        "field Do_Not_Route__c does not support aggregate operator COUNT"
    )
    error = refused(sf, "SELECT CreatedDate, COUNT(Id) FROM Lead GROUP BY CreatedDate")
    assert error["errorCode"] == "INVALID_FIELD"
    assert error["message"].endswith("field 'CreatedDate' can not be grouped in a query call")
    assert refused(sf, "SELECT Status, COUNT(Id) FROM Lead GROUP BY Status ORDER BY Company")["message"].endswith(
        "Ordered field must be grouped or aggregated: Company"
    )
    assert refused(sf, "SELECT Company c FROM Lead")["message"].endswith("only aggregate expressions use field aliasing")
    assert refused(sf, "SELECT COUNT(Id) FROM Lead GROUP BY COUNT(Id)")["message"].endswith(
        "Grouped field should not be aggregated: COUNT(Id)"
    )


def test_more_than_two_thousand_groups_need_a_limit(sandbox_factory):
    sb = sandbox_factory()
    for i in range(2001):
        sb.org.create("Lead", {"LastName": f"N{i}", "Company": "Acme"})
    client = salesforce_client(sb)
    try:
        with pytest.raises(SalesforceMalformedRequest) as info:
            client.query("SELECT LastName, COUNT(Id) FROM Lead GROUP BY LastName")
        (error,) = info.value.content
        assert error == {
            "errorCode": "EXCEEDED_ID_LIMIT", "fields": [],
            "message": "Aggregate query does not support queryMore(), use LIMIT to restrict the results to a single batch",
        }  # fmt: skip
        # a smaller batch size asked for does not split an aggregate answer either
        headers = {"Sforce-Query-Options": "batchSize=200"}
        result = client.query("SELECT LastName, COUNT(Id) FROM Lead GROUP BY LastName LIMIT 2000", headers=headers)
        assert result["totalSize"] == 2000 == len(result["records"]) and result["done"] is True
    finally:
        client.session.close()


def test_fields_functions_select_groups_of_fields(sf):
    (lead,) = sf.query("SELECT FIELDS(STANDARD) FROM Lead WHERE LastName = 'L0'")["records"]
    assert {"Id", "LastName", "Company", "OwnerId", "SystemModstamp"} <= set(lead) and "Routing_Status__c" not in lead
    (lead,) = sf.query("SELECT Id, FIELDS(CUSTOM) FROM Lead WHERE LastName = 'L0' LIMIT 200")["records"]
    assert lead["Routing_Status__c"] == "Offered" and "Company" not in lead and "Deal_Amount__c" in lead
    (lead,) = sf.query("SELECT FIELDS(ALL) FROM Lead WHERE LastName = 'L0' LIMIT 1")["records"]
    assert {"Company", "Routing_Status__c"} <= set(lead)
    for soql in ("SELECT FIELDS(ALL) FROM Lead", "SELECT FIELDS(CUSTOM) FROM Lead LIMIT 201"):
        error = refused(sf, soql)
        assert error == {"errorCode": "MALFORMED_QUERY", "fields": [],
                         "message": "The SOQL FIELDS function must have a LIMIT of at most 200"}  # fmt: skip
    assert refused(sf, "SELECT Id, FIELDS(STANDARD) FROM Lead")["message"].endswith("duplicate field selected: Id")


def test_tolabel_answers_the_label_and_with_modes_are_accepted(sf):
    plain = sf.query("SELECT Id, Status FROM Lead WHERE LastName = 'L1'")["records"]
    labelled = sf.query("SELECT Id, toLabel(Status) FROM Lead WHERE LastName = 'L1'")["records"]
    assert labelled == plain and labelled[0]["Status"] == "Working - Contacted"  # the sandbox's labels are the values
    assert refused(sf, "SELECT toLabel(Company) FROM Lead")["message"].endswith(
        "toLabel() takes a picklist field, not string field Company"
    )
    for mode in ("SECURITY_ENFORCED", "USER_MODE", "SYSTEM_MODE"):
        result = sf.query(f"SELECT Id FROM Lead WHERE Routing_Status__c = 'Accepted' WITH {mode} ORDER BY Id")
        assert result["totalSize"] == 3
    assert rows(sf.query("SELECT COUNT(Id) FROM Lead WITH USER_MODE")) == [{"expr0": 12}]


def test_columns_of_an_aggregate_query_say_which_are_aggregates(org):
    session = org.requests_session()
    response = session.get(
        f"{org.connection['instance_url']}/services/data/v62.0/query",
        params={"q": "SELECT Routing_Status__c s, COUNT(Id) FROM Lead GROUP BY Routing_Status__c", "columns": "true"},
        headers={"Authorization": f"Bearer {org.token()}"},
    )
    body = response.json()
    assert body["groupBy"] is True
    assert [(c["columnName"], c["displayName"], c["aggregate"], c["apexType"]) for c in body["columnMetadata"]] == [
        ("s", "Routing_Status__c", False, "String"), ("expr0", "COUNT(Id)", True, "Integer"),
    ]  # fmt: skip
