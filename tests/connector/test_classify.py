"""The one table: what each failure means."""
import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from connector.errors import ConfigError, Failure, as_exception, classify


def sf_error(cls, status, code, message="boom"):
    return cls("https://x/services/data/v62.0/query", status, "query", [{"errorCode": code, "message": message}])


@pytest.mark.parametrize(
    "fault, kind, code",
    [
        (requests.ConnectionError("reset"), "transient", "ConnectionError"),
        (requests.ReadTimeout("slow"), "transient", "ReadTimeout"),
        (sf_error(SalesforceGeneralError, 503, "SERVER_UNAVAILABLE"), "transient", "SERVER_UNAVAILABLE"),
        (SalesforceGeneralError("u", 500, "q", "<html>oops</html>"), "transient", "HTTP_500"),
        (SalesforceGeneralError("u", 429, "q", ""), "transient", "HTTP_429"),
        (SalesforceGeneralError("u", 420, "q", ""), "transient", "HTTP_420"),
        (sf_error(SalesforceMalformedRequest, 400, "UNABLE_TO_LOCK_ROW"), "transient", "UNABLE_TO_LOCK_ROW"),
        (sf_error(SalesforceExpiredSession, 401, "INVALID_SESSION_ID"), "session", "INVALID_SESSION_ID"),
        (sf_error(SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED"), "budget", "REQUEST_LIMIT_EXCEEDED"),
        (sf_error(SalesforceMalformedRequest, 400, "INVALID_FIELD"), "config", "INVALID_FIELD"),
        (sf_error(SalesforceMalformedRequest, 400, "INVALID_TYPE"), "config", "INVALID_TYPE"),
        (sf_error(SalesforceRefusedRequest, 403, "INSUFFICIENT_ACCESS"), "config", "INSUFFICIENT_ACCESS"),
        (sf_error(SalesforceMalformedRequest, 400, "MALFORMED_ID"), "permanent", "MALFORMED_ID"),
        ({"error": "invalid_grant", "error_description": "user hasn't approved this consumer"}, "config", "invalid_grant"),
        ({"statusCode": "UNABLE_TO_LOCK_ROW", "message": "locked", "fields": []}, "transient", "UNABLE_TO_LOCK_ROW"),
        ({"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "no", "fields": ["Status"]}, "permanent",
         "FIELD_CUSTOM_VALIDATION_EXCEPTION"),
        (KeyError("x"), "permanent", "KeyError"),
    ],
)
def test_each_fault_has_one_kind(fault, kind, code):
    failure = classify(fault)
    assert (failure.kind, failure.code) == (kind, code)


def test_config_errors_carry_a_fix_that_says_what_to_change():
    failure = classify(sf_error(SalesforceMalformedRequest, 400, "INVALID_FIELD", "No such column 'Foo__c'"))
    assert "field-level security" in failure.fix
    err = as_exception(failure, context="query Lead")
    assert isinstance(err, ConfigError)
    assert "query Lead" in str(err) and "No such column 'Foo__c'" in str(err) and "fix:" in str(err)


def test_a_spent_daily_email_allowance_says_when_it_comes_back_and_what_else_to_do():
    """emailSimple refuses an input with SINGLE_EMAIL_LIMIT_EXCEEDED once the org's daily
    allowance (by GMT) is spent: the warning and the lead's Task name the way out."""
    from connector.notify import Notification, outcome

    note = Notification(recipient_ids=("005000000000001AAA",), title="t", body="b")
    refused = outcome(note, [{"isSuccess": False, "errors": [
        {"statusCode": "SINGLE_EMAIL_LIMIT_EXCEEDED", "message": "Email limit exceeded"}]}])
    assert not refused.ok and refused.code == "SINGLE_EMAIL_LIMIT_EXCEEDED"
    assert "midnight GMT" in refused.fix and 'offer_alert = "custom"' in refused.fix


def test_unknown_403_is_a_config_problem_with_a_generic_fix():
    failure = classify(sf_error(SalesforceRefusedRequest, 403, "SOMETHING_NEW"))
    assert failure.kind == "config" and "permission set" in failure.fix


def test_retry_after_header_is_read_from_a_response():
    resp = requests.Response()
    resp.status_code = 503
    resp.headers["Retry-After"] = "3"
    resp._content = b'[{"errorCode":"SERVER_UNAVAILABLE","message":"down"}]'
    failure = classify(resp)
    assert failure == Failure("transient", "SERVER_UNAVAILABLE", "down", None, 503, (), 3.0)


def test_retry_after_as_an_http_date_is_counted_from_the_responses_own_date():
    """RFC 9110 allows Retry-After as an HTTP date. The wait is that date less the response's
    Date header (Salesforce's clock), never less this host's clock, which may be hours off."""
    resp = requests.Response()
    resp.status_code = 503
    resp.headers["Date"] = "Mon, 07 Dec 2026 04:00:00 GMT"
    resp.headers["Retry-After"] = "Mon, 07 Dec 2026 04:00:45 GMT"
    resp._content = b'[{"errorCode":"SERVER_UNAVAILABLE","message":"down"}]'
    assert classify(resp).retry_after == 45.0
    resp.headers["Retry-After"] = "Mon, 07 Dec 2026 03:59:00 GMT"  # already past: no floor beyond none
    assert classify(resp).retry_after == 0.0
    del resp.headers["Date"]  # no date to count from: the server's wish cannot be read, so it is not
    resp.headers["Retry-After"] = "Mon, 07 Dec 2026 04:00:45 GMT"
    assert classify(resp).retry_after is None


def test_per_record_error_keeps_its_fields():
    failure = classify({"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "message": "bad value",
                        "fields": ["Routing_Status__c"]})
    assert failure.fields == ("Routing_Status__c",)
    assert "picklist" in failure.fix


from hypothesis import given, strategies as st  # noqa: E402

error_bodies = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["errorCode", "statusCode", "message", "fields", "error", "errors", "x"]), inner, max_size=4),
    max_leaves=10,
)


@given(status=st.integers(100, 599), body=error_bodies)
def test_classify_answers_for_any_error_body_salesforce_could_send(status, body):
    failure = classify(SalesforceGeneralError("u", status, "q", body))
    assert failure.kind in {"transient", "session", "budget", "config", "permanent"}
    assert isinstance(failure.code, str) and failure.code


@pytest.mark.parametrize("said, fix_names, not_named", [
    ("audience is invalid", "https://test.salesforce.com", "refresh token"),
    ("user hasn't approved this consumer", "Admin approved users are pre-authorized", "refresh token"),
    ("invalid assertion", "certificate", "refresh token"),
    ("authentication failure", "security token", "certificate"),
    ("inactive user", "deactivated", "certificate"),
    ("expired access/refresh token", "refresh token", "certificate"),
])
def test_a_refused_login_gets_the_fix_for_what_salesforce_said(said, fix_names, not_named):
    """One fix listed every cause (username, pre-authorisation, certificate, audience, a
    revoked refresh token) whatever Salesforce said; a JWT login was told of refresh tokens."""
    failure = classify({"error": "invalid_grant", "error_description": said})
    assert fix_names in failure.fix and not_named not in failure.fix, failure.fix


def test_an_assertion_refused_as_expired_is_said_to_be_the_hosts_clock_with_the_fix():
    """Salesforce answers an assertion whose exp has passed on its clock with 'expired
    authorization code': a host clock behind Salesforce's, not a wrong username or key."""
    failure = classify({"error": "invalid_grant", "error_description": "expired authorization code"})
    assert failure.kind == "config"
    assert "clock" in failure.fix and "NTP" in failure.fix
