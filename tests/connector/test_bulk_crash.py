"""SIGKILL in the middle of a Bulk ingest job: a new process resumes it from the job id
the dead one persisted, and every lead ends up written exactly once."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from connector.bulk import BulkClient

ROOT = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent(
    """
    import json, os, sys
    sys.path.insert(0, {root!r})
    from connector import ConnectorConfig, SalesforceClient
    from connector.bulk import BulkClient

    settings = json.loads(open(sys.argv[1]).read())
    client = SalesforceClient.connect(ConnectorConfig.model_validate(settings["config"]))

    def persist(job_id):  # what the outbox does: the id is on disk before any row is sent
        with open(settings["job_file"], "w") as f:
            f.write(job_id)
            f.flush()
            os.fsync(f.fileno())

    BulkClient(client, threshold=5, poll_interval=0).update(
        "Lead", [{{"Id": i, "Rating": "Hot"}} for i in settings["ids"]], on_job=persist)
    print("finished", flush=True)
    """
)


def run_writer_and_kill(tmp_path: Path, org, lead_ids: list[str], slow_endpoint: str) -> str:
    conn = org.connection
    job_file = tmp_path / "job.txt"
    settings = {
        "job_file": str(job_file),
        "ids": lead_ids,
        "config": {"login_url": conn["login_url"], "ca_bundle": conn["ca_file"], "api_version": "62.0", "timeout": 30,
                   "auth": {"method": "jwt_bearer", "client_id": conn["client_id"], "username": conn["username"],
                            "private_key_file": conn["private_key_file"]}},
    }  # fmt: skip
    (tmp_path / "settings.json").write_text(json.dumps(settings))
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(root=str(ROOT)))
    org.faults.plan("latency", endpoint=slow_endpoint, latency_ms=1500)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "settings.json")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not job_file.exists() or not job_file.read_text():
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the writer never persisted a job id"
            time.sleep(0.02)
        time.sleep(0.5)  # the slow request is in flight
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    return job_file.read_text()


def add_leads(org, n: int) -> list[str]:
    return [org.create("Lead", {"LastName": f"Lead {i:03d}", "Company": "Acme"}) for i in range(n)]


@pytest.mark.parametrize(("killed_during", "found"), [
    ("PUT jobs/ingest", "Aborted"),  # died uploading: the job was never closed, so it is aborted
    ("PATCH jobs/ingest", "JobComplete"),  # died closing: the org ran the job, its results are read
])  # fmt: skip
def test_killed_writer_is_resumed_and_no_lead_is_written_twice(tmp_path, org, client, killed_during, found):
    lead_ids = add_leads(org.org, 12)
    org.counters.reset()
    job_id = run_writer_and_kill(tmp_path, org, lead_ids, killed_during)
    time.sleep(1.2)  # whatever the org was doing when the writer died, it finishes
    bulk = BulkClient(client, threshold=5, poll_interval=0)
    outcome = bulk.resume(job_id)
    assert outcome.state == found
    assert outcome.ok_ids == (set(lead_ids) if found == "JobComplete" else set())
    resend = [i for i in lead_ids if i not in outcome.ok_ids]
    if resend:
        assert all(r.ok for r in bulk.update("Lead", [{"Id": i, "Rating": "Hot"} for i in resend]))
    assert org.counters.snapshot()["records_written"] == len(lead_ids)  # each lead once, none lost
    assert all(org.org.get("Lead", i)["Rating"] == "Hot" for i in lead_ids)
