"""The /healthz and /metrics endpoint, scraped over HTTP from a running service.

The figures come from a real connector that routed a seeded sandbox org over HTTPS;
the test compares each scraped figure with the state database read its own way.
"""
from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from jobs.config import ConfigFileError, load
from jobs.leader import lock_for
from jobs.service import Service
from jobs.state.schema import decisions, job_runs, offers


def scrape(url: str, org: str = "default") -> dict[str, dict[tuple, float]]:
    """metric sample name -> {label values: value}; every sample is labelled with the
    org, which is checked and left out of the keys"""
    out: dict[str, dict[tuple, float]] = {}
    body = requests.get(url + "/metrics", timeout=10)
    assert body.status_code == 200
    assert body.headers["Content-Type"].startswith("text/plain; version=")
    for family in text_string_to_metric_families(body.text):
        for s in family.samples:
            labels = dict(s.labels)
            assert labels.pop("org", None) == org, (s.name, s.labels)
            out.setdefault(s.name, {})[tuple(sorted(labels.items()))] = s.value
    return out


def start_service(cx, state_url: str, instance: str, role: str = "leader") -> tuple[Service, threading.Thread]:
    service = Service(store=cx.store, lock=lock_for(state_url), poll_seconds=0.1, make_jobs=lambda stop: [],
                      misfire_grace=30, instance=instance, metrics_bind="127.0.0.1:0", now=cx.clock.now)
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while service.metrics is None or service.role != role:
        assert time.monotonic() < deadline, f"the service did not start its endpoint as {role}"
        time.sleep(0.05)
    return service, thread


def stop_service(service: Service, thread: threading.Thread) -> None:
    service.stop.set()
    thread.join(timeout=20)
    assert not thread.is_alive()


@pytest.mark.e2e
def test_metrics_and_health_report_what_the_state_database_holds(loop, tmp_path):
    loop.cycle()  # partners synced, leads offered
    loop.cycle(hours=30, partners_act=False)  # nobody answered: offers lapse and go to the next partner
    loop.sb.clock.advance(timedelta(hours=2))  # the next offers have waited two hours on the org's clock
    state_url = str(loop.cx.store.engine.url)
    leader, leader_thread = start_service(loop.cx, state_url, "worker-a")
    standby, standby_thread = start_service(loop.cx, state_url, "worker-b", role="standby")
    try:
        assert (leader.role, standby.role) == ("leader", "standby")
        with loop.cx.store.connect() as conn:
            kinds = dict(conn.execute(select(decisions.c.kind, func.count()).group_by(decisions.c.kind)).all())
            statuses = dict(conn.execute(select(offers.c.status, func.count()).group_by(offers.c.status)).all())
            first_live = conn.execute(select(func.min(offers.c.offered_at)).where(offers.c.status == "live")).scalar()
            last_ok = conn.execute(select(func.max(job_runs.c.finished)).where(job_runs.c.error.is_(None))).scalar()
        assert statuses.get("lapsed", 0) > 0 and statuses.get("live", 0) > 0, statuses

        m = scrape(leader.metrics.url)
        assert {dict(k)["kind"]: v for k, v in m["leadrouter_decisions_total"].items()} == kinds
        assert m["leadrouter_live_offers"][()] == statuses["live"]
        assert m["leadrouter_lapses_total"][()] == statuses["lapsed"]
        assert {dict(k)["status"]: v for k, v in m["leadrouter_offers"].items()} == statuses
        age = (loop.sb.clock.now() - first_live).total_seconds()
        assert m["leadrouter_oldest_live_offer_age_seconds"][()] == pytest.approx(age, abs=5)
        assert age >= 2 * 3600, "measured on the org's clock, not the host's"
        assert m["leadrouter_state_db_up"][()] == 1
        assert m["leadrouter_leader"][(("instance", "worker-a"), ("role", "leader"))] == 1
        used = m["leadrouter_api_calls_used"]
        assert len(used) == 1 and next(iter(used.values())) > 0, used
        budget = next(iter(m["leadrouter_api_calls_budget"].values()))
        assert budget >= next(iter(used.values()))
        assert all(v == 0 for v in m["leadrouter_job_last_run_failed"].values())
        assert "leadrouter_job_failures_total" not in m or not any(m["leadrouter_job_failures_total"].values())
        assert set(dict(k)["stream"] for k in m["leadrouter_watermark_lag_seconds"])

        health = requests.get(leader.metrics.url + "/healthz", timeout=10)
        assert health.status_code == 200
        h = health.json()
        assert (h["role"], h["status"], h["state_db"]["ok"]) == ("leader", "ok", True)
        assert datetime.fromisoformat(h["last_successful_cycle"]) == last_ok.astimezone(timezone.utc)

        other = requests.get(standby.metrics.url + "/healthz", timeout=10).json()
        assert (other["role"], other["status"]) == ("standby", "ok")
        assert scrape(standby.metrics.url)["leadrouter_leader"][(("instance", "worker-b"), ("role", "standby"))] == 0
        assert requests.get(leader.metrics.url + "/nope", timeout=10).status_code == 404
    finally:
        stop_service(standby, standby_thread)
        stop_service(leader, leader_thread)
    with pytest.raises(requests.ConnectionError):
        requests.get(leader.metrics.url + "/healthz", timeout=2)


