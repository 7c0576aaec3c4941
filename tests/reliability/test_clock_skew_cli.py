"""`leadrouter once` on a host whose clock is wrong by minutes or hours loses no lead.

The org runs `skew` away from this host (the sandbox's clock offset, from its first
record on); the connector, a subprocess, has only the host's clock and the `Date`
header of Salesforce's answers. Ten minutes fast once lost 50 of 50 new leads.
"""
from __future__ import annotations

import json
import os
import time
from datetime import timedelta

import pytest

from ..jobs.conftest import SECRET_ENV, leadrouter
from ..jobs.test_crash_e2e import write_config

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]


@pytest.mark.parametrize("skew", [timedelta(minutes=-15), timedelta(minutes=15), timedelta(hours=-2),
                                  timedelta(hours=2)], ids=["host 15 min fast", "host 15 min slow",
                                                            "host 2 h fast", "host 2 h slow"])
def test_every_lead_is_read_whatever_the_hosts_clock_says(sandbox_factory, tmp_path, monkeypatch, skew):
    sb = sandbox_factory(seed="demo", partners=30, leads=50, random_seed=4, clock_offset=skew)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    os.environ[SECRET_ENV] = sb.connection["client_secret"]
    cfg = write_config(tmp_path, sb)
    time.sleep(1.1)
    proc = leadrouter(cfg, "once", "--init")
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-2000:]
    assert [r["Id"] for r in sb.org.records("Lead") if r.get("Routing_Status__c") is None] == []
    # 50 more leads, created now in the org's time, are all read by the next run
    some = next(r for r in sb.org.records("Lead") if r.get("Country"))
    new = [sb.org.create("Lead", {"LastName": f"New {i}", "Company": f"New {i} Ltd", "Country": some["Country"],
                                  "State": some.get("State"), "City": some.get("City")}) for i in range(50)]
    time.sleep(1.1)
    proc = leadrouter(cfg, "once")
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-2000:]
    lost = [i for i in new if sb.org.get("Lead", i).get("Routing_Status__c") is None]
    assert lost == [], f"{len(lost)} of 50 new leads never read"
    skews = [json.loads(line).get("seconds") for line in (out + err).splitlines()
             if line.startswith("{") and '"clock_skew"' in line]
    assert skews and abs(skews[0] - skew.total_seconds()) < 5, "the skew is measured and warned about"
