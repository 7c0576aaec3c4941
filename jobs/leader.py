"""One active instance: the leader lock, and the standby loop that waits for it.

PostgreSQL: `pg_try_advisory_lock` on a dedicated connection kept open for the life
of the process; the server frees it when that connection dies: at once for a process
killed, and for a host gone or cut off by a partition after 90 s of silence on the
session (server-side TCP keepalives, jobs/state/store.py SERVER_KEEPALIVES; the server's
default held it over two hours). No lease to expire and no clock to trust but the
server's own timers; the cut-off leader writes nothing meanwhile (its fence needs the
database). SQLite: an exclusive OS file
lock next to the database file; the kernel frees it when the process dies.

A standby retries every poll interval, so it takes over within one interval of the
leader's death (the Bar asks for two).

One lock per state database IDENTITY: the SQLite lock file is named from the resolved
path, so two configs naming one database through a symlink share one lock (they did
not: both led, and 41 jobs failed with "database is locked"). On PostgreSQL the
identity is the org (jobs/state/orgs.py): each org's workers share one advisory lock
key and the org's schema, so many orgs in one database each have their own leader.

Fencing: each acquisition takes `token`, a number one higher than any leader of this
database took before (a one-row `leader_token` table in the state database itself, so
it lives and dies with the data it guards). Writes stored with their token let the
store refuse a deposed leader's late batch. `still_leader()` asks the lock itself (the
PostgreSQL server; for a file, that the lock file is still the one we locked), and is
called before each job and each write batch — not only once per poll interval.

These locks keep apart the instances of ONE state database. Connectors with their own
states on one org (a second VM, a copied deployment) share only the org: `run` and `once`
join this lock with the org's lease (jobs/org_lease.py, connector/lease.py), and lead
only while they hold both.
"""
from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from pathlib import Path
from typing import Any, Callable, Protocol

from filelock import FileLock, Timeout
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from jobs.logging import get_logger
from jobs.state.orgs import ensure_schema, lock_key, org_of
from jobs.state.store import keep_lock_session_alive, server_connect_args, sqlite_trouble

log = get_logger(component="leader")


class NotLeader(RuntimeError):
    """This instance no longer holds the leader lock: nothing more may be written."""


class LeaderLock(Protocol):
    description: str
    token: int | None  # the fencing token of the current leadership, None when not leader

    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def still_leader(self) -> bool: ...

    def assert_leader(self) -> None: ...

    def release(self) -> None: ...


# One row, one number: the highest fencing token any leader of this database took.
TOKEN_TABLE = "CREATE TABLE IF NOT EXISTS leader_token (id INTEGER PRIMARY KEY, token BIGINT NOT NULL)"
NEXT_TOKEN = ("INSERT INTO leader_token (id, token) VALUES (1, 1) "
              "ON CONFLICT (id) DO UPDATE SET token = leader_token.token + 1 RETURNING token")


class _Fenced:
    description: str
    token: int | None = None

    def still_leader(self) -> bool:
        return self.still_held()  # type: ignore[attr-defined]

    def assert_leader(self) -> None:
        if not self.still_leader():
            self.token = None
            raise NotLeader(f"the leader lock ({self.description}) is no longer ours; nothing more is written")


