"""A state that fell behind the org: two connectors with their own state files run the org
by turns (the org lease lets one at a time), or a day-old backup is put back. The leads the
other state moved on since — re-offered after a reject, accepted, escalated, reminded —
are the org's truth, written by our own integration user: the stale state takes them in
from the org (it rebuilds, as after a lost state) rather than reading them as a person's
takeover and releasing them, or reminding their reps a second time."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from sandbox.simulator import Profile

from .conftest import SECRET_ENV, leadrouter
from .test_org_lease_e2e import two_configs

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
ANSWERS = Profile("answers", accept=0.4, reject=0.4, delay_hours=(0.1, 0.2))


def once(cfg, *extra):
    proc = leadrouter(cfg, "once", *extra)
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-3000:]
    return out + err


def leads(sb) -> dict[str, tuple]:
    return {r["Id"]: (r.get("Routing_Status__c"), r.get("PartnerAccountId"), r.get("OwnerId"),
                      r.get("Routing_Attempt__c"), r.get("Offer_Deadline__c")) for r in sb.org.records("Lead")}


def sent(sb) -> Counter:
    return Counter((n.inputs.get("targetId"), n.inputs.get("title"))
                   for n in sb.notifications.all("customNotificationAction"))


def test_a_state_that_fell_behind_the_org_takes_the_org_in_and_changes_nothing_a_person_sees(
        sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(seed="demo", partners=40, leads=60, random_seed=3)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg_a, cfg_b = two_configs(tmp_path, sb)
    sb.simulator.set_profile("*", NEVER_ANSWER)
    once(cfg_a, "--init")
    sb.clock.advance(timedelta(seconds=2))
    once(cfg_b, "--init")  # B's state is new: rebuilt from the org, then B stops
    # A runs the org for most of a day: reps answer, leads move on, reminders go out
    sb.clock.advance(timedelta(hours=1))
    sb.simulator.set_profile("*", ANSWERS)
    sb.simulator.step(sb.clock.now())
    sb.clock.advance(timedelta(seconds=2))
    once(cfg_a)
    sb.simulator.set_profile("*", NEVER_ANSWER)
    sb.clock.advance(timedelta(hours=21))
    once(cfg_a)
    before, told = leads(sb), sent(sb)
    assert any(k[1].startswith(("Lead offer expires", "Angebot", "A oferta")) for k in told), "reminders went out"

    sb.clock.advance(timedelta(seconds=2))
    said = once(cfg_b)  # B's turn, on its day-old state
    assert "state_behind_org" in said
    after = leads(sb)
    moved = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert not moved, f"{len(moved)} leads changed by the stale state: {list(moved.items())[:4]}"
    assert sent(sb) == told, "no rep alerted or reminded again"


def test_a_day_old_backup_put_back_takes_the_org_in_and_changes_nothing_a_person_sees(
        sandbox_factory, tmp_path, monkeypatch):
    import shutil

    sb = sandbox_factory(seed="demo", partners=40, leads=60, random_seed=3)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg, _ = two_configs(tmp_path, sb)
    db = cfg.parent / "state.sqlite"
    sb.simulator.set_profile("*", NEVER_ANSWER)
    once(cfg, "--init")
    shutil.copy(db, tmp_path / "backup.sqlite")  # last night's backup (leadrouter stopped: no WAL)
    sb.clock.advance(timedelta(hours=1))
    sb.simulator.set_profile("*", ANSWERS)
    sb.simulator.step(sb.clock.now())
    sb.clock.advance(timedelta(seconds=2))
    once(cfg)
    sb.simulator.set_profile("*", NEVER_ANSWER)
    sb.clock.advance(timedelta(hours=21))
    once(cfg)
    before, told = leads(sb), sent(sb)

    for suffix in ("-wal", "-shm"):
        (cfg.parent / f"state.sqlite{suffix}").unlink(missing_ok=True)
    shutil.copy(tmp_path / "backup.sqlite", db)  # the disk failed: the backup is put back
    sb.clock.advance(timedelta(seconds=2))
    said = once(cfg)
    assert "state_behind_org" in said and "state_rebuilt" in said
    after = leads(sb)
    moved = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert not moved, f"{len(moved)} leads changed by the restored state: {list(moved.items())[:4]}"
    assert sent(sb) == told, "no rep alerted or reminded again"


def test_a_bulk_job_of_this_state_landing_after_its_run_is_not_read_as_another_state(org, make_loop, tmp_path):
    """A Bulk API job lands its writes when Salesforce processes it, possibly after the run
    that sent it ended: while this state has one unsettled (or settled since its last run),
    routing statuses our user wrote since are this state's own, not a sign it fell behind."""
    from datetime import datetime, timezone

    import structlog

    from jobs.state.schema import bulk_jobs

    org.simulator.set_profile("*", NEVER_ANSWER)
    mine = make_loop(org, name="mine")
    mine.cycle()
    mine.cx.store.dispose()
    other = make_loop(org, name="other")  # writes statuses after `mine` last ran
    other.cycle(hours=25)
    other.cx.store.dispose()

    def behind(with_bulk: bool) -> bool:
        import shutil

        name = f"mine-{with_bulk}"
        shutil.copy(tmp_path / "mine.sqlite", tmp_path / f"{name}.sqlite")
        again = make_loop(org, name=name)
        if with_bulk:
            with again.cx.store.begin() as conn:
                at = datetime(2020, 1, 1, tzinfo=timezone.utc)
                conn.execute(bulk_jobs.insert().values(upload="u", job_id="750x", sobject="Lead", state="running",
                                                       entries=[], created_at=at, updated_at=at))
        with structlog.testing.capture_logs() as logs:
            again.cycle(partners_act=False)
        again.cx.store.dispose()
        return any(e["event"] == "state_behind_org" for e in logs)

    assert behind(with_bulk=False), "the other state's writes are seen"
    assert not behind(with_bulk=True)
