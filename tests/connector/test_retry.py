"""The policy, driven by classify(): what is retried, refreshed, or raised at once."""
import pytest
import requests
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceMalformedRequest

from connector.config import RetryConfig
from connector.errors import ConfigError, SessionError, TransientError
from connector.retry import RetryPolicy


class Flaky:
    def __init__(self, *faults, result="done"):
        self.faults = list(faults)
        self.calls = 0
        self.result = result

    def __call__(self):
        self.calls += 1
        if self.faults:
            raise self.faults.pop(0)
        return self.result


def policy(**kw):
    waits = []
    return RetryPolicy(RetryConfig(**{"max_attempts": 4, "initial_wait": 0.5, "max_wait": 4, **kw}),
                       sleep=waits.append), waits


def expired():
    return SalesforceExpiredSession("u", 401, "q", [{"errorCode": "INVALID_SESSION_ID", "message": "expired"}])


def test_transient_faults_are_retried_with_growing_jittered_waits():
    p, waits = policy()
    fn = Flaky(requests.ConnectionError(), requests.ReadTimeout(), requests.ConnectionError())
    assert p.call(fn) == "done"
    assert fn.calls == 4 and len(waits) == 3
    assert all(0 <= w <= 4 for w in waits)
    assert p.retries == 3


def test_transient_faults_stop_at_the_attempt_cap_as_transient_error():
    p, waits = policy(max_attempts=3)
    fn = Flaky(*[requests.ConnectionError("down")] * 5)
    with pytest.raises(TransientError, match="ConnectionError"):
        p.call(fn, context="query Lead")
    assert fn.calls == 3


def test_a_config_error_is_not_retried():
    p, waits = policy()
    bad = SalesforceMalformedRequest("u", 400, "q", [{"errorCode": "INVALID_FIELD", "message": "No such column"}])
    fn = Flaky(bad)
    with pytest.raises(ConfigError):
        p.call(fn)
    assert fn.calls == 1 and waits == []


def test_an_expired_session_is_refreshed_once_and_the_call_repeated():
    p, _ = policy()
    refreshed = []
    fn = Flaky(expired())
    assert p.call(fn, refresh=lambda: refreshed.append(1)) == "done"
    assert refreshed == [1] and fn.calls == 2


def test_a_session_that_expires_again_after_its_renewal_is_renewed_again():
    """An admin revoking sessions twice, a timeout policy shorter than a job: each expiry
    met gets its own login, and the call goes through."""
    p, _ = policy()
    refreshed = []
    fn = Flaky(expired(), expired())
    assert p.call(fn, refresh=lambda: refreshed.append(1)) == "done"
    assert refreshed == [1, 1] and fn.calls == 3


def test_a_session_that_keeps_expiring_is_renewed_a_bounded_number_of_times_then_said_with_what_to_check():
    from connector.retry import SESSION_RENEWALS

    p, _ = policy()
    refreshed = []
    fn = Flaky(*[expired()] * 50)
    with pytest.raises(SessionError) as raised:
        p.call(fn, refresh=lambda: refreshed.append(1), context="query Lead")
    assert len(refreshed) == SESSION_RENEWALS and fn.calls == SESSION_RENEWALS + 1, "not forever"
    said = str(raised.value)
    assert f"{SESSION_RENEWALS + 1} times in a row" in said and "query Lead" in said
    assert "session" in raised.value.fix and "Session Settings" in raised.value.fix


def test_retry_after_is_a_floor_for_the_wait():
    p, waits = policy(initial_wait=0.01, max_wait=0.02)
    resp = requests.Response()
    resp.status_code = 429
    resp.headers["Retry-After"] = "2"
    resp._content = b""
    fn = Flaky(requests.HTTPError(response=resp))
    p.call(fn)
    assert waits == [2.0]


def test_an_insert_is_not_resent_when_its_outcome_is_unknown():
    p, waits = policy()
    fn = Flaky(requests.ReadTimeout("answer lost"))
    with pytest.raises(TransientError):
        p.call(fn, idempotent=False)
    assert fn.calls == 1


def test_an_insert_is_resent_when_the_server_refused_it():
    from simple_salesforce.exceptions import SalesforceGeneralError

    p, waits = policy()
    unavailable = SalesforceGeneralError("u", 503, "composite", [{"errorCode": "SERVER_UNAVAILABLE", "message": ""}])
    fn = Flaky(unavailable, requests.ConnectTimeout("no route"))
    assert p.call(fn, idempotent=False) == "done"
    assert fn.calls == 3


def test_an_outage_is_said_once_then_hourly_then_once_when_salesforce_answers():
    """Salesforce down for hours: every job run's calls give up after their retries. Before,
    each said every retry (warning) and the give-up (error), a dozen lines a minute; now the
    first give-up says salesforce_unavailable, the retries and give-ups after it are debug,
    an hour on it is said again with the count, and the first answer says it is back."""
    import structlog

    clock = [1000.0]
    p = RetryPolicy(RetryConfig(max_attempts=3, initial_wait=0.01, max_wait=0.01), sleep=lambda s: None,
                    monotonic=lambda: clock[0])
    with structlog.testing.capture_logs() as logs:
        for minute in range(90):
            clock[0] = 1000.0 + 60 * minute
            with pytest.raises(TransientError):
                p.call(Flaky(*[requests.ConnectionError("down")] * 3), context="query Lead")
        assert p.unavailable
        assert p.call(Flaky(), context="query Lead") == "done"
        assert not p.unavailable
    loud = [(e["event"], e["log_level"]) for e in logs if e["log_level"] in ("warning", "error")]
    assert loud == [("salesforce call failed, retrying", "warning")] * 2 + [
        ("salesforce_unavailable", "error"), ("salesforce_still_unavailable", "error"),
        ("salesforce_available_again", "warning")], loud
    again = next(e for e in logs if e["event"] == "salesforce_available_again")
    assert again["failed_calls"] == 90 and again["minutes"] == 89.0
    with structlog.testing.capture_logs() as logs:  # the next outage is news again
        with pytest.raises(TransientError):
            p.call(Flaky(*[requests.ConnectionError("down")] * 3))
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["salesforce_unavailable"]
