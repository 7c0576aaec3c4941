"""The connected app's secret rotated in the org while `leadrouter run` leads, and only
later in the secret file: the refused login is said once, not at every job run, and the
service picks the new secret up from the file (read at each login) and routes what
arrived meanwhile. Before, each run of each job logged its own job_failed error: with a
one-second poll, a line a second for as long as the file was stale."""
from __future__ import annotations

import os
import time

import pytest

from sandbox.seed import add_leads

from .conftest import leadrouter, wait_routed
from .test_crash_e2e import write_config
from .test_service_seams_second_run import Lines

# `leadrouter run` waits out its 1 s job intervals with timed waits, which hang under
# libfaketime (RELIABILITY.md, 'The faketime hang'): the outage it times never ends there
pytestmark = [pytest.mark.e2e, pytest.mark.skipif("faketime" in os.environ.get("LD_PRELOAD", ""),
                                                  reason="`leadrouter run`'s timed waits hang under libfaketime")]


def test_a_secret_rotated_in_the_org_is_said_once_and_the_new_one_taken_from_the_file(
        sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(seed="demo", partners=5, leads=20, random_seed=3)
    secret = tmp_path / "client_secret"
    secret.write_text(sb.connection["client_secret"])
    cfg = write_config(tmp_path, sb, stream="poll")
    cfg.write_text(cfg.read_text().replace('client_secret_env = "LR_TEST_JOBS_SECRET"',
                                           f'client_secret_file = "{secret}"')
                   + "[schedule]\nleads = 1\noffers = 1\noutbox = 1\n")
    monkeypatch.setenv("LEADROUTER_LOG_LEVEL", "info")
    run = leadrouter(cfg, "run", "--init")
    log = Lines(run)
    try:
        log.wait_for("leader")
        while sum(1 for x in log.lines if x.get("event") == "job_run") < 8:
            time.sleep(0.1)
        seen = len(log.lines)
        sb.auth.creds.client_secret = "rotated-in-the-org"
        sb.auth.expire()  # every session ends: the next call logs in with the file's (old) secret
        new = add_leads(sb.org, 3, random_seed=7)
        deadline = time.monotonic() + 60
        while sum(1 for x in log.lines[seen:] if x.get("event") == "job_run" and not x.get("ok")) < 8:
            assert time.monotonic() < deadline, "".join(log.raw)[-3000:]
            time.sleep(0.1)
        refused = [x for x in log.lines[seen:] if x.get("event") == "job_failed"]
        loud = [x for x in refused if x.get("level") == "error"]
        assert len(refused) >= 8 and len(loud) == 1, [(x["level"], x["error"][:80]) for x in refused]
        assert "invalid_client" in loud[0]["error"] and "fix:" in loud[0]["error"], loud[0]
        secret.write_text("rotated-in-the-org")  # the operator updates the secret file
        wait_routed(sb, new, deadline + 30, "the leads that arrived meanwhile were not routed")
        assert not any("Traceback" in line for line in log.raw)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
