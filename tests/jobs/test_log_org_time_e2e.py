"""Log lines of a connector on an org whose clock is two hours off the host's carry the
org's time (`org_time`, Salesforce's Date header) beside the host's `timestamp`, so an
admin can match a line to the Lead's SystemModstamp. The org's clock is set; never today."""
from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from jobs.logging import configure

from .conftest import Loop, build_connector
from .rules_for_tests import write_rules

pytestmark = pytest.mark.e2e


def test_log_lines_carry_the_orgs_time_from_its_date_header(sandbox_factory, tmp_path):
    sb = sandbox_factory(seed="demo", partners=10, leads=10, random_seed=5, clock_offset=timedelta(hours=2))
    out = io.StringIO()
    configure("json", "info", stream=out)
    loop = Loop(sb, build_connector(sb, f"sqlite:///{tmp_path}/state.sqlite", server_time=True,
                                    rules=write_rules(tmp_path)))
    try:
        loop.cycle()
        org_now = sb.clock.now()
        events = [json.loads(x) for x in out.getvalue().splitlines() if x.strip()]
        assert events
        for event in events:
            org = datetime.fromisoformat(event["org_time"].replace("Z", "+00:00"))
            host = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
            assert timedelta(0) <= org_now - org < timedelta(minutes=2), event
            assert abs(org - host - timedelta(hours=2)) < timedelta(seconds=30), event
            assert org.tzinfo == timezone.utc
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()
