"""SIGKILL during a Bulk API 2.0 ingest job, then a restart: the job is picked up by the id
the state recorded before its upload, no lead is written twice and none is lost.

`leadrouter once` runs in a subprocess against a sandbox org served from this test
process, so the org (and the job it is running) outlives the kill. The first run over
the threshold reads through a query job and writes through an ingest job; the org is
slowed at one step of that job and the connector killed there:
- while uploading: the job was never closed, so on restart it is aborted and its rows
  (none written) go out again;
- once closed, while the connector waits for it: the org writes the rows anyway; on
  restart the job's results confirm them and nothing is sent again;
- while reading its results: as above, from the job's own result files.
Checked through the org: every lead shows its decision, the org wrote each lead once
(its write counter and the LeadHistory of our status field), and the state agrees.
"""
from __future__ import annotations

import signal
import time
from collections import Counter

import pytest
from sqlalchemy import select

from jobs.bulk_writeback import bulk_jobs
from jobs.state import Store
from jobs.state import offers as of
from jobs.state import outbox as ob
from jobs.state.schema import decisions
from tests.jobs.conftest import SECRET_ENV, leadrouter
from tests.jobs.test_crash_e2e import write_config

pytestmark = [pytest.mark.reliability, pytest.mark.e2e, pytest.mark.xdist_group("reliability")]

LEADS = 900
THRESHOLD = 200


def bulk_config(tmp_path, sb):
    cfg = write_config(tmp_path, sb)
    cfg.write_text(cfg.read_text().replace("[salesforce]\n", f"[salesforce]\nbulk_threshold = {THRESHOLD}\n", 1))
    return cfg


def served(endpoint: str):
    return lambda sb: sb.counters.count(endpoint) >= 1


def ingest_job_done(sb) -> bool:
    """The org answered a state read with JobComplete: the results are asked for next."""
    return any(job.state == "JobComplete" for job in sb.bulk.all("ingest"))


@pytest.mark.parametrize(("slowed", "kill_when", "job_ends"), [
    ("PUT jobs/ingest", served("POST jobs/ingest"), "Aborted"),  # uploading: never closed
    ("GET jobs/ingest/{id}", served("PATCH jobs/ingest/{id}"), "JobComplete"),  # closed: the org is writing
    ("GET jobs/ingest/{id}/successfulResults", ingest_job_done, "JobComplete"),  # reading its results
], ids=["uploading", "running", "reading-results"])
def test_sigkill_during_a_bulk_ingest_job_then_restart_writes_every_lead_exactly_once(
        sandbox_factory, tmp_path, monkeypatch, slowed, kill_when, job_ends):
    sb = sandbox_factory(seed="demo", partners=40, leads=LEADS, random_seed=12)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg = bulk_config(tmp_path, sb)
    time.sleep(1.1)  # SOQL datetimes are whole seconds: the seed falls before the run's start
    # a wide window: the org (in this process) works on the job meanwhile and may starve this thread
    sb.faults.plan("latency", endpoint=slowed, latency_ms=6000)
    sb.counters.reset()

    victim = leadrouter(cfg, "once")
    deadline = time.monotonic() + 90
    while not kill_when(sb):
        assert victim.poll() is None, f"finished before the kill: {victim.communicate()[1][-2000:]}"
        assert time.monotonic() < deadline, "the ingest job never got there"
        time.sleep(0.01)
    time.sleep(0.4)  # the slowed request is in flight
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=10)
    assert victim.returncode == -signal.SIGKILL

    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    with store.connect() as conn:
        left = [dict(r) for r in conn.execute(select(bulk_jobs)).mappings()]
        before = ob.status_counts(conn)
    store.dispose()
    assert left and {r["state"] for r in left} == {"running"} and all(r["job_id"] for r in left), \
        "the kill landed inside the ingest job, its id already in the state"
    assert before.get("sent") == LEADS and not before.get("confirmed"), before
    job_id = left[0]["job_id"]

    sb.faults.clear()
    again = leadrouter(cfg, "once")
    _, err = again.communicate(timeout=180)
    assert again.returncode == 0, err[-3000:]

    assert sb.bulk.get(job_id, "ingest").state == job_ends
    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    with store.connect() as conn:
        jobs = {r["job_id"]: r for r in conn.execute(select(bulk_jobs)).mappings()}
        outbox = ob.status_counts(conn)
        decided = Counter(r.lead_id for r in conn.execute(select(decisions.c.lead_id)))
        live = of.live_offers(conn, list(decided))
    store.dispose()
    assert jobs[job_id]["state"] == "settled", jobs[job_id]
    assert set(outbox) == {"confirmed"}, f"nothing left pending or unsure: {outbox}"

    org_leads = {r["Id"]: r for r in sb.org.records("Lead")}
    # none lost: every lead decided once, and the org shows that decision
    assert set(decided) == set(org_leads) and set(decided.values()) == {1}
    for lead_id, rec in org_leads.items():
        assert rec["Routing_Status__c"] in ("Offered", "Escalated", "Unroutable"), (lead_id, rec["Routing_Status__c"])
        if lead_id in live:
            assert rec["OwnerId"] == live[lead_id]["owner_id"], lead_id
    # none written twice: the org counted one row write per lead, and our status field
    # changed once per lead by the integration user
    # the org lease's own records (connector/lease.py) are not leads: each term inserted,
    # renewed Beat__c times, released at a clean end, deleted by the next holder
    terms = list(sb.org.records("LeadRouter_Lease__c", include_deleted=True))
    lease_writes = sum(1 + int(t["Beat__c"] or 0) + t["Released__c"] + t["IsDeleted"] for t in terms)
    assert sb.counters.snapshot()["records_written"] - lease_writes == LEADS, terms
    ours = Counter(h["LeadId"] for h in sb.org.records("LeadHistory")
                   if h["Field"] == "Routing_Status__c" and h["CreatedById"] == sb.org.integration_user_id)
    assert set(ours.values()) == {1} and len(ours) == LEADS
