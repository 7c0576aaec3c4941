"""The state's disk full mid-run: the job says so with the file and the fix (not a
SQLAlchemy traceback, not "restore it from a backup"), nothing reaches the org for the
decisions that could not be stored, and the work is done once there is room again.
SQLite's max_page_count stands in for a full filesystem: SQLite answers exactly as it does
for ENOSPC (SQLITE_FULL, "database or disk is full")."""
from __future__ import annotations

import pytest
import structlog
from sqlalchemy import event

from sandbox.seed import add_leads

pytestmark = [pytest.mark.e2e]


def test_a_full_disk_is_said_with_the_file_and_the_fix_and_nothing_reaches_the_org(org, make_loop, tmp_path):
    loop = make_loop(org)
    loop.cycle(partners_act=False)
    engine = loop.cx.store.engine
    full = {"on": True}

    @event.listens_for(engine, "connect")
    def _cap(dbapi_conn, _record):  # noqa: ANN001
        if full["on"]:
            pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
            dbapi_conn.execute(f"PRAGMA max_page_count = {pages + 1}")

    engine.dispose()  # every connection from now on meets the cap
    new = add_leads(org.org, 150, random_seed=9)
    with structlog.testing.capture_logs() as logs:
        results = loop.cycle(partners_act=False, raise_errors=False)
    assert "is full" in (results["leads"].error or ""), results["leads"].error
    failed = [e for e in logs if e["event"] == "job_failed" and e.get("job", "leads") == "leads"
              and "is full" in e["error"]]
    assert failed, [e for e in logs if e["event"] == "job_failed"]
    said = failed[0]["error"]
    assert str(tmp_path / "state.sqlite") in said and "fix: free space" in said and "backup" not in said, said
    assert not failed[0].get("exc_info"), "no traceback for a full disk"
    assert all(org.org.get("Lead", i).get("Routing_Status__c") in (None, "") for i in new), \
        "a decision that could not be stored was written to the org"

    full["on"] = False
    engine.dispose()
    loop.cycle(partners_act=False)
    assert all(org.org.get("Lead", i).get("Routing_Status__c") not in (None, "") for i in new)