class FileLeaderLock(_Fenced):
    def __init__(self, path: Path, database: Path | None = None) -> None:
        self.path = Path(path)
        self.database = Path(database) if database is not None else None
        self.description = f"file lock {self.path}"
        self.token = None
        # 0600: the lock file sits beside a database of personal data
        self._lock = FileLock(str(self.path), timeout=0, mode=0o600, thread_local=False, is_singleton=False)
        self._inode: tuple[int, int] | None = None
        # the database file this process opens (the caller made it, or opened it, before the
        # lock): a standby's pooled connections are on it too, so it is the one to lead
        self._database_inode = _file_identity(self.database) if self.database is not None else None
        # why this process can never lead this path again: its database file was deleted or
        # replaced under it (`leadrouter run` stops, exit 4, instead of standing by)
        self.gone: str | None = None

    def try_acquire(self) -> bool:
        if self._lock.is_locked and self.still_held():
            return True
        if self.gone:
            raise NotLeader(self.gone)  # this process's connections still hold the old file
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        self._inode = _identity(self.path)
        if self.database is not None:
            try:
                self.token = _sqlite_token(self.database)
            except sqlite3.Error as e:
                self.release()
                raise NotLeader(sqlite_trouble(str(e), str(self.database))
                                or f"cannot take a fencing token in {self.database}: {e}") from None
            if self._database_inode is None:
                self._database_inode = _file_identity(self.database)
            if not self._database_still_ours():
                self.release()
                raise NotLeader(self.gone)
        return True

    def still_held(self) -> bool:
        # locked by us, and the lock file on disk is still the one we locked: a lock file
        # deleted and recreated would let a second process "lock" the new one
        if not (self._lock.is_locked and self._inode is not None and _identity(self.path) == self._inode):
            return False
        return self._database_still_ours()

    def _database_still_ours(self) -> bool:
        """The database path still names the file we opened. SQLite keeps writing to the file
        it has open: after a `rm` or a backup copied over it, every offer written would go to
        a file no later run reads, while the org is written as usual."""
        if self.database is None or self._database_inode is None:
            return True
        now = _file_identity(self.database)
        if now == self._database_inode:
            return True
        if self.gone is None:
            what = "deleted" if now is None else "replaced by another file (a backup put back?)"
            self.gone = (
                f"the state database {self.database} was {what} while this process had it open: SQLite goes on "
                "writing to the file it had open, which no later run would read, so nothing more is written "
                "to Salesforce.\n  fix: restart leadrouter (systemd and Kubernetes do). A missing file is "
                "rebuilt from the org before any job (state_lost); a file put back from a backup is read as "
                "it is and the leads it does not know are named (routed_leads_unknown_to_state): then stop, "
                "move it aside and run `leadrouter state rebuild`. To restore a backup, stop leadrouter first")
            log.error("state_database_gone", database=str(self.database), problem=self.gone)
        return False

    def release(self) -> None:
        self.token = None
        self._inode = None
        if self._lock.is_locked:
            self._lock.release(force=True)

    def held_elsewhere(self) -> bool:
        """Whether another process leads, for `status`: tried and let go at once, without
        a fencing token (nothing is written) and without creating a missing lock file."""
        if self._lock.is_locked:
            return False
        if not self.path.exists():
            return False
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return True
        self._lock.release(force=True)
        return False


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _file_identity(path: Path) -> tuple[int, int] | None:
    """A regular file's identity; None for anything else (a volume not mounted yet leaves a
    directory or nothing at the path: no file this process could have opened)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def _sqlite_token(database: Path) -> int:
    if not database.exists():
        os.close(os.open(database, os.O_RDWR | os.O_CREAT, 0o600))
    conn = sqlite3.connect(str(database), timeout=5, isolation_level=None)
    try:
        conn.execute(TOKEN_TABLE)
        return int(conn.execute(NEXT_TOKEN).fetchone()[0])
    finally:
        conn.close()


class PostgresLeaderLock(_Fenced):
    def __init__(self, url: str, name: str | None = None) -> None:
        self.org = org_of(url)
        self.key = lock_key(name or self.org)
        self.description = f"PostgreSQL advisory lock {self.key} (org {name or self.org})"
        # Its own engine with one connection: the lock lives exactly as long as it does.
        # pool_pre_ping: a standby's pooled connection the server dropped meanwhile (a
        # restart, a failover, an idle timeout) is replaced when the next try checks it
        # out, instead of failing that try with a closed connection.
        self._engine = create_engine(url, poolclass=None, pool_size=1, max_overflow=0, pool_pre_ping=True,
                                     connect_args=server_connect_args(url))
        keep_lock_session_alive(self._engine)
        self._conn = None
        self.unreachable: str | None = None  # why the last try could not even ask (the database is down)

    def try_acquire(self) -> bool:
        if self._conn is not None and self.still_held():
            return True
        self._drop()
        try:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except Exception as e:  # the database is down: we are certainly not leader
            self.unreachable = str(getattr(e, "orig", None) or e).strip()
            log.warning("leader_lock_unreachable", error=str(e))
            return False
        self.unreachable = None
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
        if got:
            self._conn = conn
            try:
                ensure_schema(conn, self.org)  # the fencing token lives in the org's schema: made here if first
                conn.execute(text(TOKEN_TABLE))
                self.token = int(conn.execute(text(NEXT_TOKEN)).scalar())
            except Exception as e:  # noqa: BLE001 - no token, no leadership
                log.warning("leader_token_failed", error=str(e))
                self.release()
                return False
            return True
        conn.close()
        return False

    def still_held(self) -> bool:
        if self._conn is None:
            return False
        try:
            n = self._conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint) = :k"),
                {"k": self.key}).scalar()
            return bool(n)
        except Exception:
            self._drop()
            return False

    def _drop(self) -> None:
        self.token = None
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            except Exception:
                pass
        self._drop()
        self._engine.dispose()


def lock_for(state_url: str, name: str | None = None) -> LeaderLock:
    """The leader lock of the state at `state_url`: on PostgreSQL the advisory lock of
    the org the URL was made for (jobs/state/orgs.py url_for), unless `name` says."""
    url = make_url(state_url)
    if url.get_backend_name() == "postgresql":
        return PostgresLeaderLock(state_url, name)
    db = url.database
    if not db or db == ":memory:":
        raise ValueError("an in-memory SQLite state cannot be shared; set [state] url to a file")
    # the database's identity, not its spelling: symlinks and `..` resolved
    real = Path(db).resolve()
    return FileLeaderLock(real.with_name(real.name + ".leader.lock"), database=real)


def pause(stop: threading.Event, seconds: float) -> bool:
    """`stop.wait(seconds)` in short sleeps. A timed Event.wait hangs for good under
    libfaketime (`faketime -f '@…'` fakes CLOCK_MONOTONIC, CPython turns the timeout into
    an absolute deadline on that clock and hands it to sem_clockwait, which libfaketime
    does not intercept: the kernel waits for its real monotonic clock to reach a fake
    one ~57 years ahead). time.sleep is intercepted, so it keeps working. Returns
    whether `stop` is set, as Event.wait does."""
    end = time.monotonic() + seconds
    while not stop.is_set():
        left = end - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(left, 0.05))
    return True


def wait_for_leadership(lock: LeaderLock, interval: float, stop: threading.Event, *,
                        timeout: float | None = None,
                        pause: Callable[[threading.Event, float], Any] = pause) -> bool:
    """Block as a standby until the lock is ours (True), we are told to stop or
    `timeout` seconds have passed (False). One attempt per `interval`."""
    announced = False
    end = None if timeout is None else time.monotonic() + timeout
    while not stop.is_set():
        if lock.try_acquire():
            log.info("leader_acquired", lock=lock.description, token=getattr(lock, "token", None))
            return True
        if not announced:
            log.info("standby", lock=lock.description, retry_seconds=interval)
            announced = True
        wait = interval if end is None else min(interval, end - time.monotonic())
        if wait <= 0:
            return False
        pause(stop, wait)
    return False


def guarded(fn: Callable[[], Any], lock: LeaderLock, name: str, on_lost: Callable[[], None]) -> Callable[[], Any]:
    """A job that first asks the lock itself whether we still lead (on PostgreSQL: a
    query on the lock's own connection), so a deposed leader stops before its next job,
    not up to a poll interval later when the service's own check comes round."""
    def run() -> Any:
        if not lock.still_leader():
            log.error("leader_lock_lost", lock=lock.description, job=name,
                      note="job not started; stopping jobs, back to standby")
            on_lost()
            return None
        return fn()

    run.__name__ = getattr(fn, "__name__", name)
    return run


def guard_jobs(make_jobs: Callable[[threading.Event], list[Any]], lock: LeaderLock
               ) -> Callable[[threading.Event], list[Any]]:
    """`make_jobs` (→ JobSpecs) with every job guarded by `still_leader()`."""
    from dataclasses import replace

    def make(job_stop: threading.Event) -> list[Any]:
        return [replace(j, fn=guarded(j.fn, lock, j.name, job_stop.set)) for j in make_jobs(job_stop)]

    return make
