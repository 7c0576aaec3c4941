"""Every fault the sandbox can inject, handled as classified — and what is NOT retried."""
from __future__ import annotations

from datetime import timedelta

import pytest

from connector import BudgetExceeded, ConfigError, TransientError

pytestmark = pytest.mark.e2e


def add_leads(org, n):
    return [org.org.create("Lead", {"LastName": f"L{i}", "Company": f"C{i}"}) for i in range(n)]


@pytest.mark.parametrize("kind", ["503", "500", "lock", "drop"])
def test_transient_fault_on_a_query_is_retried_and_succeeds(org, client, kind):
    add_leads(org, 3)
    org.faults.plan(kind, count=2, endpoint="query")
    client.calls = 0
    assert len(list(client.query("SELECT Id FROM Lead WHERE LastName LIKE 'L%'"))) == 3
    assert client.calls == 3  # two faults, then the answer
    assert client.policy.retries == 2


def test_a_slow_answer_past_the_timeout_is_retried(org, connect):
    add_leads(org, 1)
    client = connect(timeout=0.3)
    org.faults.plan("latency", count=1, endpoint="query", latency_ms=1200)
    assert len(list(client.query("SELECT Id FROM Lead WHERE LastName = 'L0'"))) == 1
    assert client.policy.retries == 1


def test_a_fault_that_outlasts_the_retry_cap_stops_as_transient_error(org, connect):
    client = connect(retry={"max_attempts": 3})
    org.faults.plan("503", count=10, endpoint="query")
    client.calls = 0
    with pytest.raises(TransientError, match="503|SERVER_UNAVAILABLE"):
        list(client.query("SELECT Id FROM Lead"))
    assert client.calls == 3


def test_an_expired_session_is_refreshed_once_without_the_caller_noticing(org, client):
    add_leads(org, 2)
    logins = client.token_calls
    org.faults.plan("expire", count=1, endpoint="query")
    assert len(list(client.query("SELECT Id FROM Lead WHERE LastName LIKE 'L%'"))) == 2
    assert client.token_calls == logins + 1
    assert client.policy.refreshes == 1


def test_a_session_ended_again_right_after_its_renewal_is_renewed_again(org, client):
    """Two expiries in a row (an admin revoking the user's sessions twice, a session timeout
    shorter than a job): one login for each, and the call goes through."""
    add_leads(org, 2)
    logins = client.token_calls
    org.faults.plan("expire", count=2, endpoint="query")
    assert len(list(client.query("SELECT Id FROM Lead WHERE LastName LIKE 'L%'"))) == 2
    assert client.token_calls == logins + 2, "one login per expiry"


def test_a_session_that_keeps_ending_is_given_up_after_a_few_logins_naming_what_to_check(org, client):
    from connector import SessionError
    from connector.retry import SESSION_RENEWALS

    logins = client.token_calls
    org.faults.plan("expire", count=50, endpoint="query")
    with pytest.raises(SessionError) as raised:
        client.count("SELECT COUNT() FROM Lead")
    assert client.token_calls == logins + SESSION_RENEWALS, "a bounded number of logins, not one per expiry forever"
    said = str(raised.value)
    assert "INVALID_SESSION_ID" in said and "count of Lead" in said
    assert "Session Settings" in said and "connected app" in said


def test_a_session_that_times_out_in_org_time_is_renewed(org, client):
    add_leads(org, 1)
    logins = client.token_calls
    org.clock.advance(timedelta(days=2))
    assert client.count("SELECT COUNT() FROM Lead") >= 1
    assert client.token_calls == logins + 1


def test_records_locked_in_a_batch_are_retried_alone(org, client):
    ids = add_leads(org, 10)
    org.faults.plan("record_failures", count=1, records=[2, 7])
    client.calls = 0
    results = client.update("Lead", [{"Id": i, "Routing_Status__c": "Pending"} for i in ids])
    assert all(r.ok for r in results), [r for r in results if not r.ok]
    assert client.calls == 2  # the batch, then just the two locked records
    assert {org.org.get("Lead", i)["Routing_Status__c"] for i in ids} == {"Pending"}


