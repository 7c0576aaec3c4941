"""A standby logs in to Salesforce again about hourly (jobs/service.py LOGIN_CHECK_SECONDS)
with the login `run` started with: credentials revoked while it waited make it not ready,
with the reason, before a failover needs them, and a later login that works makes it
ready again. One log line per change, not one per check.

The real service loop, in-process: another lock holder keeps it a standby; time for the
check is an injected monotonic clock the test moves by an hour."""
from __future__ import annotations

import io
import json
import logging
import threading
import time

from connector.errors import ConfigError, Failure
from jobs.leader import lock_for
from jobs.logging import configure
from jobs.service import LOGIN_CHECK_SECONDS, LOGIN_RECHECK_SECONDS, Service
from jobs.state import Store

from .test_service_seams_probes import Monotonic, get, started, stopped, until

REVOKED = ConfigError(Failure("config", "invalid_grant", "expired access/refresh token",
                              "re-authorise the connected app for the integration user"),
                      context="jwt_bearer login at https://login.example.test")


class Login:
    """The login `run` started with, as a callable: it works until `refuse` is set."""

    def __init__(self) -> None:
        self.refuse: Exception | None = None
        self.calls = 0
        self.done = threading.Event()

    def __call__(self) -> None:
        self.calls += 1
        self.done.set()
        if self.refuse is not None:
            raise self.refuse


def json_lines(buf: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buf.getvalue().splitlines() if line.startswith("{")]


def standby(tmp_path, check_login=None):
    """(the lock someone else holds, store, clock, login, the service kept a standby by it)."""
    url = f"sqlite:///{tmp_path}/state.sqlite"
    leader = lock_for(url)
    assert leader.try_acquire()  # someone else leads: the service stays a standby
    store, clock, login = Store(url), Monotonic(), Login()
    service = Service(store=store, lock=lock_for(url), poll_seconds=0.05, misfire_grace=30,
                      metrics_bind="127.0.0.1:0", make_jobs=lambda stop: [], monotonic=clock,
                      check_login=check_login or login)
    return leader, store, clock, login, service


def checked(service: Service, login: Login, clock: Monotonic) -> None:
    """An hour passes; wait until the standby has logged in again and taken the outcome in."""
    login.done.clear()
    due = service._login_due
    clock.value += LOGIN_CHECK_SECONDS
    until("the standby's login check", login.done.is_set)
    until("the check's outcome", lambda: service._login_due != due)


def test_a_standby_whose_login_stops_working_is_not_ready_with_the_reason_until_it_works_again(tmp_path):
    buf = io.StringIO()
    configure("json", "info", stream=buf)
    leader, store, clock, login, service = standby(tmp_path)
    thread = started(service)
    try:
        until("the standby loop", lambda: service.role == "standby" and service._login_due is not None)
        code, body = get(service, "/healthz")
        assert code == 200 and body["role"] == "standby" and body["problems"] == [], body
        assert login.calls == 0, "the login at start is fresh: the first check is an interval away"

        checked(service, login, clock)
        assert get(service, "/healthz")[0] == 200, "a login that works changes nothing"

        login.refuse = REVOKED
        checked(service, login, clock)
        code, body = get(service, "/healthz")
        assert code == 503 and body["ready"] is False and body["role"] == "standby", body
        (problem,) = body["problems"]
        assert problem.startswith("the standby's Salesforce login failed: ConfigError:"), problem
        assert "invalid_grant" in problem and "fix the credentials" in problem, problem

        checked(service, login, clock)  # still refused: no second line
        assert get(service, "/healthz")[0] == 503
        failed = [line for line in json_lines(buf) if line["event"] == "standby_login_failed"]
        assert len(failed) == 1, failed
        assert failed[0]["level"] == "error" and failed[0]["problem"] == problem, failed

        login.refuse = None
        checked(service, login, clock)
        code, body = get(service, "/healthz")
        assert code == 200 and body["problems"] == [], body
        assert [line["event"] for line in json_lines(buf) if line["event"].startswith("standby_login")] == \
            ["standby_login_failed", "standby_login_ok"]
        assert get(service, "/livez")[0] == 200
    finally:
        stopped(service, thread, store)
        leader.release()
        logging.getLogger().handlers[:] = [h for h in logging.getLogger().handlers
                                           if not (isinstance(h, logging.StreamHandler) and h.stream is buf)]


def test_the_main_loop_ticks_while_a_login_check_hangs(tmp_path):
    """A login's retries can take minutes: /livez must not call that a stuck loop."""
    hanging, release = threading.Event(), threading.Event()

    def slow_login() -> None:
        hanging.set()
        release.wait(20)

    leader, store, clock, _, service = standby(tmp_path, check_login=slow_login)
    thread = started(service)
    try:
        until("the standby loop", lambda: service._login_due is not None)
        clock.value += LOGIN_CHECK_SECONDS
        until("the login check to hang", hanging.is_set)
        clock.value += 600  # ten minutes into the login's retries
        time.sleep(0.3)
        code, body = get(service, "/livez")
        assert code == 200, body
        release.set()
        until("the standby loop to go on", lambda: service._doing != "checking the standby's Salesforce login")
    finally:
        release.set()
        stopped(service, thread, store)
        leader.release()


def test_a_standby_that_cannot_log_in_leaves_the_lock_to_others_and_takes_it_once_its_login_works(tmp_path):
    """With three instances, the lock race must not go to the one that cannot work: while
    its login fails it does not ask for the lock, and checks again every minute."""
    leader, store, clock, login, service = standby(tmp_path)
    url = f"sqlite:///{tmp_path}/state.sqlite"
    thread = started(service)
    try:
        until("the standby loop", lambda: service.role == "standby" and service._login_due is not None)
        login.refuse = REVOKED
        checked(service, login, clock)
        assert service._login_due - clock.value == LOGIN_RECHECK_SECONDS, "failing: checked again in a minute"

        leader.release()  # the leader is gone; the lock is free
        time.sleep(0.5)  # ten rounds of the standby loop
        assert service.role == "standby", "took the lock with a login that fails"
        other = lock_for(url)
        assert other.try_acquire(), "the lock was left free for a standby that can log in"
        other.release()

        login.refuse = None
        login.done.clear()
        clock.value += LOGIN_RECHECK_SECONDS
        until("the login check a minute later", login.done.is_set)
        until("the standby to take over", lambda: service.role == "leader")
    finally:
        stopped(service, thread, store)
        leader.release()
