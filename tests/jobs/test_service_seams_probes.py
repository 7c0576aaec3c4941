"""/livez and /healthz of the real service loop (jobs/service.py), in-process: /livez
says 503 when the main loop stops ticking (never for a long job), and a new leader is
not ready until its outbox settle and every job's first run are done.

Time for /livez is an injected monotonic clock: the test moves it, the loop stamps it."""
from __future__ import annotations

import threading
import time

import requests

from jobs.app import JobResult
from jobs.leader import lock_for
from jobs.scheduler import JobSpec
from jobs.service import Service
from jobs.state import Store


class Monotonic:
    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


class HangingLock:
    """A file lock whose `still_held` hangs once `hang` is set, as a query on a half-open
    PostgreSQL connection does, until `release_hang` is set."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.description = inner.description
        self.hang, self.hanging, self.release_hang = threading.Event(), threading.Event(), threading.Event()

    @property
    def token(self):
        return self.inner.token

    def try_acquire(self) -> bool:
        return self.inner.try_acquire()

    def still_held(self) -> bool:
        if self.hang.is_set() and not self.release_hang.is_set():
            self.hanging.set()
            self.release_hang.wait(30)
        return self.inner.still_held()

    def still_leader(self) -> bool:
        return self.still_held()

    def assert_leader(self) -> None:
        self.inner.assert_leader()

    def release(self) -> None:
        self.inner.release()


def until(what: str, predicate, timeout: float = 10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def get(service: Service, path: str) -> tuple[int, dict]:
    r = requests.get(service.metrics.url + path, timeout=5)
    return r.status_code, r.json()


def started(service: Service) -> threading.Thread:
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    until("the endpoint", lambda: service.metrics is not None)
    return thread


def stopped(service: Service, thread: threading.Thread, store: Store) -> None:
    service.stop.set()
    thread.join(timeout=15)
    store.dispose()
    assert not thread.is_alive()


def ok_run(name: str) -> JobResult:
    return JobResult(name, "r1", {}, 1, 0.0, None)


def test_livez_is_503_with_the_reason_when_the_main_loop_hangs_and_200_once_it_ticks_again(tmp_path):
    url = f"sqlite:///{tmp_path}/state.sqlite"
    store, clock = Store(url), Monotonic()
    lock = HangingLock(lock_for(url))
    service = Service(store=store, lock=lock, poll_seconds=0.2, misfire_grace=30, metrics_bind="127.0.0.1:0",
                      make_jobs=lambda stop: [JobSpec("leads", 60, lambda: ok_run("leads"))], monotonic=clock)
    assert service.stuck_after == 60, "never sooner than 60 s, however short the poll interval"
    thread = started(service)
    try:
        until("leadership", lambda: service.role == "leader")
        assert get(service, "/livez")[0] == 200
        lock.hang.set()
        until("the main loop to hang in the lock check", lock.hanging.is_set)
        clock.value += 59
        assert get(service, "/livez")[0] == 200, "59 s without a tick is within the limit"
        clock.value += 2
        code, body = get(service, "/livez")
        assert code == 503 and body["status"] == "stuck", body
        assert "has not ticked for 61 s (limit 60 s)" in body["reason"], body
        assert "checking the leader lock" in body["reason"], body
        lock.release_hang.set()
        until("/livez to be 200 again once the loop ticks", lambda: get(service, "/livez")[0] == 200)
    finally:
        lock.release_hang.set()
        stopped(service, thread, store)


def test_a_long_job_in_flight_is_not_a_stuck_main_loop(tmp_path):
    url = f"sqlite:///{tmp_path}/state.sqlite"
    store, clock = Store(url), Monotonic()
    running, release = threading.Event(), threading.Event()

    def slow_leads() -> JobResult:
        running.set()
        release.wait(20)
        return ok_run("leads")

    service = Service(store=store, lock=lock_for(url), poll_seconds=0.2, misfire_grace=30,
                      metrics_bind="127.0.0.1:0", make_jobs=lambda stop: [JobSpec("leads", 60, slow_leads)],
                      monotonic=clock)
    thread = started(service)
    try:
        until("the job to run", running.is_set)
        clock.value += 3600  # an hour-long batch, while the main loop keeps ticking
        time.sleep(0.6)
        code, body = get(service, "/livez")
        assert code == 200, body
        service.stop.set()  # stopping waits for the batch: that wait ticks too
        time.sleep(0.5)
        clock.value += 3600
        time.sleep(0.6)
        assert thread.is_alive(), "the graceful stop waits for the job's batch"
        code, body = get(service, "/livez")
        assert code == 200, body
    finally:
        release.set()
        stopped(service, thread, store)


def test_the_stuck_limit_is_three_poll_intervals_when_that_is_longer_than_a_minute(tmp_path):
    url = f"sqlite:///{tmp_path}/state.sqlite"
    store = Store(url)
    service = Service(store=store, lock=lock_for(url), poll_seconds=30, misfire_grace=30, make_jobs=lambda stop: [])
    assert service.stuck_after == 90
    store.dispose()


def test_a_new_leader_is_not_ready_until_its_outbox_settle_and_each_jobs_first_run_are_done(tmp_path):
    url = f"sqlite:///{tmp_path}/state.sqlite"
    store = Store(url)
    settling, settled = threading.Event(), threading.Event()
    partners_running, partners_done = threading.Event(), threading.Event()

    def on_leader() -> None:
        settling.set()
        settled.wait(20)

    def sync_partners() -> JobResult:
        partners_running.set()
        partners_done.wait(20)
        return ok_run("sync_partners")

    service = Service(store=store, lock=lock_for(url), poll_seconds=0.2, misfire_grace=30,
                      metrics_bind="127.0.0.1:0", on_leader=on_leader,
                      make_jobs=lambda stop: [JobSpec("sync_partners", 900, sync_partners),
                                              JobSpec("leads", 60, lambda: ok_run("leads"))])
    thread = started(service)
    try:
        until("the outbox settle to start", settling.is_set)
        code, body = get(service, "/healthz")
        assert body["role"] == "leader" and code == 503 and body["ready"] is False, body
        assert any("settling" in p and "outbox" in p for p in body["problems"]), body
        settled.set()
        until("the first job to run", partners_running.is_set)
        code, body = get(service, "/healthz")
        assert code == 503, body
        assert any("first run of" in p and "sync_partners" in p for p in body["problems"]), body
        partners_done.set()
        code, body = until("ready once every job ran once",
                           lambda: (lambda r: r if r[0] == 200 else None)(get(service, "/healthz")))
        assert body["problems"] == [] and body["role"] == "leader", body
    finally:
        settled.set()
        partners_done.set()
        stopped(service, thread, store)


def test_a_first_run_that_failed_still_counts_as_run_and_two_failures_say_so(tmp_path):
    """Readiness waits for the first runs, not for their success: a job failing for good
    is FAILED_RUNS_NOT_READY's to report, with its error."""
    url = f"sqlite:///{tmp_path}/state.sqlite"
    store = Store(url)

    def failing() -> JobResult:
        return JobResult("sync_partners", "r1", {}, 1, 0.0, "TransientError: query: ConnectionError")

    service = Service(store=store, lock=lock_for(url), poll_seconds=0.2, misfire_grace=30,
                      metrics_bind="127.0.0.1:0", make_jobs=lambda stop: [JobSpec("sync_partners", 900, failing)])
    thread = started(service)
    try:
        code, body = until("the second failed run to show",
                           lambda: (lambda r: r if any("job runs failed" in p for p in r[1]["problems"]) else None)(
                               get(service, "/healthz")))
        assert code == 503 and not any("first run" in p for p in body["problems"]), body
    finally:
        stopped(service, thread, store)
