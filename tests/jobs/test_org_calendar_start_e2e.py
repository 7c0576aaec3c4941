"""A rule file whose calendar is not the org's is said at the start of a run, not only by
`validate`: the day a daily cap counts, `today`, "this quarter" and the working hours of
partners without a Time_Zone__c turn at another hour than the org's."""
from __future__ import annotations

import json

import pytest

from .conftest import SECRET_ENV, leadrouter
from .test_crash_e2e import write_config

pytestmark = pytest.mark.e2e


def test_once_warns_when_the_rule_files_time_zone_is_not_the_orgs(sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(seed="demo", partners=5, leads=5, random_seed=3)
    sb.org.update("Organization", sb.org.organization_id, {"TimeZoneSidKey": "America/Los_Angeles"}, system=True)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg = write_config(tmp_path, sb)
    proc = leadrouter(cfg, "once", "--init")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    said = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    [warning] = [x for x in said if x.get("event") == "calendar_warning"]
    assert warning["level"] == "warning" and "America/Los_Angeles" in warning["problem"]
    assert "daily cap" in warning["problem"] and "working hours" in warning["problem"]
    assert warning["fix"] == 'set time_zone = "America/Los_Angeles" under [settings]'


def test_an_org_that_will_not_show_its_fiscal_periods_is_said_at_info_not_warned_at_every_start(
        sandbox_factory, tmp_path, monkeypatch):
    """An integration user Salesforce does not let read Period (most orgs keep standard
    years): the start says so once, at info, with the fix for an org on custom years."""
    sb = sandbox_factory(seed="demo", partners=5, leads=5, random_seed=3)
    sb.org.without_object("Period")
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg = write_config(tmp_path, sb)
    proc = leadrouter(cfg, "once", "--init")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    said = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    periods = [x for x in said if x.get("event") == "calendar_warning" and x.get("key") == "Period"]
    assert [x["level"] for x in periods] == ["info"] or periods == [], periods
    assert not [x for x in said if x.get("level") == "warning" and "fiscal periods" in str(x.get("problem"))]
