"""`leadrouter run`: standby until the leader lock is ours, then the scheduler.

The main thread owns leadership: it waits as a standby, starts the scheduler when the
lock is ours, checks the lock and writes a heartbeat every poll interval, and on
SIGTERM (or a lost lock) stops scheduling and lets the job in flight finish its
current batch before returning.

A service serves one org (the store's): its lock is that org's, its log lines and
metrics name it. Many orgs run as many services, one process each, sharing nothing
but the database.
"""
from __future__ import annotations

import os
import signal
import socket
import threading
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

from jobs.leader import LeaderLock, NotLeader, pause
from jobs.logging import get_logger
from jobs.scheduler import JobSpec, build
from jobs.state import Store
from jobs.state import store as st

log = get_logger(component="service")


class Service:
    def __init__(self, *, store: Store, lock: LeaderLock, poll_seconds: float,
                 make_jobs: Callable[[threading.Event], list[JobSpec]], misfire_grace: int,
                 on_leader: Callable[[], None] | None = None, instance: str | None = None,
                 metrics_bind: str | None = None, now: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.lock = lock
        self.poll_seconds = poll_seconds
        self.make_jobs = make_jobs
        self.misfire_grace = misfire_grace
        self.on_leader = on_leader
        self.instance = instance or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.started = datetime.now(timezone.utc)
        self.stop = threading.Event()
        self.role = "standby"
        self.metrics_bind = metrics_bind  # [metrics] bind: /healthz and /metrics, off when None
        self.now = now or (lambda: datetime.now(timezone.utc))  # the connector's clock: Salesforce's
        self.metrics: Any = None  # the running jobs.metrics.MetricsServer
        self.org = store.org

    def install_signal_handlers(self) -> None:
        def _graceful(signum, _frame):  # noqa: ANN001
            log.info("stopping", signal=signal.Signals(signum).name,
                     note="the job in flight finishes its current batch")
            self.stop.set()

        signal.signal(signal.SIGTERM, _graceful)
        signal.signal(signal.SIGINT, _graceful)

    def _beat(self) -> None:
        try:
            with self.store.begin() as conn:
                st.heartbeat(conn, self.instance, self.role, os.getpid(), socket.gethostname(),
                             self.started, datetime.now(timezone.utc))
        except Exception as e:  # a heartbeat is for humans; never fatal
            log.warning("heartbeat_failed", error=str(e))

    def run(self) -> int:
        if self.metrics_bind:
            from jobs.metrics import serve

            self.metrics = serve(self.metrics_bind, self.store, now=self.now, role=lambda: self.role,
                                 instance=self.instance, org=self.org)
        try:
            while not self.stop.is_set():
                if not self._standby():
                    break
                self._lead()
        finally:
            self.role = "stopped"
            self._beat()
            self.lock.release()
            if self.metrics:
                self.metrics.stop()
        return 0

    def _standby(self) -> bool:
        self.role = "standby"
        announced = False
        while not self.stop.is_set():
            try:
                if self.lock.try_acquire():
                    return True
            except NotLeader as e:
                # the state database is out of reach (volume gone, server down): stay up as
                # a standby so /healthz can say so, and try again next round
                log.warning("lock_unavailable", lock=self.lock.description, error=str(e),
                            retry_seconds=self.poll_seconds, instance=self.instance, org=self.org)
            if not announced:
                log.info("standby", lock=self.lock.description, retry_seconds=self.poll_seconds,
                         instance=self.instance, org=self.org)
                announced = True
            self._beat()
            pause(self.stop, self.poll_seconds)
        return False

    def _lead(self) -> None:
        self.role = "leader"
        log.info("leader", lock=self.lock.description, instance=self.instance, org=self.org)
        self._beat()
        if self.on_leader:
            self.on_leader()  # e.g. reconcile the outbox before anything new is decided
        job_stop = threading.Event()
        sched = build(self.make_jobs(job_stop), self.misfire_grace)
        sched.start()
        try:
            while not pause(self.stop, self.poll_seconds):
                if not self.lock.still_held():
                    log.error("leader_lock_lost", lock=self.lock.description,
                              note="stopping jobs; back to standby")
                    break
                self._beat()
        finally:
            job_stop.set()
            sched.shutdown(wait=True)
            log.info("scheduler_stopped", instance=self.instance)
        if not self.stop.is_set():
            self.lock.release()
