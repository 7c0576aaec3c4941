"""`leadrouter run`: standby until the leader lock is ours, then the scheduler.

The main thread owns leadership: it waits as a standby, starts the scheduler when the
lock is ours, checks the lock and writes a heartbeat every poll interval, and on
SIGTERM (or a lost lock) stops scheduling and lets the job in flight finish its
current batch before returning; on SIGTERM a leader then writes what it had decided
(`on_stop`, bounded) before it releases the lock.

A service serves one org (the store's): its lock is that org's, its log lines and
metrics name it. Many orgs run as many services, one process each, sharing nothing
but the database.

A service outlives what it depends on. Started while Salesforce or the state database
server does not answer, it waits with backoff (`wait_for`), its /healthz saying why it
is not ready; a standby that loses the database stays a standby and tries again; a
leader whose jobs keep failing says so on /healthz (not ready) without being restarted:
/livez stays 200, and a restart would not bring Salesforce back.

A standby logs in again about hourly (LOGIN_CHECK_SECONDS) with the login it started
with, so credentials revoked or a connected app changed while it waited show before a
failover needs them, not during one. A standby whose check failed is not ready, with the
reason: a failover that cannot log in is no failover, and a rollout or an alert on
readiness must see that now rather than after the leader is gone. Nor does it ask for the
leader lock while its login fails: another standby that can log in takes over instead
(with three instances the lock race must not go to the one that cannot work). It checks
again every LOGIN_RECHECK_SECONDS while failing, and competes again once a check passes.

/livez answers for the main thread itself: it stamps `time.monotonic()` every round of
its loops (and every second while it sleeps or waits), and /livez is 503 with the reason
when the last stamp is older than max(3 poll intervals, 60 s). What the main thread hands
to another thread and waits for (connecting at start, the new leader's outbox settle, a
job finishing its batch at stop) ticks while it waits: a long job is not a stuck loop.
What it does itself (the leader lock, the heartbeat row) must return: a query hanging on
a half-open database connection is what a restart is for.

Ready, for a new leader, means its first rounds are done: on_leader (the outbox a
previous leader left, settled; partners synced) has returned, and every job of the
schedule has finished its first run under this leadership, whether it succeeded or not
(failures are FAILED_RUNS_NOT_READY's business). Every job, not a list of "the jobs that
talk to Salesforce": all but housekeeping do, housekeeping's first run is local and
short, and service.py keeps no list of which job calls what, to go stale.

Stopping: the first SIGTERM or SIGINT is graceful (the job in flight finishes its
current batch, then a leader's `on_stop` writes the outbox's pending entries for at most
[schedule] stop_flush seconds: jobs/stop_flush.py); a second SIGINT (Ctrl-C again) stops
at once, exit 130. That is as safe
as a kill: a write batch is marked `sent` in the state before it goes to Salesforce, and
the next leader reads those leads back and settles them (jobs/outbox.py reconcile);
what was being decided was never committed, and is read again.
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, TypeVar

from jobs.leader import LeaderLock, pause
from jobs.logging import get_logger
from jobs.scheduler import JobSpec, build
from jobs.state import Store
from jobs.state import store as st
from jobs.state.store import sqlite_trouble

log = get_logger(component="service")

T = TypeVar("T")

# A leader is not ready once this many job runs in a row failed (a run that made no API
# call and succeeded says nothing about Salesforce and does not count either way): one
# failure after the client's own retries is weather, two is an outage.
FAILED_RUNS_NOT_READY = 2
# Waiting at start: the first retry after this many seconds, doubling up to the cap.
WAIT_FIRST, WAIT_CAP = 5.0, 300.0
# /livez: the main loop is stuck once it has not ticked for this many poll intervals, and
# never sooner than this many seconds (a probe every 30 s must not catch a slow query).
STUCK_POLLS, STUCK_MIN_SECONDS = 3, 60.0
# A standby logs in again this often (seconds of time.monotonic): one token request an
# hour costs nothing, and a revoked login is known within the hour, not at the failover.
LOGIN_CHECK_SECONDS = 3600.0
# … and every minute while that check fails (a network blip heals; a fixed credential shows)
LOGIN_RECHECK_SECONDS = 60.0
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a Ctrl-C


class Unavailable(Exception):
    """What `leadrouter run` waits for at start: Salesforce, or the state database server,
    did not answer. `what` names it for the log and /healthz."""

    def __init__(self, what: str, message: str) -> None:
        super().__init__(message)
        self.what = what


def _database_outage(e: BaseException) -> bool:
    from sqlalchemy.exc import DBAPIError, OperationalError

    return isinstance(e, OperationalError) or (isinstance(e, DBAPIError) and e.connection_invalidated)


class Service:
    def __init__(self, *, store: Store | None, lock: LeaderLock, poll_seconds: float,
                 make_jobs: Callable[[threading.Event], list[JobSpec]], misfire_grace: int,
                 on_leader: Callable[[], None] | None = None, instance: str | None = None,
                 metrics_bind: str | None = None, now: Callable[[], datetime] | None = None,
                 org: str | None = None, monotonic: Callable[[], float] | None = None,
                 check_login: Callable[[], None] | None = None,
                 login_check_seconds: float = LOGIN_CHECK_SECONDS,
                 on_stop: Callable[[], None] | None = None) -> None:
        # `store` is None until `wait_for` has connected: `attach` gives it then
        self.store = store
        self.lock = lock
        self.poll_seconds = poll_seconds
        self.make_jobs = make_jobs
        self.misfire_grace = misfire_grace
        self.on_leader = on_leader
        # a leader told to stop, once its job in flight has finished and before the lock is
        # released: e.g. write what it decided (jobs/stop_flush.py), bounded by its own deadline
        self.on_stop = on_stop
        self.instance = instance or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        # when this instance started, on Salesforce's clock like its heartbeat: taken at the
        # first beat (the org's clock is known by then) as that clock's now less the
        # monotonic time since this stamp; the host's wall clock says nothing of the org's
        self.started: datetime | None = None
        self.stop = threading.Event()
        self.role = "standby"
        self.metrics_bind = metrics_bind  # [metrics] bind: /healthz and /metrics, off when None
        self.now = now or (lambda: datetime.now(timezone.utc))  # the connector's clock: Salesforce's
        self.metrics: Any = None  # the running jobs.metrics.MetricsServer
        self._endpoint_closed = False
        self.org = org or (store.org if store is not None else "default")
        self.waiting: str | None = None  # why the start waits (Salesforce, the database): not ready
        self.beat_error: str | None = None  # the last heartbeat write failed: the database takes no write
        self.failed_runs = 0  # job runs failed in a row since the last one that succeeded calling Salesforce
        self.last_job_error: str | None = None
        self._sched: Any = None  # this leadership's scheduler: a failed long-interval job is retried sooner
        self._job_failures: dict[str, int] = {}  # failed runs in a row, per job: the retry's backoff
        self.monotonic = monotonic or time.monotonic  # /livez: elapsed time only, never the wall clock
        self.stuck_after = max(STUCK_POLLS * poll_seconds, STUCK_MIN_SECONDS)
        self._ticked = self._born = self.monotonic()  # the main loop's last stamp; the start
        self._doing = "starting"  # what the main thread was doing when it last stamped
        self._settling = False  # a new leader's on_leader has not returned yet: not ready
        # replaced, never changed in place: /healthz and the signal handler read them meanwhile
        self._first_runs: frozenset[str] = frozenset()  # jobs of this leadership whose first run has not finished
        self._in_flight: frozenset[str] = frozenset()  # jobs running now, for the log line of a forced stop
        # the Salesforce login `run` started with, done again (raises when refused): a
        # standby checks that it could still take over; None checks nothing
        self.check_login = check_login
        self.login_check_seconds = login_check_seconds
        self.login_error: str | None = None  # the standby's last login check failed: not ready
        self._login_due: float | None = None  # self.monotonic() of the next check; set on entering standby
        self.exit_code = 0  # EXIT_STATE once the state database file went from under a leader

    def attach(self, store: Store, *, make_jobs: Callable[[threading.Event], list[JobSpec]] | None = None,
               on_leader: Callable[[], None] | None = None, now: Callable[[], datetime] | None = None,
               check_login: Callable[[], None] | None = None,
               on_stop: Callable[[], None] | None = None) -> None:
        """What `wait_for` connected: the state, the jobs made from it, and its login."""
        self.store = store
        self.on_stop = on_stop or self.on_stop
        self.check_login = check_login or self.check_login
        self.make_jobs = make_jobs or self.make_jobs
        self.on_leader = on_leader or self.on_leader
        self.now = now or self.now
        if self.metrics:
            self.metrics.reader.store = store

    def problems(self) -> list[str]:
        """Why this instance is not ready (empty: ready). A standby is ready, being the
        failover, while its last Salesforce login check passed (see the module docstring)."""
        found = []
        if self.waiting:
            found.append(self.waiting)
        if self.role == "standby" and self.login_error:
            found.append(self.login_error)
        if self.beat_error:
            found.append(f"the state database refused a write: {self.beat_error}")
        if self.role == "leader" and self._settling:
            found.append("a new leader: settling what the previous leader left (the outbox) and syncing partners "
                         "before its first job runs")
        elif self.role == "leader" and (first := self._first_runs):
            found.append(f"a new leader: waiting for the first run of {', '.join(sorted(first))}")
        if self.role == "leader" and self.failed_runs >= FAILED_RUNS_NOT_READY:
            found.append(f"the last {self.failed_runs} job runs failed; the last: {self.last_job_error}")
        return found

    def stuck(self) -> str | None:
        """Why /livez says the main loop is stuck, or None while it ticks."""
        silent = self.monotonic() - self._ticked
        if silent <= self.stuck_after:
            return None
        return (f"the main loop has not ticked for {silent:.0f} s (limit {self.stuck_after:.0f} s); "
                f"it was last {self._doing}")

    def _tick(self, doing: str) -> None:
        self._ticked = self.monotonic()
        self._doing = doing

    def start_endpoint(self) -> None:
        if self.metrics_bind and self.metrics is None:
            from jobs.metrics import serve

            self.metrics = serve(self.metrics_bind, self.store, now=lambda: self.now(), role=lambda: self.role,
                                 instance=self.instance, org=self.org, problems=self.problems, stuck=self.stuck)

    def wait_for(self, connect: Callable[[], T]) -> T | None:
        """`connect()` until it does not raise `Unavailable`, with backoff (5 s doubling to
        5 min), each failure logged and on /healthz; None when told to stop meanwhile."""
        self.role = "starting"
        self.waiting = "starting: logging in to Salesforce and opening the state database"
        self.start_endpoint()
        delay = WAIT_FIRST
        while not self.stop.is_set():
            try:
                made = self._await(connect, "connecting to Salesforce and the state database")
            except Unavailable as e:
                self.waiting = f"waiting for {e.what}: {e}"
                log.warning("waiting_for_" + e.what.replace(" ", "_"), error=str(e), retry_seconds=delay,
                            instance=self.instance, org=self.org)
                self._pause(delay, "waiting to connect again")
                delay = min(delay * 2, WAIT_CAP)
                continue
            self.waiting = None
            return made
        return None

    def _watched(self, spec: JobSpec, job_stop: threading.Event) -> JobSpec:
        """The job, its outcome kept for /healthz: a leader whose runs keep failing is not ready."""
        from dataclasses import replace

        def run() -> Any:
            if self.stop.is_set() or job_stop.is_set():
                # stopping (SIGTERM, a lost lock): the executor still runs what was queued
                # when the scheduler shut down; only the job in flight finishes its batch
                return None
            self._in_flight = self._in_flight | {spec.name}
            try:
                result = spec.fn()
            except Exception as e:
                self._outcome(f"{type(e).__name__}: {e}", None)
                if not _database_outage(e):
                    raise  # a bug: the scheduler logs it with its traceback (job_crashed)
                # the state database went away mid-job (its accounting could not even be
                # written): one log line, not a traceback per job per interval of the outage
                detail = str(getattr(e, "orig", None) or e).splitlines()[0]
                where = st.location(self.store.url) if self.store is not None else "?"
                log.error("job_failed", job=spec.name, error=detail,
                          note=(sqlite_trouble(detail, where) or "the state database did not answer")
                          + "; the job runs again after a poll interval")
                self._retry_soon(spec)
                return None
            finally:
                self._in_flight = self._in_flight - {spec.name}
                self._first_runs = self._first_runs - {spec.name}  # ran once, either way: readiness (problems)
            if result is not None and hasattr(result, "error"):
                self._outcome(result.error, getattr(result, "api_calls", None))
                if result.error:
                    self._retry_soon(spec)
                else:
                    self._job_failures.pop(spec.name, None)
            return result

        return replace(spec, fn=run)

    def _retry_soon(self, spec: JobSpec) -> None:
        """A failed run of a job with a long interval runs again after one poll interval,
        not after its own: a partner sync that failed while Salesforce was away left
        the lead stream with no partners to route to for 15 minutes after it was back.
        Each further failure doubles the wait, up to the job's own interval, so a job
        that fails for good (a field the org lacks) does not spend API calls every minute."""
        sched = self._sched
        failures = self._job_failures[spec.name] = self._job_failures.get(spec.name, 0) + 1
        wait = min(self.poll_seconds * 2 ** (failures - 1), spec.seconds)
        if sched is None or wait >= spec.seconds:
            return
        try:
            sched.modify_job(spec.name, next_run_time=datetime.now(timezone.utc) + timedelta(seconds=wait))
        except Exception as e:  # noqa: BLE001 - the scheduler is shutting down: nothing to retry
            log.debug("retry_not_scheduled", job=spec.name, error=str(e))

    def _outcome(self, error: str | None, api_calls: int | None) -> None:
        if error:
            self.failed_runs += 1
            self.last_job_error = error.splitlines()[0][:300]
        elif api_calls:
            self.failed_runs, self.last_job_error = 0, None

    def install_signal_handlers(self) -> None:
        def _graceful(signum, _frame):  # noqa: ANN001
            if signum == signal.SIGINT and self.stop.is_set():
                self.stop_now()
            self.stop.set()  # first: the stop must not depend on the log line below
            try:
                if self.role == "leader":
                    note = ("the job in flight finishes its current batch, no other job starts, the writes already "
                            "decided go out (at most [schedule] stop_flush seconds), then it exits 0"
                            + ("; a second Ctrl-C stops at once" if signum == signal.SIGINT else ""))
                else:  # waiting to connect, or a standby: nothing of ours is in flight
                    note = f"not leading ({self.role}): nothing is in flight; it exits 0 now"
                log.info("stopping", signal=signal.Signals(signum).name, role=self.role, note=note)
            except Exception:  # noqa: BLE001 - a handler must not raise into what the main thread was doing
                pass

        signal.signal(signal.SIGTERM, _graceful)
        signal.signal(signal.SIGINT, _graceful)

    def stop_now(self) -> None:
        """A second SIGINT: exit at once, without waiting for the batch in flight. Nothing
        is cleaned up on purpose: the kernel frees the file lock and the server the advisory
        lock with the process, exactly as after a kill, and a kill is what the state is
        built to survive."""
        # the exit happens whatever the log line does: this runs in a signal handler, and a
        # write the main thread was in the middle of can make ours raise (a reentrant call)
        try:
            jobs = sorted(self._in_flight)
            log.warning("stopped_now", signal="SIGINT", exit_code=EXIT_INTERRUPTED,
                        interrupted=(f"the current batch of {', '.join(jobs)}" if jobs
                                     else f"no job was running; the main loop was {self._doing}"),
                        note="safe to rerun: a write batch is marked sent before it goes to Salesforce, and the "
                             "next leader reads those leads back and settles them (the outbox's reconcile); a "
                             "decision not yet committed is read and made again", instance=self.instance,
                        org=self.org)
            sys.stderr.flush()
            sys.stdout.flush()
        finally:
            os._exit(EXIT_INTERRUPTED)  # not SystemExit: that would wait for the job's thread at exit

    def _pause(self, seconds: float, doing: str) -> bool:
        """`pause` that stamps the main loop's heartbeat at least every second meanwhile."""
        end = time.monotonic() + seconds  # the sleep's own deadline: the injected clock only stamps
        while True:
            self._tick(doing)
            left = end - time.monotonic()
            if left <= 0:
                return False
            if pause(self.stop, min(left, 1.0)):
                self._tick(doing)
                return True

    def _await(self, fn: Callable[[], T], doing: str) -> T:
        """`fn()` on a helper thread while the main thread ticks (and signals are handled
        at once): waiting on work that is not the main loop's own is not being stuck.
        What `fn` raises (SystemExit too) is raised here."""
        box: dict[str, Any] = {}

        def call() -> None:
            try:
                box["value"] = fn()
            except BaseException as e:  # noqa: BLE001 - handed to the main thread as it is
                box["error"] = e

        worker = threading.Thread(target=call, name=doing.split(" ")[0], daemon=True)
        worker.start()
        # short sleeps, not Thread.join(timeout): see jobs.leader.pause
        while worker.is_alive():
            self._tick(doing)
            time.sleep(0.02)
        self._tick(doing)
        if "error" in box:
            raise box["error"]
        return box["value"]

    def _beat(self) -> None:
        try:
            if self.store is None:
                return
            now = self.now()  # Salesforce's clock: hosts' clocks differ
            if self.started is None:
                self.started = now - timedelta(seconds=self.monotonic() - self._born)
            with self.store.begin() as conn:
                st.heartbeat(conn, self.instance, self.role, os.getpid(), socket.gethostname(), self.started, now)
            self.beat_error = None
        except Exception as e:  # a heartbeat is for humans and /healthz; never fatal
            self.beat_error = str(getattr(e, "orig", None) or e).splitlines()[0][:300]
            log.warning("heartbeat_failed", error=self.beat_error,
                        note=sqlite_trouble(self.beat_error, st.location(self.store.url)
                                                     if self.store is not None else "?"))

    def run(self) -> int:
        self._tick("starting the endpoint")
        self.start_endpoint()
        try:
            while not self.stop.is_set():
                if not self._standby():
                    break
                self._lead()
        finally:
            led = self.role == "leader"
            self.role = "stopped"
            self._beat()
            self.lock.release()
            self.close_endpoint()
        if self.exit_code:
            log.error("stopped", exit_code=self.exit_code, instance=self.instance, org=self.org,
                      problem=getattr(self.lock, "gone", None))
            return self.exit_code
        log.info("stopped", exit_code=0, instance=self.instance, org=self.org,
                 note=("the leader lock is released: a standby takes over; `leadrouter run` resumes where this "
                       "left off" if led else "`leadrouter run` starts it again"))
        return 0

    def close_endpoint(self) -> None:
        if self.metrics and not self._endpoint_closed:
            self._endpoint_closed = True
            self.metrics.stop()

    def lead_before_migrating(self, version: int) -> bool:
        """The state is at schema `version`, an earlier leadrouter's (a rolling upgrade: that
        one may still lead on it). Wait as a standby (ready: the failover) until the leader
        lock is ours, so the state is migrated by its leader only, never under a running
        earlier one; False when told to stop meanwhile."""
        self.role = "standby"
        self.start_endpoint()
        announced = False
        while not self.stop.is_set():
            self._tick("asking for the leader lock before migrating the state")
            try:
                if self.lock.try_acquire():
                    return True
            except Exception as e:  # noqa: BLE001 - the database's outage: said, tried again
                log.warning("lock_unavailable", lock=self.lock.description, error=str(e),
                            retry_seconds=self.poll_seconds, instance=self.instance, org=self.org)
            if not announced:
                log.info("upgrade_waits_to_lead", lock=self.lock.description, instance=self.instance, org=self.org,
                         note=f"the state is at schema version {version}, written by an earlier leadrouter, and "
                              "another instance leads on it: this one waits as its standby and migrates the state "
                              "when it takes over (docs/DEPLOY.md, Upgrading)")
                announced = True
            self._pause(self.poll_seconds, "waiting to lead before migrating the state")
        return False

    def _standby(self) -> bool:
        self.role = "standby"
        announced = False
        # the login was just done (at start) or exercised by the jobs (a leadership that
        # ended): the first check is one interval away
        self._login_due = self.monotonic() + self.login_check_seconds
        while not self.stop.is_set():
            self._tick("asking for the leader lock")
            try:
                if self.login_error is None and self.lock.try_acquire():
                    # a leader's own job runs say whether Salesforce takes its login
                    # (FAILED_RUNS_NOT_READY); a standby's verdict would go stale
                    self.login_error = None
                    return True
            except Exception as e:  # noqa: BLE001
                if getattr(self.lock, "gone", None):
                    # the state file this standby has open was deleted or replaced (its lock said
                    # why): leading would write to the old file; a restart opens the new one
                    from jobs.state_path import EXIT_STATE

                    self.exit_code = EXIT_STATE
                    return False
                # the state database is out of reach (volume gone, server down, a pooled
                # connection the server dropped): stay up as a standby so /healthz can say
                # so, and try again next round; exiting would only make the database's
                # outage a crash loop of every instance
                log.warning("lock_unavailable", lock=self.lock.description, error=str(e),
                            retry_seconds=self.poll_seconds, instance=self.instance, org=self.org)
            if not announced:
                # a second `run` on the same state (by mistake, or a standby on purpose): say
                # who leads and what this one does, not only which lock it waits for
                elsewhere = getattr(self.lock, "holder_elsewhere", None)
                on_org = elsewhere() if callable(elsewhere) else None  # the org lease's holder (jobs/org_lease.py)
                leader = on_org or self._who_leads()
                what = "another connector routes this org" if on_org else "another instance leads this state"
                log.info("standby", lock=self.lock.description, retry_seconds=self.poll_seconds,
                         leader=leader, instance=self.instance, org=self.org,
                         note=f"{what} ({leader}): this one does nothing but wait "
                              "as its standby, and takes over if that one stops. Intended for a failover; if "
                              "not, stop this one (Ctrl-C or SIGTERM) — `leadrouter status` shows who leads")
                announced = True
            self._tick("writing the heartbeat row")
            self._beat()
            if self.check_login is not None and self.monotonic() >= self._login_due:
                self._check_login(self.check_login)
                every = self.login_check_seconds if self.login_error is None else \
                    min(self.login_check_seconds, LOGIN_RECHECK_SECONDS)
                self._login_due = self.monotonic() + every
            self._pause(self.poll_seconds, "waiting as a standby")
        return False

    def _who_leads(self) -> str:
        """The instance holding the lock, as its heartbeat row names it; a row not written
        for three poll intervals is a crashed leader's leftover, not the holder."""
        try:
            if self.store is not None:
                with self.store.connect() as conn:
                    rows = st.list_instances(conn)
                # the leader stamped its row on Salesforce's clock, as this does: a standby host
                # minutes off would otherwise take a live leader's row for a stale one
                fresh = self.now() - timedelta(seconds=3 * max(self.poll_seconds, 60))
                for row in rows:  # newest first
                    seen = row["seen_at"] if row["seen_at"].tzinfo else row["seen_at"].replace(tzinfo=timezone.utc)
                    if row["role"] == "leader" and row["instance"] != self.instance and seen >= fresh:
                        return f"{row['instance']}, pid {row['pid']} on {row['host'] or '?'}"
        except Exception as e:  # noqa: BLE001 - a name for a log line; the lock is what counts
            log.debug("leader_unknown", error=str(e))
        return "a process not registered as an instance, e.g. a `leadrouter once` run"

    def _check_login(self, login: Callable[[], None]) -> None:
        """Log in again as at start, on a helper thread (a login's retries can take
        minutes: the main loop ticks meanwhile); one log line per change of outcome."""
        from connector.errors import TransientError

        try:
            self._await(login, "checking the standby's Salesforce login")
            error = None
        except Exception as e:  # noqa: BLE001 - whatever refused the login is the finding
            said = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
            if isinstance(e, (Unavailable, TransientError)):  # no answer, after the client's retries
                error = (f"the standby's Salesforce login check got no answer: {said}; a failover needs "
                         "Salesforce reachable from this host: check the network path to the login URL")
            else:
                error = (f"the standby's Salesforce login failed: {said}; fix the credentials (or the "
                         "connected app) before a failover needs them")
        if error == self.login_error:
            return
        if error:
            log.error("standby_login_failed", problem=error, instance=self.instance, org=self.org,
                      note=f"this standby does not take the leader lock until its login works again (checked "
                           f"every {min(self.login_check_seconds, LOGIN_RECHECK_SECONDS):.0f} s)")
        else:
            log.info("standby_login_ok", note="the standby's Salesforce login works again; ready as the failover",
                     instance=self.instance, org=self.org)
        self.login_error = error

    def _lead(self) -> None:
        self._settling = True  # before the role: /healthz must never see a leader with nothing to wait for
        self.role = "leader"
        self.failed_runs, self.last_job_error = 0, None
        log.info("leader", lock=self.lock.description, instance=self.instance, org=self.org)
        self._tick("writing the heartbeat row")
        self._beat()
        try:
            if self.on_leader:
                # e.g. reconcile the outbox before anything new is decided; on a helper
                # thread so the main loop ticks through a long settle
                self._await(self.on_leader, "settling the outbox as the new leader")
        except Exception as e:  # noqa: BLE001 - the state database went away mid-way: stand by, retry
            log.error("leader_start_failed", error=str(e), retry_seconds=self.poll_seconds,
                      note="lock released; back to standby", instance=self.instance, org=self.org)
            self._settling = False
            self.lock.release()
            self._pause(self.poll_seconds, "waiting to lead again")
            return
        if self.stop.is_set():  # told to stop while settling the outbox: no scheduler to start
            self._settling = False
            if not self.exit_code:  # the settle stopped after its batch in flight: what is pending goes
                self._before_stopping()  # out as from any leader stopped (bounded by stop_flush)
            return
        job_stop = threading.Event()
        try:
            specs = self.make_jobs(job_stop)
            self._first_runs = frozenset(j.name for j in specs)
        finally:
            self._settling = False  # only now: the first runs take over saying why not ready
        sched = build([self._watched(j, job_stop) for j in specs], self.misfire_grace)
        self._sched = sched
        sched.start()
        try:
            while not self._pause(self.poll_seconds, "leading: between checks of the leader lock"):
                self._tick("checking the leader lock")
                if not self.lock.still_held():
                    if getattr(self.lock, "gone", None):
                        # the state file was deleted or replaced: standing by would open the new one
                        # beside pooled connections still on the old; a restart starts clean
                        from jobs.state_path import EXIT_STATE

                        self.exit_code = EXIT_STATE
                        self.stop.set()
                        break
                    log.error("leader_lock_lost", lock=self.lock.description,
                              note="stopping jobs; back to standby")
                    break
                self._tick("writing the heartbeat row")
                self._beat()
        finally:
            job_stop.set()
            # the job in flight finishes its batch: a wait, not a stuck loop
            self._await(lambda: sched.shutdown(wait=True), "stopping: waiting for the job in flight")
            self._sched = None
            self._first_runs = frozenset()
            log.info("scheduler_stopped", instance=self.instance)
        if self.stop.is_set() and not self.exit_code:
            self._before_stopping()
        if not self.stop.is_set():
            self.lock.release()

    def _before_stopping(self) -> None:
        """`on_stop` while the lock is still ours, on a helper thread (the main loop ticks,
        and a second Ctrl-C still stops at once). A failure leaves the writes in the outbox,
        where the next leader finds them: said, never a reason not to stop."""
        if self.on_stop is None:
            return
        try:
            self._await(self.on_stop, "stopping: writing what was decided (the outbox)")
        except Exception as e:  # noqa: BLE001 - stopping goes on whatever this met
            log.error("stop_flush_failed", error=f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300],
                      instance=self.instance, org=self.org,
                      note="the decided writes stay in the outbox; the next leader sends them before its first job")
