"""Query Performance Feedback over HTTPS: GET query?explain=SOQL (REST API Developer Guide,
"Query Performance Feedback (Beta)", available from API 30.0 — jsforce's
`conn.query(soql).explain()` sends it). The sandbox answered it as a query without `q`
(MALFORMED_QUERY "A query string has to be specified"). Salesforce answers the plans it
could run the query with, best first: cardinality, fields, leadingOperationType, notes,
relativeCost, sobjectCardinality, sobjectType; an invalid query is MALFORMED_QUERY."""
from __future__ import annotations

import pytest

from tests.sandbox.raw import Raw


@pytest.fixture
def raw(sandbox):
    client = Raw(sandbox)
    yield client
    client.close()


def test_explain_answers_a_plan_without_running_the_query(sandbox, raw):
    for i in range(3):
        sandbox.org.create("Lead", {"LastName": f"L{i}", "Company": "Explained" if i else "Other"})
    r = raw.get("query", params={"explain": "SELECT Id FROM Lead WHERE Company = 'Explained'"})
    assert r.status_code == 200, r.text
    plans = r.json()["plans"]
    assert plans, r.json()
    plan = plans[0]
    assert set(plan) == {"cardinality", "fields", "leadingOperationType", "notes", "relativeCost",
                         "sobjectCardinality", "sobjectType"}  # fmt: skip
    assert (plan["sobjectType"], plan["cardinality"], plan["sobjectCardinality"]) == ("Lead", 2, 3)
    assert plan["leadingOperationType"] in ("Index", "Other", "Sharing", "TableScan")
    assert isinstance(plan["relativeCost"], float) and isinstance(plan["fields"], list)


def test_explain_of_a_malformed_query_is_malformed_query(raw):
    r = raw.get("query", params={"explain": "SELECT Id FROM Lead WHERE"})
    assert r.status_code == 400
    assert r.json()[0]["errorCode"] == "MALFORMED_QUERY"
    unknown = raw.get("query", params={"explain": "SELECT Nope__c FROM Lead"})
    assert (unknown.status_code, unknown.json()[0]["errorCode"]) == (400, "INVALID_FIELD")
