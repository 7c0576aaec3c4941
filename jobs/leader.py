"""One active instance: the leader lock, and the standby loop that waits for it.

PostgreSQL: `pg_try_advisory_lock` on a dedicated connection kept open for the life
of the process; the server frees it the moment that connection dies (process killed,
host gone), so no lease to expire and no clock to trust. SQLite: an exclusive OS file
lock next to the database file; the kernel frees it when the process dies.

A standby retries every poll interval, so it takes over within one interval of the
leader's death (the Bar asks for two).
"""
from __future__ import annotations

import threading
import zlib
from pathlib import Path
from typing import Protocol

from filelock import FileLock, Timeout
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from jobs.logging import get_logger

log = get_logger(component="leader")


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a deployment name."""
    return zlib.crc32(f"leadrouter:{name}".encode()) | (0x4C52 << 32)


class LeaderLock(Protocol):
    description: str

    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...


class FileLeaderLock:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.description = f"file lock {self.path}"
        self._lock = FileLock(str(self.path), timeout=0, thread_local=False, is_singleton=False)

    def try_acquire(self) -> bool:
        if self._lock.is_locked:
            return True
        try:
            self._lock.acquire(timeout=0)
            return True
        except Timeout:
            return False

    def still_held(self) -> bool:
        return self._lock.is_locked

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)


class PostgresLeaderLock:
    def __init__(self, url: str, name: str = "default") -> None:
        self.key = lock_key(name)
        self.description = f"PostgreSQL advisory lock {self.key}"
        # Its own engine with one connection: the lock lives exactly as long as it does.
        self._engine = create_engine(url, poolclass=None, pool_size=1, max_overflow=0, pool_pre_ping=False)
        self._conn = None

    def try_acquire(self) -> bool:
        if self._conn is not None and self.still_held():
            return True
        self._drop()
        try:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except Exception as e:  # the database is down: we are certainly not leader
            log.warning("leader_lock_unreachable", error=str(e))
            return False
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
        if got:
            self._conn = conn
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


def lock_for(state_url: str, name: str = "default") -> LeaderLock:
    url = make_url(state_url)
    if url.get_backend_name() == "postgresql":
        return PostgresLeaderLock(state_url, name)
    db = url.database
    if not db or db == ":memory:":
        raise ValueError("an in-memory SQLite state cannot be shared; set [state] url to a file")
    return FileLeaderLock(Path(db).with_name(Path(db).name + ".leader.lock"))


def wait_for_leadership(lock: LeaderLock, interval: float, stop: threading.Event) -> bool:
    """Block as a standby until the lock is ours (True) or we are told to stop (False)."""
    announced = False
    while not stop.is_set():
        if lock.try_acquire():
            log.info("leader_acquired", lock=lock.description)
            return True
        if not announced:
            log.info("standby", lock=lock.description, retry_seconds=interval)
            announced = True
        stop.wait(interval)
    return False