def test_a_record_that_stays_locked_is_reported_transient_for_a_later_cycle(org, connect):
    client = connect(retry={"max_attempts": 2})
    ids = add_leads(org, 3)
    org.faults.plan("record_failures", count=5, records=[0])
    results = client.update("Lead", [{"Id": i, "Routing_Status__c": "Pending"} for i in ids])
    assert (results[0].kind, results[0].code) == ("transient", "UNABLE_TO_LOCK_ROW")
    assert [r.ok for r in results[1:]] == [True, True]


def test_a_permanent_record_failure_is_not_retried(org, client):
    ids = add_leads(org, 3)
    org.faults.plan("record_failures", count=1, records=[1], code="FIELD_CUSTOM_VALIDATION_EXCEPTION")
    client.calls = 0
    results = client.update("Lead", [{"Id": i, "Routing_Status__c": "Pending"} for i in ids])
    assert (results[1].kind, results[1].code) == ("permanent", "FIELD_CUSTOM_VALIDATION_EXCEPTION")
    assert client.calls == 1


def test_an_unknown_field_is_a_config_error_with_a_fix_and_is_not_retried(org, client):
    client.calls = 0
    with pytest.raises(ConfigError) as err:
        list(client.query("SELECT Id, Routing_Stauts__c FROM Lead"))
    assert err.value.code == "INVALID_FIELD"
    assert "field-level security" in err.value.fix
    assert client.calls == 1 and client.policy.retries == 0


def test_an_unknown_object_is_a_config_error(org, client):
    with pytest.raises(ConfigError) as err:
        client.describe("Leed")
    assert err.value.code in {"NOT_FOUND", "INVALID_TYPE"}


def test_the_orgs_spent_limit_stops_the_cycle_cleanly_without_retries(org, client):
    org.limit.set(maximum=5, used=5)
    client.calls = 0
    with pytest.raises(BudgetExceeded) as err:
        list(client.query("SELECT Id FROM Lead"))
    assert err.value.code == "REQUEST_LIMIT_EXCEEDED"
    assert client.calls == 1


def test_our_share_of_the_budget_stops_calls_before_they_are_made(org, connect):
    org.limit.set(maximum=100, used=0)
    client = connect(budget={"share": 0.05})
    for _ in range(5):
        client.count("SELECT COUNT() FROM Lead")
    before = org.counters.snapshot()["api_calls"]
    with pytest.raises(BudgetExceeded, match="share"):
        client.count("SELECT COUNT() FROM Lead")
    assert org.counters.snapshot()["api_calls"] == before  # refused locally, nothing sent


def test_a_wrong_client_secret_is_a_config_error_naming_the_fix(org, make_config, monkeypatch):
    from connector import SalesforceClient

    config = make_config("client_credentials")
    monkeypatch.setenv("LR_TEST_SF_CLIENT_SECRET", "wrong")
    with pytest.raises(ConfigError) as err:
        SalesforceClient.connect(config)
    assert err.value.code == "invalid_client"
    assert "secret" in err.value.fix
    assert "wrong" not in str(err.value)


def test_a_token_request_that_times_out_is_retried(org, make_config):
    from connector import SalesforceClient

    # the sandbox's token endpoint only slows down (a failing login is the login's own test)
    org.faults.plan("latency", count=1, endpoint="oauth2/token", latency_ms=1200)
    client = SalesforceClient.connect(make_config(timeout=0.3))
    assert client.token_calls == 2
    client.close()


