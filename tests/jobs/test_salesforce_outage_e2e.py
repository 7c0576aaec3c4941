"""Salesforce down while `leadrouter run` leads: it is said once, the jobs keep trying
quietly, the return is said once, and what arrived meanwhile is routed.

Before, each job run logged every retry (warning), the give-up (error) and its failure
(error), and the scheduler said twice at every interval that the read was still running:
with the default 60 s poll a dozen lines a minute for as long as the outage lasted."""
from __future__ import annotations

import os
import time

import pytest

from sandbox.seed import add_leads

from .conftest import SECRET_ENV, leadrouter, wait_routed
from .test_crash_e2e import write_config
from .test_service_seams_second_run import Lines

# `leadrouter run` waits out its 1 s job intervals with timed waits, which hang under
# libfaketime (RELIABILITY.md, 'The faketime hang'): the outage it times never ends there
pytestmark = [pytest.mark.e2e, pytest.mark.skipif("faketime" in os.environ.get("LD_PRELOAD", ""),
                                                  reason="`leadrouter run`'s timed waits hang under libfaketime")]


def running(sandbox_factory, tmp_path, monkeypatch):
    """A small org and `leadrouter run` leading it, every job each second, logging at info:
    (org, config, process, its log lines) once it leads."""
    sb = sandbox_factory(seed="demo", partners=5, leads=20, random_seed=3)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg = write_config(tmp_path, sb, stream="poll")
    with cfg.open("a") as f:
        f.write("[schedule]\nleads = 1\noffers = 1\noutbox = 1\n")
    monkeypatch.setenv("LEADROUTER_LOG_LEVEL", "info")
    run = leadrouter(cfg, "run", "--init")
    log = Lines(run)
    return sb, cfg, run, log


def test_an_outage_is_said_once_and_its_end_once_and_nothing_is_lost(sandbox_factory, tmp_path, monkeypatch):
    sb, cfg, run, log = running(sandbox_factory, tmp_path, monkeypatch)
    try:
        log.wait_for("leader")
        while sum(1 for x in log.lines if x.get("event") == "job_run") < 8:  # every job has run once
            time.sleep(0.1)
        seen = len(log.lines)
        sb.faults.plan("503", count=60)  # every request answered 503: ~20 calls given up
        new = add_leads(sb.org, 5, random_seed=7)
        again = log.wait_for("salesforce_available_again", timeout=120)
        during = log.lines[seen:log.lines.index(again)]
        failed_runs = [x for x in during if x.get("event") == "job_run" and not x.get("ok")]
        assert len(failed_runs) >= 5, "the outage lasted several job runs"
        loud = [x["event"] for x in during if x.get("level") in ("warning", "error")]
        assert loud.count("salesforce_unavailable") == 1, loud
        assert len(loud) <= 6, f"{len(loud)} warnings and errors for one outage: {loud}"
        wait_routed(sb, new, time.monotonic() + 60, "the leads that arrived during the outage were not routed")
        assert not any("Traceback" in line for line in log.raw)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()


def _status(cfg) -> tuple[str, dict]:
    import json

    plain = leadrouter(cfg, "status")
    out, err = plain.communicate(timeout=60)
    assert plain.returncode == 0, err
    machine = leadrouter(cfg, "status", "--json")
    data, err = machine.communicate(timeout=60)
    assert machine.returncode == 0, err
    return out, json.loads(data)


def test_status_says_since_when_salesforce_is_unavailable_and_who_holds_the_org_lease(sandbox_factory, tmp_path,
                                                                                       monkeypatch):
    sb, cfg, run, log = running(sandbox_factory, tmp_path, monkeypatch)
    try:
        log.wait_for("leader")
        while sum(1 for x in log.lines if x.get("event") == "job_run") < 8:
            time.sleep(0.1)
        out, data = _status(cfg)
        leader = next(i["instance"] for i in data["instances"] if i["role"] == "leader")
        lease = data["org_lease"]
        assert lease["holder"] == leader and lease["term"] >= 1, lease
        assert "Org lease" in out and f"term {lease['term']}" in out, out
        assert "unavailable" not in out.lower(), out

        sb.faults.plan("503", count=100_000)  # Salesforce down until cleared
        log.wait_for("salesforce_unavailable", timeout=60)
        # the next job run after the give-up writes the outage into the state
        n = sum(1 for x in log.lines if x.get("event") == "job_run")
        while sum(1 for x in log.lines if x.get("event") == "job_run") < n + 2:
            time.sleep(0.1)
        out, data = _status(cfg)
        down = data["salesforce"]
        assert down["unavailable_since"] and down["failed_calls"] >= 1, down
        assert "Salesforce unavailable since" in " ".join(out.split()), out

        sb.faults.clear()
        log.wait_for("salesforce_available_again", timeout=120)
        n = sum(1 for x in log.lines if x.get("event") == "job_run")
        while sum(1 for x in log.lines if x.get("event") == "job_run") < n + 2:
            time.sleep(0.1)
        out, data = _status(cfg)
        assert data["salesforce"]["unavailable_since"] is None, data["salesforce"]
        assert "unavailable since" not in out, out

        run.terminate()  # a clean stop releases the lease: status must not say it is still held
        run.wait(timeout=60)
        out, _ = _status(cfg)
        said = " ".join(out.split())  # the lines are wrapped at 80 columns
        assert "as the last run saw it" in said and "no connector of this state runs now" in said, out
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
