"""A host clock days off Salesforce's: the connector logs in, reads, offers and lapses on
Salesforce's time all the same.

The org runs three days ahead of or behind this host (the sandbox's clock offset, from its
first record) and the connector is given no clock: it takes the time from the `Date`
header of Salesforce's responses, as in production. The sandbox checks a JWT assertion's
`exp` on the org's clock, as Salesforce does.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from jobs.timeutil import parse_sf_datetime
from sandbox.simulator import Profile

from .conftest import Loop, build_connector, connector_config_data

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
THREE_DAYS = timedelta(days=3)


def jwt_config(sb) -> dict:
    data = connector_config_data(sb, notify="none")
    c = sb.connection
    data["auth"] = {"method": "jwt_bearer", "client_id": c["client_id"], "username": c["username"],
                    "private_key_file": c["private_key_file"]}
    return data


def test_a_jwt_login_from_a_host_three_days_behind_salesforce_goes_through(sandbox_factory):
    """The first assertion is stamped with the host's clock (nothing else is known yet) and
    refused as expired; the refusal's Date header tells Salesforce's time, and the next
    assertion, stamped with it, logs in."""
    from connector import ConnectorConfig, SalesforceClient

    sb = sandbox_factory(clock_offset=THREE_DAYS)
    sb.auth.jwt_exp_clock = sb.clock.now
    client = SalesforceClient.connect(ConnectorConfig.model_validate(jwt_config(sb)))
    try:
        assert client.count("SELECT COUNT() FROM User") >= 1
        assert client.token_calls == 2, "one refused assertion, one on Salesforce's time"
        assert abs(client.clock_skew - THREE_DAYS) < timedelta(seconds=3)
        assert abs(client.server_now() - sb.clock.now()) < timedelta(seconds=3)
    finally:
        client.close()


@pytest.mark.parametrize("skew", [THREE_DAYS, -THREE_DAYS], ids=["host 3 days behind", "host 3 days ahead"])
def test_once_salesforces_clock_is_known_a_jwt_login_again_takes_one_token_request(sandbox_factory, skew):
    """A session ended (an admin, a timeout) and a standby's periodic login check: the
    assertion is stamped with Salesforce's time as its answers tell it, never refused."""
    from connector import ConnectorConfig, SalesforceClient

    sb = sandbox_factory(clock_offset=skew)
    sb.auth.jwt_exp_clock = sb.clock.now
    client = SalesforceClient.connect(ConnectorConfig.model_validate(jwt_config(sb)))
    try:
        assert client.count("SELECT COUNT() FROM User") >= 1
        logins = client.token_calls
        sb.auth.expire()  # every session ends
        assert client.count("SELECT COUNT() FROM User") >= 1
        assert client.token_calls == logins + 1, "one token request for the expired session"
        client.login_again()
        assert client.token_calls == logins + 2, "one token request for a standby's login check"
    finally:
        client.close()


def test_a_jwt_login_refused_as_expired_even_on_salesforces_time_names_the_hosts_clock_and_ntp(sandbox_factory):
    """When the assertion stamped with Salesforce's time is refused too (Salesforce's token
    service judging by a time its answers' Date does not show, a proxy rewriting Date), one
    retry is all: the error says how far this host's clock is from Salesforce's and the fix."""
    from datetime import timedelta as td

    from connector import ConfigError, ConnectorConfig, SalesforceClient

    sb = sandbox_factory(clock_offset=THREE_DAYS)
    sb.auth.jwt_exp_clock = lambda: sb.clock.now() + td(minutes=10)
    client = SalesforceClient(ConnectorConfig.model_validate(jwt_config(sb)))
    try:
        with pytest.raises(ConfigError) as raised:
            client._login()
        assert client.token_calls == 2, "the first assertion and one on Salesforce's time, no more"
        said = str(raised.value)
        assert "expired authorization code" in said
        assert "this host's clock is 3.0 days behind Salesforce's" in said, said
        assert "NTP" in raised.value.fix
    finally:
        client.close()