def test_a_dropped_insert_is_not_sent_twice(org, client):
    before = sum(1 for _ in org.org.records("Lead"))
    org.faults.plan("drop", count=1, endpoint="composite")
    with pytest.raises(TransientError):
        client.create("Lead", [{"LastName": "Once", "Company": "Only Once Inc"}])
    assert sum(1 for _ in org.org.records("Lead")) <= before + 1
    assert client.policy.retries == 0


@pytest.mark.parametrize("kind", ["expire", "503", "drop"])
def test_a_fault_on_a_later_page_resumes_the_same_stream(org, client, kind):
    ids = set(add_leads(org, 4500))
    org.faults.plan(kind, count=1, endpoint="query", skip=1)  # the second page
    got = [r["Id"] for r in client.query("SELECT Id FROM Lead WHERE LastName LIKE 'L%'")]
    assert len(got) == len(set(got)) == 4500 and set(got) == ids


def test_a_chaotic_org_still_yields_every_record_and_a_result_for_every_write(org, connect):
    client = connect(retry={"max_attempts": 6})
    ids = add_leads(org, 3000)
    org.faults.set_profile("chaos", seed=7)
    got = {r["Id"] for r in client.query("SELECT Id FROM Lead WHERE LastName LIKE 'L%'")}
    assert got == set(ids)
    results = client.update("Lead", [{"Id": i, "Routing_Status__c": "Pending"} for i in ids[:1000]])
    assert len(results) == 1000 and {r.kind for r in results} <= {"ok", "transient"}
    org.faults.clear()
    again = [r.id for r in results if not r.ok]
    if again:
        assert all(r.ok for r in client.update("Lead", [{"Id": i, "Routing_Status__c": "Pending"} for i in again]))
    assert {org.org.get("Lead", i)["Routing_Status__c"] for i in ids[:1000]} == {"Pending"}
    assert client.policy.retries > 0  # chaos did strike, and was absorbed


def test_a_jwt_for_an_unknown_user_is_invalid_grant_with_what_to_check(org, make_config):
    from connector import SalesforceClient

    config = make_config("jwt_bearer")
    config = config.model_copy(update={"auth": config.auth.model_copy(update={"username": "nobody@nowhere.example"})})
    with pytest.raises(ConfigError) as err:
        SalesforceClient.connect(config)
    assert err.value.code == "invalid_grant"
    assert "pre-authorised" in err.value.fix and "username" in err.value.fix


def test_a_revoked_refresh_token_is_a_config_error_not_a_retry_loop(org, make_config, monkeypatch):
    from connector import SalesforceClient

    config = make_config("refresh_token")
    monkeypatch.setenv("LR_TEST_SF_REFRESH", "5Aep861.revoked")
    org.counters.reset()
    with pytest.raises(ConfigError) as err:
        SalesforceClient.connect(config)
    assert err.value.code == "invalid_grant" and "revoked" in err.value.fix
    assert org.counters.snapshot()["requests"] == 1


@pytest.mark.parametrize("kind", ["503", "500", "lock", "drop", "expire"])
def test_a_fault_on_a_whole_update_call_is_retried_and_every_record_written(org, client, kind):
    ids = add_leads(org, 250)
    org.faults.plan(kind, count=1, endpoint="composite")
    client.calls = 0
    results = client.update("Lead", [{"Id": i, "Routing_Status__c": "Offered"} for i in ids])
    assert all(r.ok for r in results)
    assert client.calls == 3  # two batches, one of them twice
    assert {org.org.get("Lead", i)["Routing_Status__c"] for i in ids} == {"Offered"}


def test_a_read_that_fails_for_good_names_the_object_it_was_reading(org, connect):
    """"query of Account: …" tells ops which sync failed, not only that a query did."""
    client = connect(retry={"max_attempts": 2})
    org.faults.plan("500", count=5, endpoint="query")
    with pytest.raises(TransientError, match=r"^query of Account: "):
        list(client.query("SELECT Id, (SELECT Id FROM Contacts) FROM Account WHERE Name = 'x FROM Lead'"))
