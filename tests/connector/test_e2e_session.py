"""Auth methods, session settings, schema cache, budget status and notifications, end to end."""
from __future__ import annotations

import pytest

from connector import Notification, SalesforceClient

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("method", ["jwt_bearer", "client_credentials", "refresh_token", "password"])
def test_every_auth_method_logs_in_and_queries(org, connect, method):
    client = connect(method)
    assert client.count("SELECT COUNT() FROM User") >= 1
    assert client.token_calls == 1
    assert client.calls == 1  # token requests are counted apart


def test_every_request_uses_the_configured_api_version_and_reports_usage(org, connect):
    client = connect(api_version="61.0")
    client.count("SELECT COUNT() FROM Lead")
    assert client.sf.base_url.endswith("/services/data/v61.0/")
    used, maximum = client.api_usage
    assert 0 < used <= maximum


def test_an_untrusted_certificate_is_a_config_error_not_retried(org, make_config, tmp_path):
    from connector import ConfigError

    other_ca = tmp_path / "other.pem"
    import trustme

    other_ca.write_bytes(trustme.CA().cert_pem.bytes())
    config = make_config(ca_bundle=str(other_ca), retry={"max_attempts": 5})
    with pytest.raises(ConfigError, match="SSL|certificate") as raised:
        SalesforceClient.connect(config)
    assert "ca_bundle" in raised.value.failure.fix


def test_describe_is_fetched_once_per_run_and_answers_mappings_questions(org, client):
    client.calls = 0
    client.describe("Lead")
    client.describe("Lead")
    assert client.calls == 1
    status = client.schema.field("Lead", "Routing_Status__c")
    assert (status.exists, status.type, status.updateable) == (True, "picklist", True)
    assert "Offered" in status.picklist_values and status.restricted_picklist
    owner = client.schema.field("Lead", "OwnerId")
    assert set(owner.references) >= {"User", "Group"}
    typo = client.schema.field("Lead", "Routing_Stauts__c")
    assert not typo.exists and typo.suggestion == "Routing_Status__c"
    client.schema.refresh()
    client.describe("Lead")
    assert client.calls == 2


def test_budget_status_holds_back_non_urgent_jobs_at_the_org_threshold(org, connect):
    org.limit.set(maximum=1000, used=850)
    client = connect(budget={"pause_non_urgent_at": 0.8, "share": 0.5})
    client.count("SELECT COUNT() FROM Lead")
    assert client.budget.should_pause_non_urgent()
    status = client.budget.status()
    assert status["holding_back"] and status["org_max"] == 1000 and status["spent_24h"] == 1


def test_custom_notifications_go_out_in_batches(org, connect):
    [ntype] = connect().query("SELECT Id FROM CustomNotificationType LIMIT 1")  # Setup > Custom Notifications
    client = connect(notify={"kind": "custom", "custom_notification_type_id": ntype["Id"]})
    rep = org.org.integration_user_id
    lead = org.org.create("Lead", {"LastName": "N", "Company": "Notify Co"})
    items = [Notification((rep,), f"Offer {i}", "A lead for you", target_id=lead) for i in range(250)]
    client.calls = 0
    results = client.notify("custom", items)
    assert all(r.ok for r in results), [r for r in results if not r.ok][:1]
    assert client.calls == 2  # 200 inputs a call
    sent = org.notifications.all("customNotificationAction")
    assert len(sent) == 250 and sent[0].inputs["title"] == "Offer 0"


def test_email_notifications_use_the_simple_email_action(org, connect):
    client = connect(notify={"kind": "email"})
    results = client.notify("email", [Notification((), "Reminder", "Your offer lapses soon",
                                                   emails=("rep@partner.example",))])
    assert results[0].ok
    [sent] = org.notifications.all("emailSimple")
    assert sent.inputs["emailAddresses"] == "rep@partner.example"


