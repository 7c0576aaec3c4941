"""Faults: planned per test or drawn from a named profile, always reproducible."""
from __future__ import annotations

import time

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
)

from sandbox.faults import Faults
from tests.sandbox.raw import Raw


@pytest.fixture
def raw(sandbox):
    client = Raw(sandbox)
    yield client
    client.close()


def test_planned_503_hits_the_next_requests_to_that_endpoint_only(sandbox, sf):
    lead_id = sandbox.org.create("Lead", {"LastName": "L", "Company": "C"})
    body = {"records": [{"attributes": {"type": "Lead"}, "id": lead_id, "Rating": "Hot"}]}
    sandbox.faults.plan("503", count=2, endpoint="composite")
    sf.limits()  # another endpoint: untouched
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as info:
            sf.restful("composite/sobjects", method="PATCH", json=body)
        assert info.value.status == 503
        assert info.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert sf.restful("composite/sobjects", method="PATCH", json=body)[0]["success"] is True


def test_planned_500_is_unknown_exception(sandbox, raw):
    sandbox.faults.plan("500")
    r = raw.get("limits")
    assert r.status_code == 500
    assert r.json()[0]["errorCode"] == "UNKNOWN_EXCEPTION"
    assert r.headers["Sforce-Limit-Info"].startswith("api-usage=")


def test_planned_lock_is_unable_to_lock_row(sandbox, sf):
    lead_id = sandbox.org.create("Lead", {"LastName": "L", "Company": "C"})
    sandbox.faults.plan("lock", endpoint="sobjects/{type}/{id}")
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Lead.update(lead_id, {"Rating": "Hot"})
    assert info.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    assert sandbox.org.get("Lead", lead_id)["Rating"] is None


def test_planned_session_expiry_ends_the_session(sandbox, sf):
    sandbox.faults.plan("expire")
    with pytest.raises(SalesforceExpiredSession):
        sf.limits()
    with pytest.raises(SalesforceExpiredSession):
        sf.limits()  # the token stays dead: the client must log in again


def test_planned_latency_delays_the_answer(sandbox, raw):
    sandbox.faults.plan("latency", latency_ms=300)
    began = time.monotonic()
    assert raw.get("limits").status_code == 200
    assert time.monotonic() - began >= 0.3


def test_planned_drop_closes_the_connection_without_an_answer(sandbox, raw):
    sandbox.faults.plan("drop", skip=1)
    assert raw.get("limits").status_code == 200
    with pytest.raises(requests.exceptions.ConnectionError):
        raw.get("limits")
    assert raw.get("limits").status_code == 200


def test_planned_record_failures_fail_chosen_records_inside_a_composite_call(sandbox, sf):
    lead_ids = [sandbox.org.create("Lead", {"LastName": f"L{i}", "Company": "C"}) for i in range(4)]
    sandbox.faults.plan("record_failures", records=[1, 3])
    results = sf.restful("composite/sobjects", method="PATCH", headers={"Sforce-Auto-Assign": "FALSE"}, json={
        "records": [{"attributes": {"type": "Lead"}, "id": i, "Rating": "Hot"} for i in lead_ids]})  # fmt: skip
    assert [r["success"] for r in results] == [True, False, True, False]
    assert results[1]["errors"] == [{"statusCode": "UNABLE_TO_LOCK_ROW",
                                     "message": "unable to obtain exclusive access to this record or 1 records",
                                     "fields": []}]  # fmt: skip
    assert [sandbox.org.get("Lead", i)["Rating"] for i in lead_ids] == ["Hot", None, "Hot", None]


def test_record_failures_with_all_or_none_roll_back_the_batch(sandbox, sf):
    lead_ids = [sandbox.org.create("Lead", {"LastName": f"L{i}", "Company": "C"}) for i in range(3)]
    sandbox.faults.plan("record_failures", records=[2])
    results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": True, "records": [
        {"attributes": {"type": "Lead"}, "id": i, "Rating": "Hot"} for i in lead_ids]})  # fmt: skip
    assert [r["errors"][0]["statusCode"] for r in results] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK", "ALL_OR_NONE_OPERATION_ROLLED_BACK", "UNABLE_TO_LOCK_ROW"]
    assert all(sandbox.org.get("Lead", i)["Rating"] is None for i in lead_ids)


def test_profile_draws_the_same_faults_for_the_same_seed():
    def run(seed: int) -> list[str]:
        faults = Faults("chaos", seed=seed)
        return [",".join(faults.decide("GET query").kinds) for _ in range(300)]

    assert run(7) == run(7)
    assert run(7) != run(8)
    kinds = {k for entry in run(7) for k in entry.split(",") if k}
    assert {"503", "500", "lock", "latency"} <= kinds


def test_flaky_profile_fails_a_few_percent_of_calls():
    faults = Faults("flaky", seed=11)
    kinds = [k for _ in range(4000) for k in faults.decide("GET query").kinds]
    assert 0.02 < kinds.count("503") / 4000 < 0.04
    assert 0.07 < kinds.count("latency") / 4000 < 0.13


def test_outage_profile_over_http_fails_about_half_the_calls(sandbox_factory):
    sb = sandbox_factory(faults="outage", random_seed=3)
    client = Raw(sb)
    try:
        statuses = [client.get("limits").status_code for _ in range(40)]
    finally:
        client.close()
    assert 5 < statuses.count(503) < 35 and statuses.count(200) > 5


def test_unknown_profile_or_kind_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown fault profile 'wobbly'; use one of none, flaky"):
        Faults("wobbly")
    with pytest.raises(ValueError, match="unknown fault kind 'fire'"):
        Faults().plan("fire")


def test_clear_removes_plans_and_profile(sandbox, raw):
    sandbox.faults.set_profile("outage")
    sandbox.faults.plan("500", count=5)
    sandbox.faults.clear()
    assert all(raw.get("limits").status_code == 200 for _ in range(10))


def test_token_endpoint_fails_only_when_a_plan_names_it(sandbox):
    from tests.conftest import client_credentials_token

    sandbox.faults.plan("503")  # API calls only: logging in still works
    assert client_credentials_token(sandbox.connection)
    sandbox.faults.clear()
    sandbox.faults.plan("503", endpoint="oauth2/token")
    with pytest.raises(requests.HTTPError) as info:
        client_credentials_token(sandbox.connection)
    assert info.value.response.status_code == 503


def test_a_planned_fault_is_not_used_up_by_an_unauthenticated_call(sandbox, raw):
    sandbox.faults.plan("503")
    raw.token, good = "expired", raw.token
    assert raw.get("limits").status_code == 401
    raw.token = good
    assert raw.get("limits").status_code == 503


def test_simple_salesforce_meets_latency_and_a_dropped_connection(sandbox, sf):
    sandbox.faults.plan("latency", latency_ms=250, endpoint="GET limits")
    began = time.monotonic()
    sf.limits()
    assert time.monotonic() - began >= 0.25
    sandbox.faults.plan("drop", endpoint="GET limits")
    with pytest.raises(requests.exceptions.ConnectionError):
        sf.limits()
    assert sf.limits()["DailyApiRequests"]["Max"] == sandbox.limit.maximum
    assert sandbox.faults.describe()["injected"] == {"latency": 1, "drop": 1}
