"""Both locks: the state database's leader lock AND the org's lease (connector/lease.py).

The leader lock keeps apart instances that share one state database; the org lease keeps
apart connectors that share only the org (each its own SQLite file, a second VM). A
connector leads when it holds both, and stops writing as soon as either is lost. The
fencing token stays the state database's: the lease guards the org, the token the state.

The state's lock is taken first and kept while the lease is waited for: trying it again
every round would take a new fencing token each time.

An org without the lease object, or an integration user without access to it, runs with
the leader lock alone, as before the lease existed, and says so once at start.
"""
from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path
from typing import Any

from jobs.leader import LeaderLock, NotLeader
from jobs.logging import get_logger

log = get_logger(component="org_lease")


class LeasedLock:
    """A LeaderLock that is held when the state's lock and the org lease both are."""

    def __init__(self, inner: LeaderLock, lease: Any) -> None:
        self.inner = inner
        self.lease = lease
        self.description = f"{inner.description} + org lease {lease.prefix}* ({lease.ttl.total_seconds():.0f} s)"
        self._retry_at: Any = None  # the org's time of the next try to take the lease, after one got no answer
        self._unconfirmed_said = False

    @property
    def token(self) -> int | None:
        return self.inner.token

    @token.setter
    def token(self, value: int | None) -> None:
        self.inner.token = value

    def __getattr__(self, name: str) -> Any:  # gone, unreachable, path, held_elsewhere: the state lock's
        return getattr(self.inner, name)

    def try_acquire(self) -> bool:
        return self.inner.try_acquire() and self._lease(strict=False)

    def still_held(self) -> bool:
        return self.inner.still_held() and self._lease(strict=False)

    def still_leader(self) -> bool:
        return self.inner.still_leader() and self._lease(strict=False)

    def assert_leader(self) -> None:
        """Before each write batch: the lease must be confirmed, not merely not lost."""
        if not self.inner.still_leader():
            self.inner.assert_leader()  # raises, naming the state's lock
        if not self._lease(strict=True):
            holder = self.lease.holder_elsewhere()
            raise NotLeader(f"the org lease is not ours{f' ({holder} holds it)' if holder else ' (not confirmed)'}; "
                            "nothing more is written")

    def _lease(self, strict: bool) -> bool:
        """Whether the org lease lets this connector lead (lenient) or write (strict).

        While Salesforce does not answer, the lease can be neither taken nor renewed, and no
        write can go out either: the state's lock alone decides who leads the state (its jobs
        fail and say so), and every write batch waits for a confirmed term. Lost — another
        connector holds the newest term — is lost in both senses."""
        from connector.errors import ConnectorError

        lease = self.lease
        if lease.term is not None or lease.unavailable is not None:
            if lease.still_leader():
                return True
            return not strict and lease.term is not None and lease.unanswered
        if self._retry_at is not None and lease.now() < self._retry_at:
            return not strict  # no answer a moment ago: one try per interval, not one per batch
        try:
            got = bool(lease.try_acquire())
        except ConnectorError as e:
            self._retry_at = lease.now() + lease.renew_every
            if not self._unconfirmed_said:
                self._unconfirmed_said = True
                log.warning("org_lease_unconfirmed", error=str(e), lease=lease.description,
                            note="Salesforce does not answer, so this org's lease cannot be taken: this connector "
                                 "leads its state database but writes nothing to the org until the lease is "
                                 "confirmed (tried every poll interval)")
            return not strict
        self._retry_at, self._unconfirmed_said = None, False
        return got

    def release(self) -> None:
        try:
            self.lease.release()
        finally:
            self.inner.release()

    def holder_elsewhere(self) -> str | None:
        """Who holds the org lease, when another connector does (for the standby's log line)."""
        return self.lease.holder_elsewhere()


def config_hash(path: Path | None) -> str:
    """A short hash of the config file's resolved path: tells two deployments on one host
    apart without putting a path (or anything in the file) into the org."""
    where = str(Path(path).resolve()) if path else "(no config file)"
    return hashlib.sha256(where.encode()).hexdigest()[:16]


def state_key(lock: LeaderLock, state_url: str, store: Any = None) -> str:
    """A short hash naming the state database `lock` guards, as far as that lock reaches: a
    term with this key was held under this very lock, so whoever holds the lock now knows
    that holder is gone. For SQLite the lock is a file lock of the host's kernel, named from
    the database's resolved path: the key names this boot of this host and that path (a
    cloned VM with the same hostname and path is another boot). For PostgreSQL the lock is
    the server's: the key names the server by its address, database and start time (a
    copied deployment with a server of its own at the same address is another server) and
    the advisory lock's key, whichever host connects."""
    from sqlalchemy.engine import make_url

    database = getattr(lock, "database", None)
    if database is not None:
        raw = f"sqlite|{_boot_id()}|{socket.gethostname()}|{database}"
    else:
        url = make_url(state_url)
        raw = (f"{url.get_backend_name()}|{url.host}|{url.port}|{url.database}|{getattr(lock, 'key', '')}"
               f"|{_server_started(store)}")
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _boot_id() -> str:
    """This boot of this host (Linux); elsewhere the host name alone stands for it."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _server_started(store: Any) -> str:
    """When the state's PostgreSQL server started: tells two servers at one address apart."""
    if store is None:
        return ""
    from sqlalchemy import text

    try:
        with store.engine.connect() as conn:
            return str(conn.execute(text("SELECT pg_postmaster_start_time()")).scalar())
    except Exception:  # noqa: BLE001 - no answer: the address alone names the server then
        return "?"


def with_org_lease(lock: LeaderLock, cx: Any, loaded: Any, *, instance: str | None = None) -> LeaderLock:
    """`lock` joined with the org's lease; the lease's first try finds out whether the org
    can hold it (connector/lease.py), and says so once when it cannot."""
    from connector.lease import OBJECT, Holder, OrgLease

    organization_id = getattr(cx.store, "organization_id", None) or _organization_id(cx.client)
    if not organization_id:
        log.warning("org_lease_unavailable", object=OBJECT,
                    problem="the org did not tell its Organization id, which names the lease's terms",
                    note="running with the state's leader lock only: two connectors with their own state "
                         "databases on this org would both route")
        return lock
    holder = Holder(instance=instance or f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}",
                    host=socket.gethostname(), pid=os.getpid(), config_hash=config_hash(loaded.path),
                    state_key=state_key(lock, loaded.state_url(), cx.store))
    lease = OrgLease(cx.client, organization_id, holder, poll_seconds=loaded.settings.schedule.leads,
                     logger=get_logger(component="org_lease", org=loaded.settings.org.name),
                     clock=cx.clock.now)  # Salesforce's time, as every job reads it
    return LeasedLock(lock, lease)


def _organization_id(client: Any) -> str | None:
    from jobs.state.orgs import organization_id

    return organization_id(client)