def test_notifications_off_send_nothing(org, client):
    client.calls = 0
    results = client.notify("none", [Notification(("005000000000001AAA",), "t", "b")])
    assert client.calls == 0 and results[0].code == "NOT_SENT"


def test_call_count_matches_what_the_org_received_faults_and_retries_included(org, connect):
    org.counters.reset()
    client = connect()
    ids = [org.org.create("Lead", {"LastName": f"C{i}", "Company": "Count Co"}) for i in range(450)]
    org.faults.plan("503", count=1, endpoint="query")
    org.faults.plan("drop", count=1, endpoint="composite")
    org.faults.plan("expire", count=1, endpoint="describe")
    client.describe("Lead")
    list(client.read_by_ids("Lead", ["Company"], ids))
    client.update("Lead", [{"Id": i, "Routing_Attempt__c": 1} for i in ids])
    snapshot = org.counters.snapshot()
    token_requests = snapshot["endpoints"].get("POST services/oauth2/token", 0)
    assert token_requests == client.token_calls == 2
    assert client.calls == snapshot["requests"] - token_requests


def test_no_secret_or_token_reaches_the_logs(org, connect):
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        client = connect("password", retry={"max_attempts": 2})
        org.faults.plan("503", count=1, endpoint="query")
        org.faults.plan("expire", count=1, endpoint="query")
        client.count("SELECT COUNT() FROM Lead")
    text = repr(logs)
    conn = org.connection
    token = client.sf.session_id
    for secret in (conn["client_secret"], conn["password"], conn["refresh_token"], token):
        assert secret not in text
    assert any(e["event"] == "salesforce session expired, logging in again" for e in logs)


def test_a_rejected_notification_is_reported_with_salesforces_reason(org, connect):
    client = connect(notify={"kind": "custom", "custom_notification_type_id": "0ML000000000001GAA"})
    [result] = client.notify("custom", [Notification((org.org.integration_user_id,), "t", "b",
                                                     target_id=org.org.integration_user_id)])
    assert (result.ok, result.code) == (False, "INVALID_ID_FIELD")
    assert "customNotifTypeId" in result.message


def test_limits_feed_the_budget_before_any_other_call(org, connect):
    org.limit.set(maximum=2000, used=1700)
    client = connect(budget={"pause_non_urgent_at": 0.8})
    limits = client.limits()
    assert limits["DailyApiRequests"]["Max"] == 2000
    assert client.budget.org_max == 2000 and client.budget.should_pause_non_urgent()


def test_one_client_serves_several_scheduler_threads(org, client):
    from concurrent.futures import ThreadPoolExecutor

    ids = [org.org.create("Lead", {"LastName": f"T{i}", "Company": "Thread Co"}) for i in range(2500)]
    client.calls = 0
    org.counters.reset()

    def read(_):
        return sorted(r["Id"] for r in client.query("SELECT Id FROM Lead WHERE Company = 'Thread Co'"))

    def write(chunk):
        return [r.ok for r in client.update("Lead", [{"Id": i, "Routing_Attempt__c": 1} for i in chunk])]

    with ThreadPoolExecutor(4) as pool:
        reads = list(pool.map(read, range(4)))
        writes = list(pool.map(write, [ids[i:i + 500] for i in range(0, 2500, 500)]))
    assert all(r == sorted(ids) for r in reads)
    assert all(all(w) for w in writes)
    assert client.calls == org.counters.snapshot()["requests"] == 4 * 2 + 5 * 3


def test_logging_in_again_gets_a_fresh_session_the_same_way(org, client):
    """A standby's hourly check: the same login as at start, and the client carries on."""
    org.org.create("Lead", {"LastName": "Again", "Company": "Again Co"})
    logins = client.token_calls
    client.login_again()
    assert client.token_calls == logins + 1
    assert client.count("SELECT COUNT() FROM Lead WHERE LastName = 'Again'") == 1  # on the fresh session
