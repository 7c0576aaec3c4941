"""A host behind Salesforce's clock, logging in by JWT in a new process every minute (a
CronJob's `leadrouter once`): each process's first assertion was stamped with the host's
clock and refused as expired, then signed again on Salesforce's time — two token
requests a run, forever. A run keeps Salesforce's clock offset in the state; the next
process stamps its first assertion with the host's clock plus that offset.

The org runs ten minutes ahead of this host (the sandbox's clock offset) and checks a JWT
assertion's `exp` on its own clock, as Salesforce does; the sandbox counts the token
requests it receives.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.e2e

TEN_MINUTES = timedelta(minutes=10)
TOKEN = "POST services/oauth2/token"


def jwt_config(tmp_path: Path, sb) -> Path:
    from .rules_for_tests import write_rules

    c = sb.connection
    cfg = tmp_path / "leadrouter.toml"
    cfg.write_text(f"""
[salesforce]
login_url = "{c['login_url']}"
ca_bundle = "{c['ca_file']}"
api_version = "62.0"
timeout = 10
[salesforce.auth]
method = "jwt_bearer"
client_id = "{c['client_id']}"
username = "{c['username']}"
private_key_file = "{c['private_key_file']}"
[state]
url = "sqlite:///{tmp_path}/state.sqlite"
[routing]
rules = "{write_rules(tmp_path)}"
[stream]
mode = "poll"
[log]
format = "json"
level = "info"
""")
    return cfg


def once(sb, cfg: Path, host: list[str]) -> tuple[int, list[dict]]:
    """`leadrouter once` as a process of its own, its command line after `host` (a clock set
    back by faketime, or none): (token requests it made, its log lines)."""
    before = sb.counters.count(TOKEN)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([*host, sys.executable, "-m", "jobs.cli", "once", "--init", "--config", str(cfg)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    err = proc.stderr
    assert proc.returncode == 0, err[-3000:]
    return sb.counters.count(TOKEN) - before, [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def logged(lines: list[dict], event: str) -> list[dict]:
    return [line for line in lines if line.get("event") == event]


UNDER_FAKETIME = "faketime" in os.environ.get("LD_PRELOAD", "")
BEHIND = {
    # the org's clock ten minutes ahead of this host's
    "org ahead": (TEN_MINUTES, []),
    # the connector's host clock set ten minutes back (libfaketime), the org's on time
    "host set back": (timedelta(0), ["faketime", "-f", "-10m"]),
}


@pytest.mark.parametrize("org_ahead, host", [
    BEHIND["org ahead"],
    pytest.param(*BEHIND["host set back"], marks=pytest.mark.skipif(
        UNDER_FAKETIME or not shutil.which("faketime"),
        reason="needs the faketime program, and a test process not under libfaketime already")),
], ids=list(BEHIND))
def test_the_second_once_on_a_host_ten_minutes_behind_makes_one_token_request(sandbox_factory, tmp_path,
                                                                              org_ahead, host):
    sb = sandbox_factory(seed="demo", partners=5, leads=5, random_seed=5, clock_offset=org_ahead)
    sb.auth.jwt_exp_clock = sb.clock.now
    cfg = jwt_config(tmp_path, sb)

    first, lines = once(sb, cfg, host)
    assert first == 2, "no offset known yet: the host's clock is refused, Salesforce's goes through"
    assert logged(lines, "jwt_assertion_signed_again_on_salesforce_time")

    second, lines = once(sb, cfg, host)
    assert second == 1, "the offset the first run learnt stamps the first assertion right"
    assert not logged(lines, "jwt_assertion_signed_again_on_salesforce_time")
    ok = logged(lines, "salesforce login ok")
    assert len(ok) == 1 and ok[0]["jwt_clock"] == "learnt_offset", ok
    lag = ok[0]["jwt_offset_seconds"] - TEN_MINUTES.total_seconds()
    if UNDER_FAKETIME:
        # the whole run under `faketime -f @…`: each `once` process's fake clock may start over
        # at that moment (unless FAKETIME_DONT_RESET), behind this process's (and the
        # sandbox's) by the seconds since it began
        assert -5 < lag < 180, ok[0]
    else:
        assert abs(lag) < 5, ok[0]
    said = "\n".join(json.dumps(line) for line in lines)
    assert "eyJ" not in said and "PRIVATE KEY" not in said, "no assertion, no key in a log line"

    (tmp_path / "state.sqlite").unlink()  # the state is a cache: lost, the first login costs two again
    third, _ = once(sb, cfg, host)
    assert third == 2


def client_with(sb, offset: timedelta, learnt_ago: timedelta, lines: list, username: str | None = None):
    """A client as `once` builds one, given the offset an earlier run learnt `learnt_ago`
    (by Salesforce's clock)."""
    from connector import ConnectorConfig, SalesforceClient
    from connector.servertime import LearntOffset

    from .conftest import connector_config_data

    data = connector_config_data(sb, notify="none")
    c = sb.connection
    data["auth"] = {"method": "jwt_bearer", "client_id": c["client_id"], "username": username or c["username"],
                    "private_key_file": c["private_key_file"]}

    class Log:
        def __getattr__(self, level):
            return lambda event, **kw: lines.append({"level": level, "event": event, **kw})

    return SalesforceClient(ConnectorConfig.model_validate(data), logger=Log(),
                            learnt_offset=LearntOffset(offset, sb.clock.now() - learnt_ago))


def test_an_offset_learnt_more_than_a_day_ago_is_not_used(sandbox_factory):
    sb = sandbox_factory(clock_offset=TEN_MINUTES)
    sb.auth.jwt_exp_clock = sb.clock.now
    lines: list = []
    client = client_with(sb, TEN_MINUTES, timedelta(days=1, minutes=5), lines)
    try:
        client._login()
        assert client.token_calls == 2, "the host's clock, then Salesforce's: as with no offset known"
        assert logged(lines, "jwt_learnt_clock_offset_too_old")
        assert logged(lines, "salesforce login ok")[0]["jwt_clock"] == "salesforce"
    finally:
        client.close()


def test_a_login_refused_on_the_learnt_offset_signs_again_on_salesforces_time(sandbox_factory):
    """The host's clock was set right since (NTP started): the offset learnt before now
    stamps the assertion ten minutes off, it is refused, and the refusal's Date tells
    Salesforce's time for one more."""
    sb = sandbox_factory(clock_offset=TEN_MINUTES)
    sb.auth.jwt_exp_clock = sb.clock.now
    lines: list = []
    client = client_with(sb, -TEN_MINUTES, timedelta(hours=1), lines)
    try:
        client._login()
        assert client.token_calls == 2
        refused = logged(lines, "jwt_learnt_clock_offset_refused")
        assert len(refused) == 1 and refused[0]["offset_seconds"] == -600.0, refused
        assert logged(lines, "salesforce login ok")[0]["jwt_clock"] == "salesforce"
        client.login_again()  # Salesforce's clock known now: the offset is not used again
        assert client.token_calls == 3
    finally:
        client.close()


def test_a_login_refused_on_a_right_learnt_offset_for_another_reason_is_said_after_one_request(sandbox_factory):
    from connector import ConfigError

    sb = sandbox_factory(clock_offset=TEN_MINUTES)
    sb.auth.jwt_exp_clock = sb.clock.now
    lines: list = []
    client = client_with(sb, TEN_MINUTES, timedelta(hours=1), lines, username="nobody@example.invalid")
    try:
        with pytest.raises(ConfigError, match="invalid_grant"):
            client._login()
        assert client.token_calls == 1, "stamped on Salesforce's time already: signing again changes nothing"
    finally:
        client.close()


def test_the_offset_is_read_from_the_newest_measure_without_making_or_changing_a_state(tmp_path):
    from datetime import datetime, timezone

    from jobs.state import Store
    from jobs.state import store as st
    from jobs.state.store import learnt_clock_offset

    at = datetime(2031, 3, 2, 10, 0, tzinfo=timezone.utc)
    missing = tmp_path / "none.sqlite"
    assert learnt_clock_offset(f"sqlite:///{missing}") is None and not missing.exists(), "no state made"
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(b"not a database at all" * 100)
    assert learnt_clock_offset(f"sqlite:///{damaged}") is None
    assert learnt_clock_offset(f"sqlite:///{tmp_path}/state.sqlite") is None

    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    try:
        assert learnt_clock_offset(f"sqlite:///{tmp_path}/state.sqlite") is None, "a new state knows no offset"
        with store.begin() as conn:
            st.put_api_budget(conn, "standby", {"clock_skew_seconds": 30.0}, at - timedelta(hours=2))
            st.put_api_budget(conn, "leader", {"clock_skew_seconds": 600.4}, at)
            st.put_api_budget(conn, "ops", {"clock_skew_seconds": None}, at + timedelta(minutes=1))
    finally:
        store.dispose()
    assert learnt_clock_offset(f"sqlite:///{tmp_path}/state.sqlite") == (600.4, at)
