"""The SQLite state file deleted or replaced while `leadrouter run` leads.

SQLite goes on writing to the file it has open: before, the service went on routing,
every offer written into a deleted file (or one a restored backup had replaced) that no
later run reads, while the org was written as usual. Now the leader's lock checks the
database file with the lock file (before each job, each write batch, each poll): the
service stops, says what happened and the fix, exit 4, and nothing more reaches the org.
"""
from __future__ import annotations

import shutil
import time

import pytest

from sandbox.seed import add_leads

from .conftest import SECRET_ENV, leadrouter
from .test_crash_e2e import write_config
from .test_service_seams_second_run import Lines

pytestmark = [pytest.mark.e2e]


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_state_file_deleted_or_replaced_under_a_running_leader_stops_it_before_the_org_is_written(
        sandbox_factory, tmp_path, monkeypatch, how):
    sb = sandbox_factory(seed="demo", partners=5, leads=20, random_seed=3)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg = write_config(tmp_path, sb, stream="poll")
    with cfg.open("a") as f:
        f.write("[schedule]\nleads = 1\n")
    monkeypatch.setenv("LEADROUTER_LOG_LEVEL", "info")
    db = tmp_path / "state.sqlite"
    run = leadrouter(cfg, "run", "--init")
    log = Lines(run)
    try:
        log.wait_for("leader")
        log.wait_for("job_run")
        if how == "deleted":
            db.unlink()
        else:  # a backup copied over it, as `cp backup.sqlite state.sqlite` or a restore tool does
            shutil.copy(db, tmp_path / "backup.sqlite")
            (tmp_path / "backup.sqlite").replace(db)
        new = add_leads(sb.org, 5, random_seed=7)
        assert run.wait(timeout=60) == 4, "".join(log.raw)[-3000:]
        gone = log.wait_for("state_database_gone")
        assert str(db) in gone["problem"] and how in gone["problem"] and "fix: restart" in gone["problem"], gone
        assert log.wait_for("stopped")["exit_code"] == 4
        assert not any("Traceback" in line for line in log.raw)
        time.sleep(1)
        untouched = [sb.org.get("Lead", i).get("Routing_Status__c") for i in new]
        assert untouched == [None] * len(new), "a lead arriving after the state went was routed into nothing"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
