"""A lost or damaged state database costs no lead.

`leadrouter once` runs as a subprocess (Salesforce's time from the org's Date header),
the org is served from this test process, partner reps answer through the simulator.
Between runs the state file is deleted, truncated or damaged, as a new user did.
"""
from __future__ import annotations

import os
import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest

from jobs.state import Store
from jobs.state import offers as of
from sandbox.simulator import Profile

from ..jobs.conftest import SECRET_ENV, leadrouter
from ..jobs.test_crash_e2e import write_config

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
ANSWERS = Profile("answers", accept=0.5, reject=0.5, delay_hours=(0.1, 0.2))


def once(cfg: Path, *extra: str) -> tuple[int, str, str]:
    proc = leadrouter(cfg, "once", *extra)
    out, err = proc.communicate(timeout=240)
    return proc.returncode, out, err


def routed_org(sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(seed="demo", partners=40, leads=300, random_seed=11)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    os.environ[SECRET_ENV] = sb.connection["client_secret"]
    cfg = write_config(tmp_path, sb)
    sb.simulator.set_profile("*", NEVER_ANSWER)
    time.sleep(1.1)
    code, _, err = once(cfg, "--init")
    assert code == 0, err[-3000:]
    return sb, cfg, tmp_path / "state.sqlite"


def live_offers(db: Path) -> dict[str, dict]:
    store = Store(f"sqlite:///{db}")
    try:
        with store.connect() as conn:
            from jobs.state.schema import offers

            ids = [r.lead_id for r in conn.execute(offers.select().where(offers.c.status == "live"))]
            return of.live_offers(conn, ids)
    finally:
        store.dispose()


def test_a_deleted_state_is_rebuilt_from_the_org_and_answers_given_meanwhile_are_acted_on(
        sandbox_factory, tmp_path, monkeypatch):
    sb, cfg, db = routed_org(sandbox_factory, tmp_path, monkeypatch)
    before = live_offers(db)
    assert len(before) >= 20
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    # while the state is gone, reps answer: accepts, rejects, pool pick-ups
    sb.clock.advance(timedelta(hours=1))
    sb.simulator.set_profile("*", ANSWERS)
    sb.simulator.step(sb.clock.now())
    answered = {r["Id"]: dict(r) for r in sb.org.records("Lead")
                if r["Id"] in before and (r.get("Partner_Response__c") or r["OwnerId"] != before[r["Id"]]["owner_id"])}
    assert answered, "the simulator answered some offers"
    sb.clock.advance(timedelta(seconds=2))
    code, out, err = once(cfg)
    assert code == 0, err[-3000:]
    assert "Traceback" not in err
    assert "state_rebuilt" in out + err, "the rebuild is said, with its counts"
    after = live_offers(db)
    for lead_id, offer in before.items():
        lead = sb.org.get("Lead", lead_id)
        if lead_id in answered:
            continue
        assert lead_id in after, f"the live offer of {lead_id} was not abandoned"
        assert after[lead_id]["partner_id"] == offer["partner_id"] and after[lead_id]["owner_id"] == offer["owner_id"]
        assert after[lead_id]["deadline"] is not None
    acted = 0
    for lead_id, rec in answered.items():
        lead = sb.org.get("Lead", lead_id)
        if rec.get("Partner_Response__c") == "Accepted" or (before[lead_id]["kind"] == "pool"):
            parent = (sb.org.get("Account", lead["PartnerAccountId"]) or {}).get("ParentId") \
                if lead.get("PartnerAccountId") else None
            handed_down = lead["Routing_Status__c"] == "Offered" and parent == before[lead_id]["partner_id"]
            assert lead["Routing_Status__c"] == "Accepted" or handed_down, f"{lead_id}: the acceptance was taken in"
            acted += 1
        elif rec.get("Partner_Response__c") == "Rejected":
            assert lead["PartnerAccountId"] != before[lead_id]["partner_id"], f"{lead_id}: moved on after the reject"
            assert lead["Routing_Status__c"] in ("Offered", "Escalated")
            acted += 1
    others = {k: (r.get("Partner_Response__c"), before[k]["kind"], r["OwnerId"], before[k]["owner_id"],
                  sb.org.get("Lead", k)["Routing_Status__c"]) for k, r in answered.items()}
    assert acted == len(answered), list(others.values())[:8]


def test_a_damaged_state_stops_everything_with_one_message_and_status_says_so(
        sandbox_factory, tmp_path, monkeypatch):
    sb, cfg, db = routed_org(sandbox_factory, tmp_path, monkeypatch)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = db.stat().st_size
    with open(db, "r+b") as f:  # scribble over the middle of the file (pages of tables and indexes)
        f.seek(size // 3)
        f.write(os.urandom(size // 3))
    code, out, err = once(cfg)
    assert code == 4, (code, err[-2000:])
    assert "Traceback" not in err and "state rebuild" in err
    assert "job_run" not in out, "no job ran on a damaged state"
    status = leadrouter(cfg.parent / cfg.name, "status")
    s_out, s_err = status.communicate(timeout=60)
    assert status.returncode != 0 and "Traceback" not in s_err, s_err[-3000:]


def test_a_file_that_is_not_a_database_gets_a_message_not_a_traceback(sandbox_factory, tmp_path, monkeypatch):
    sb, cfg, db = routed_org(sandbox_factory, tmp_path, monkeypatch)
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(b"this is not SQLite" + os.urandom(4096))
    code, out, err = once(cfg)
    assert code == 4 and "Traceback" not in err and "cannot be used" in err, err[-2000:]
