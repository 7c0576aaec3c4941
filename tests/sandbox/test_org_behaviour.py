"""What a real org does to a connector: the lead assignment rule, the daily API
limit and its header, getUpdated/getDeleted, limits, request counters."""
from __future__ import annotations

from datetime import timedelta

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceRefusedRequest

from tests.sandbox.raw import Raw


@pytest.fixture
def raw(sandbox):
    client = Raw(sandbox)
    yield client
    client.close()


def test_lead_write_without_auto_assign_false_loses_its_owner_to_the_assignment_rule(sandbox, sf):
    queue = sandbox.org.queue_ids["Channel_Escalations"]
    lead_id = sandbox.org.create("Lead", {"LastName": "L", "Company": "C"})
    sf.Lead.update(lead_id, {"OwnerId": queue})
    assert sandbox.org.get("Lead", lead_id)["OwnerId"] == sandbox.org.queue_ids["Inside_Sales"]


def test_lead_write_with_auto_assign_false_keeps_its_owner(sandbox, sf):
    queue = sandbox.org.queue_ids["Channel_Escalations"]
    lead_id = sandbox.org.create("Lead", {"LastName": "L", "Company": "C"})
    sf.Lead.update(lead_id, {"OwnerId": queue}, headers={"Sforce-Auto-Assign": "FALSE"})
    assert sandbox.org.get("Lead", lead_id)["OwnerId"] == queue


def test_assignment_rule_also_runs_on_composite_writes_without_the_header(sandbox, sf):
    queue = sandbox.org.queue_ids["Channel_Escalations"]
    lead_id = sandbox.org.create("Lead", {"LastName": "L", "Company": "C"})
    sf.restful("composite/sobjects", method="PATCH",
               json={"records": [{"attributes": {"type": "Lead"}, "id": lead_id, "OwnerId": queue}]})  # fmt: skip
    assert sandbox.org.get("Lead", lead_id)["OwnerId"] == sandbox.org.queue_ids["Inside_Sales"]
    history = [h["Field"] for h in sandbox.org.records("LeadHistory") if h["LeadId"] == lead_id]
    assert history == ["ownerAssignment"]  # Salesforce's mark for an owner set by an assignment rule


def test_every_api_response_reports_usage_and_past_the_limit_it_is_403(sandbox_factory, sf_for):
    sb = sandbox_factory(api_limit=3)
    sf = sf_for(sb)
    for expected in (1, 2, 3):
        sf.limits()
        assert sf.api_usage["api-usage"].used == expected and sf.api_usage["api-usage"].total == 3
    with pytest.raises(SalesforceRefusedRequest) as info:
        sf.limits()
    assert info.value.status == 403
    assert info.value.content == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED", "fields": []}]


def test_limit_window_rolls_over_after_24_hours(sandbox_factory, sf_for):
    sb = sandbox_factory(api_limit=1, token_ttl=3 * 86400)
    sf = sf_for(sb)
    sf.limits()
    with pytest.raises(SalesforceRefusedRequest):
        sf.limits()
    sb.clock.advance(timedelta(hours=24, seconds=1))
    assert sf.limits()["DailyApiRequests"] == {"Max": 1, "Remaining": 0}


def test_the_limit_counts_the_calls_of_the_last_24_hours_not_a_day_that_resets(sandbox_factory, sf_for):
    """Salesforce measures the allocation over a rolling 24 hours: a call made 20 hours ago
    still counts when one made 24 hours ago no longer does."""
    sb = sandbox_factory(api_limit=2, token_ttl=3 * 86400)
    sf = sf_for(sb)
    sf.limits()
    sb.clock.advance(timedelta(hours=20))
    sf.limits()
    with pytest.raises(SalesforceRefusedRequest):
        sf.limits()
    sb.clock.advance(timedelta(hours=4, minutes=1))
    # the first call has left the window, the second has not: one call's room
    assert sf.limits()["DailyApiRequests"] == {"Max": 2, "Remaining": 0}
    assert sf.api_usage["api-usage"].used == 2


def test_limits_resource_reports_daily_api_requests(sandbox, raw):
    r = raw.get("limits")
    body = r.json()
    assert r.headers["Sforce-Limit-Info"] == f"api-usage=1/{sandbox.limit.maximum}"
    assert body["DailyApiRequests"] == {"Max": sandbox.limit.maximum, "Remaining": sandbox.limit.maximum - 1}


def test_get_updated_lists_changed_ids_in_the_window(sandbox, sf):
    start = sandbox.clock.now() - timedelta(minutes=1)
    lead_id = sandbox.org.create("Lead", {"LastName": "L", "Company": "C"})
    sandbox.clock.advance(timedelta(minutes=2))
    result = sf.Lead.updated(start, sandbox.clock.now())
    assert result["ids"] == [lead_id]
    assert result["latestDateCovered"].endswith(":00.000+0000")


def test_get_deleted_lists_deleted_ids_with_their_date(sandbox, sf):
    start = sandbox.clock.now() - timedelta(minutes=1)
    lead_id = sandbox.org.create("Lead", {"LastName": "L", "Company": "C"})
    sandbox.org.delete("Lead", lead_id)
    sandbox.clock.advance(timedelta(minutes=2))
    result = sf.Lead.deleted(start, sandbox.clock.now())
    assert [d["id"] for d in result["deletedRecords"]] == [lead_id]
    assert set(result) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}


