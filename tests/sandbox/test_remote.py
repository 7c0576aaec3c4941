"""RemoteSandbox drives a sandbox through /__sandbox/ as a benchmark in another process would."""
from __future__ import annotations

from datetime import timedelta

import pytest

from sandbox.remote import RemoteSandbox
from tests.sandbox.raw import Raw


@pytest.fixture
def remote(sandbox):
    r = RemoteSandbox.from_connection(sandbox.data_dir)
    yield r
    r.close()


def test_remote_reads_counters_and_the_request_log(sandbox, remote):
    raw = Raw(sandbox)
    try:
        raw.get("limits")
    finally:
        raw.close()
    assert remote.counters()["endpoints"]["GET limits"] == 1
    assert [r["endpoint"] for r in remote.requests()] == ["GET limits"]
    remote.reset_counters()
    assert remote.counters()["requests"] == 0


def test_remote_moves_the_clock_and_plans_faults(sandbox, remote):
    before = remote.now()
    assert remote.advance(hours=3) - before >= timedelta(hours=3)
    remote.set_faults(plan=[{"kind": "500", "count": 1}])
    raw = Raw(sandbox)
    try:
        assert raw.get("limits").status_code == 500
    finally:
        raw.close()
    remote.set_limit(maximum=10, used=10)
    assert sandbox.limit.remaining() == 0
    with pytest.raises(RuntimeError, match="answered 400: .*unknown fault profile 'lumpy'"):
        remote.set_faults(profile="lumpy")