def test_health_says_unavailable_when_the_state_database_does_not_answer(loop):
    state_url = str(loop.cx.store.engine.url)
    service, thread = start_service(loop.cx, state_url, "worker-c")
    try:
        db = loop.cx.store.engine.url.database
        os.replace(db, db + ".moved")  # the volume holding the state database is gone
        os.mkdir(db)
        loop.cx.store.engine.dispose()
        health = requests.get(service.metrics.url + "/healthz", timeout=10)
        assert health.status_code == 503
        assert health.json()["state_db"] == {"ok": False, "error": "OperationalError"}
        assert health.json()["role"] == "leader"
        assert scrape(service.metrics.url)["leadrouter_state_db_up"][()] == 0
    finally:
        stop_service(service, thread)


def test_a_service_that_cannot_reach_its_state_database_stays_up_as_standby_and_says_so(loop):
    state_url = str(loop.cx.store.engine.url)
    db = loop.cx.store.engine.url.database
    os.replace(db, db + ".moved")  # gone before the service ever took the lock
    os.mkdir(db)
    loop.cx.store.engine.dispose()
    service, thread = start_service(loop.cx, state_url, "worker-d", role="standby")
    try:
        time.sleep(0.5)  # several rounds of trying to take the lock
        assert thread.is_alive() and service.role == "standby"
        health = requests.get(service.metrics.url + "/healthz", timeout=10)
        assert health.status_code == 503
        assert health.json()["state_db"]["ok"] is False
        os.rmdir(db)
        os.replace(db + ".moved", db)  # the volume is back: the standby takes over
        deadline = time.monotonic() + 20
        while service.role != "leader":
            assert time.monotonic() < deadline, "the service did not take the lock once the database was back"
            time.sleep(0.05)
    finally:
        stop_service(service, thread)


def test_metrics_are_off_unless_a_bind_address_is_configured(tmp_path):
    assert load(None, env={}).settings.metrics.bind is None
    (tmp_path / "on.toml").write_text('[metrics]\nbind = "0.0.0.0:9464"\n')
    assert load(tmp_path / "on.toml", env={}).settings.metrics.bind == "0.0.0.0:9464"
    assert load(None, env={"LEADROUTER_METRICS_BIND": "127.0.0.1:9100"}).settings.metrics.bind == "127.0.0.1:9100"
    (tmp_path / "bad.toml").write_text('[metrics]\nbind = "9464"\n')
    with pytest.raises(ConfigFileError) as e:
        load(tmp_path / "bad.toml", env={})
    assert "bind" in str(e.value) and "host:port" in str(e.value) and "bad.toml" in str(e.value)