def test_get_updated_refuses_windows_older_than_30_days(sandbox, sf):
    now = sandbox.clock.now()
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Lead.updated(now - timedelta(days=31), now)
    assert info.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"


def test_counters_count_requests_per_endpoint_and_reset(sandbox, sf):
    sandbox.counters.reset()
    sf.Lead.describe()
    sf.Account.describe()
    sf.query("SELECT Id FROM Lead")
    snap = sandbox.counters.snapshot()
    assert snap["endpoints"] == {"GET sobjects/{type}/describe": 2, "GET query": 1}
    assert snap["api_calls"] == 3 and snap["statuses"] == {"200": 3}
    sandbox.counters.reset()
    assert sandbox.counters.snapshot()["requests"] == 0


def test_global_describe_and_sobject_describe_shapes(sandbox, sf, raw):
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Lead", "Account", "Contact", "User", "Group", "GroupMember", "QueueSobject", "Opportunity",
            "LeadHistory"} <= names  # fmt: skip
    r = raw.get("sobjects/Lead/describe")
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
    fields = {f["name"]: f for f in r.json()["fields"]}
    owner = fields["OwnerId"]
    assert {k: owner[k] for k in ("type", "referenceTo", "relationshipName", "updateable", "nillable")} == {
        "type": "reference", "referenceTo": ["Group", "User"], "relationshipName": "Owner", "updateable": True,
        "nillable": False}  # fmt: skip
    status = fields["Routing_Status__c"]
    assert (status["type"], status["restrictedPicklist"], status["custom"], status["length"]) == (
        "picklist", True, True, 255)
    assert [p["value"] for p in status["picklistValues"]][:2] == ["Pending", "Offered"]
    assert set(status["picklistValues"][0]) == {"active", "defaultValue", "label", "validFor", "value"}
    assert (fields["Routing_Rule__c"]["length"], fields["Id"]["createable"]) == (80, False)
    assert fields["LastName"]["createable"] and not fields["LastName"]["nillable"]
    assert raw.get("sobjects/Lead").json()["objectDescribe"]["keyPrefix"] == "00Q"


def test_request_log_shows_which_lead_writes_forgot_the_auto_assign_header(sandbox, sf):
    lead_id = sandbox.org.create("Lead", {"LastName": "L", "Company": "C"})
    sf.Lead.update(lead_id, {"Rating": "Hot"}, headers={"Sforce-Auto-Assign": "FALSE"})
    sf.Lead.update(lead_id, {"Rating": "Cold"})
    writes = sandbox.counters.requests("PATCH sobjects/{type}/{id}")
    assert [(w.status, w.auto_assign) for w in writes] == [(204, "FALSE"), (204, None)]
    assert writes[0].path == f"/services/data/v62.0/sobjects/Lead/{lead_id}"


def test_lead_created_without_the_header_is_assigned_by_the_rule(sandbox, sf):
    queue = sandbox.org.queue_ids["Channel_Escalations"]
    created = sf.Lead.create({"LastName": "L", "Company": "C", "OwnerId": queue})
    assert sandbox.org.get("Lead", created["id"])["OwnerId"] == sandbox.org.queue_ids["Inside_Sales"]


def test_an_admin_audits_routing_changes_with_a_lead_history_query(sandbox, sf, monkeypatch):
    lead_id = sandbox.org.create("Lead", {"LastName": "L", "Company": "C"})
    queue = sandbox.org.queue_ids["Unassigned_Partner_Leads"]
    sf.Lead.update(lead_id, {"OwnerId": queue, "Routing_Status__c": "Offered"}, headers={"Sforce-Auto-Assign": "FALSE"})
    rows = sf.query(f"SELECT Field, OldValue, NewValue, CreatedById, CreatedDate FROM LeadHistory "
                    f"WHERE LeadId = '{lead_id}' ORDER BY Field")["records"]  # fmt: skip
    assert [(r["Field"], r["OldValue"], r["NewValue"]) for r in rows] == [
        ("Owner", sandbox.org.integration_user_id, queue),
        ("Routing_Status__c", None, "Offered"),
    ]
    assert all(r["CreatedById"] == sandbox.org.integration_user_id and r["CreatedDate"].endswith("+0000") for r in rows)

    # One save, one time: Salesforce dates a transaction's history rows alike (an auditor
    # groups them so). Here the org's clock moves 50 ms whenever it is read, as a busy
    # server thread might between two rows.
    clock = sandbox.org.clock
    real_now = clock.now

    def ticking():
        clock._offset += timedelta(milliseconds=50)
        return real_now()

    monkeypatch.setattr(clock, "now", ticking)
    sf.Lead.update(lead_id, {"OwnerId": sandbox.org.integration_user_id, "Routing_Status__c": "Escalated"},
                   headers={"Sforce-Auto-Assign": "FALSE"})
    monkeypatch.undo()
    saved = {("Owner", sandbox.org.integration_user_id), ("Routing_Status__c", "Escalated")}
    rows = [r for r in sf.query(f"SELECT Field, NewValue, CreatedDate FROM LeadHistory WHERE LeadId = '{lead_id}'")
            ["records"] if (r["Field"], r["NewValue"]) in saved]
    assert len(rows) == 2, rows
    (stamp,) = {r["CreatedDate"] for r in rows}
    assert stamp == sf.Lead.get(lead_id)["SystemModstamp"]