def test_a_jwt_login_refused_for_another_reason_is_still_a_config_error(sandbox_factory):
    from connector import ConfigError, ConnectorConfig, SalesforceClient

    sb = sandbox_factory(clock_offset=THREE_DAYS)
    sb.auth.jwt_exp_clock = sb.clock.now
    data = jwt_config(sb)
    data["auth"]["username"] = "nobody@example.invalid"
    with pytest.raises(ConfigError, match="invalid_grant"):
        SalesforceClient.connect(ConnectorConfig.model_validate(data))


@pytest.mark.parametrize("skew", [THREE_DAYS, -THREE_DAYS], ids=["host 3 days behind", "host 3 days ahead"])
def test_offers_are_dated_and_lapse_on_salesforces_clock_when_the_host_is_days_off(sandbox_factory, tmp_path, skew):
    from .rules_for_tests import write_rules

    sb = sandbox_factory(seed="demo", partners=30, leads=30, random_seed=7, clock_offset=skew)
    sb.simulator.set_profile("*", NEVER_ANSWER)
    cx = build_connector(sb, f"sqlite:///{tmp_path}/state.sqlite", server_time=True, rules=write_rules(tmp_path))
    loop = Loop(sb, cx)
    try:
        loop.cycle()
        leads = list(sb.org.records("Lead"))
        assert [r["Id"] for r in leads if r.get("Routing_Status__c") is None] == [], "every lead was read"
        offered = [r for r in leads if r.get("Routing_Status__c") == "Offered"]
        assert offered
        for r in offered:  # dated in the org's time: 24 h from the org's now (the test rules)
            assert abs(parse_sf_datetime(r["Offered_At__c"]) - sb.clock.now()) < timedelta(minutes=2)
            assert abs(parse_sf_datetime(r["Offer_Deadline__c"]) - parse_sf_datetime(r["Offered_At__c"])
                       - timedelta(hours=24)) < timedelta(minutes=1)
        loop.cycle(hours=23)  # nothing lapses an hour early, whatever the host's clock says
        assert {loop.offers(r["Id"])[0]["status"] for r in offered} == {"live"}
        loop.cycle(hours=1.1)
        assert {loop.offers(r["Id"])[0]["status"] for r in offered} == {"lapsed"}, "lapsed at the deadline"
    finally:
        cx.client.close()
        cx.store.dispose()


@pytest.mark.skipif(not hasattr(__import__("time"), "CLOCK_BOOTTIME"), reason="CLOCK_BOOTTIME is Linux's")
def test_a_host_that_slept_through_a_deadline_lapses_the_offer_at_its_first_job_after_waking(
        sandbox_factory, tmp_path, monkeypatch):
    """Between Salesforce's answers the connector carries the org's time on with elapsed
    time. The monotonic clock stops while the host is suspended (a laptop shut, a VM
    paused): a host that slept a day woke a day behind the org, so its first jobs dated
    offers a day early and lapsed nothing that was due, until some answer came back."""
    import time
    from datetime import datetime, timezone

    from .rules_for_tests import write_rules

    sb = sandbox_factory(seed="demo", partners=30, leads=30, random_seed=7,
                         start_at=datetime(2031, 2, 27, 9, 0, tzinfo=timezone.utc))
    sb.simulator.set_profile("*", NEVER_ANSWER)
    cx = build_connector(sb, f"sqlite:///{tmp_path}/state.sqlite", server_time=True, rules=write_rules(tmp_path))
    loop = Loop(sb, cx)
    try:
        loop.cycle()
        offered = [r for r in sb.org.records("Lead") if r.get("Routing_Status__c") == "Offered"]
        assert offered and {loop.offers(r["Id"])[0]["status"] for r in offered} == {"live"}
        # the host sleeps 25 hours: the org's clock and the time since boot go on, the
        # monotonic clock does not (nothing is asked of Salesforce meanwhile)
        slept = timedelta(hours=25).total_seconds()
        real = time.clock_gettime
        monkeypatch.setattr(time, "clock_gettime",
                            lambda clk: real(clk) + (slept if clk == time.CLOCK_BOOTTIME else 0.0))
        sb.clock.advance(timedelta(hours=25))
        result = cx.run_job("expire")  # no call to Salesforce before it takes its `now`
        assert result.error is None, result.error
        assert {loop.offers(r["Id"])[0]["status"] for r in offered} == {"lapsed"}, \
            "every 24-hour offer lapsed at the first job after waking"
    finally:
        cx.client.close()
        cx.store.dispose()
