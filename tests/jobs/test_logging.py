"""Logs: JSON lines with the bound context, and no secret or personal data in them."""
from __future__ import annotations

import io
import json

import structlog

from jobs.logging import configure, get_logger


def capture():
    out = io.StringIO()
    configure("json", "info", stream=out)
    return out


def lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_run_id_job_and_lead_id():
    out = capture()
    with structlog.contextvars.bound_contextvars(run_id="r1", job="leads"):
        get_logger(lead_id="00Q000000000001AAA").info("routed", partner="Acme")
    (event,) = lines(out)
    assert event["run_id"] == "r1" and event["job"] == "leads" and event["lead_id"] == "00Q000000000001AAA"
    assert event["event"] == "routed" and event["level"] == "info" and "timestamp" in event


def test_secrets_are_masked_by_key_name():
    out = capture()
    get_logger().info("login", access_token="00Dxx!AQ4AQ.secret", client_secret="s3cr3t", password="pw")
    (event,) = lines(out)
    assert event["access_token"] == event["client_secret"] == event["password"] == "[redacted]"


def test_tokens_emails_and_phones_are_masked_inside_messages():
    out = capture()
    get_logger().error("call failed", detail="Authorization: Bearer 00D5e000000abcd!AQ4AQJx.yz_abcdefghijklmnopqrstu "
                       "for jane.doe@example.com, call +1 (415) 555-0100",
                       nested={"session": {"refresh_token": "5Aep861"}})
    (event,) = lines(out)
    text = json.dumps(event)
    for secret in ("AQ4AQJx", "jane.doe@example.com", "555-0100", "5Aep861"):
        assert secret not in text
    assert "[email]" in text and "[phone]" in text


def test_ids_dates_and_counts_are_not_mistaken_for_phone_numbers():
    out = capture()
    get_logger().info("job_run", lead="00Q5e00000AbCdEfGH", at="2026-11-23T18:00:00+00:00", api_calls=12345678)
    (event,) = lines(out)
    assert event["lead"] == "00Q5e00000AbCdEfGH"
    assert event["at"] == "2026-11-23T18:00:00+00:00"
    assert event["api_calls"] == 12345678


def test_a_date_is_not_a_phone_number_but_a_local_number_is():
    out = capture()
    get_logger().info("x", close="2026-11-23", phone="030 1234 5678")
    (event,) = lines(out)
    assert event["close"] == "2026-11-23" and event["phone"] == "[phone]"


def test_counts_and_ids_made_of_digits_stay_readable():
    out = capture()
    get_logger().info("x", run_id="r93746120398", n="123456789012", phone="+14155550100")
    (event,) = lines(out)
    assert event["run_id"] == "r93746120398" and event["n"] == "123456789012" and event["phone"] == "[phone]"


def test_every_line_carries_the_orgs_time_beside_the_hosts_once_salesforce_has_answered():
    """The host's clock stamps `timestamp` (log tooling sorts by it); `org_time` is
    Salesforce's, from the last Date header and the time since (connector/servertime.py),
    so a line can be matched to an audit field (SystemModstamp, CreatedDate). Before any
    answer it is unknown and left out."""
    from datetime import datetime, timezone

    from connector.servertime import ServerClock

    seconds = [1000.0]
    clock = ServerClock(host=lambda: datetime(2031, 1, 1, tzinfo=timezone.utc), monotonic=lambda: seconds[0])
    out = capture()
    get_logger().info("before")
    clock.observe("Mon, 05 Apr 2027 08:00:00 GMT")
    seconds[0] += 90.25
    get_logger().info("after")
    import logging

    logging.getLogger("apscheduler.scheduler").warning("a library's warning")
    before, after, library = lines(out)
    assert "org_time" not in before or before["org_time"] != "2027-04-05T08:00:00Z"
    assert after["org_time"] == "2027-04-05T08:01:30.250000Z"
    assert library["org_time"] == "2027-04-05T08:01:30.250000Z"
    host = datetime.fromisoformat(after["timestamp"].replace("Z", "+00:00"))
    assert abs(host - datetime.now(timezone.utc)).total_seconds() < 60, "the host's stamp stays the host's"
