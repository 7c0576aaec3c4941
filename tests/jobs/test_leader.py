"""One active instance: the leader lock on a SQLite file and on PostgreSQL."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest

from jobs.leader import FileLeaderLock, PostgresLeaderLock, lock_for, wait_for_leadership

from .pg import temp_database


def test_sqlite_state_uses_a_file_lock_next_to_the_database(tmp_path):
    lock = lock_for(f"sqlite:///{tmp_path}/state.sqlite")
    assert isinstance(lock, FileLeaderLock)
    assert lock.path == tmp_path / "state.sqlite.leader.lock"


def test_second_file_lock_holder_is_refused_until_the_first_releases(tmp_path):
    url = f"sqlite:///{tmp_path}/state.sqlite"
    a, b = lock_for(url), lock_for(url)
    assert a.try_acquire()
    assert not b.try_acquire()
    a.release()
    assert b.try_acquire() and b.still_held()
    b.release()


def test_file_lock_is_freed_when_the_holder_process_is_killed(tmp_path):
    url = f"sqlite:///{tmp_path}/state.sqlite"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from jobs.leader import lock_for
        lock = lock_for({url!r})
        assert lock.try_acquire()
        print("held", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        standby = lock_for(url)
        assert not standby.try_acquire()
        holder.kill()
        holder.wait()
        assert standby.try_acquire()
        standby.release()
    finally:
        holder.kill()


def test_standby_takes_over_within_one_interval(tmp_path):
    url = f"sqlite:///{tmp_path}/state.sqlite"
    leader, standby = lock_for(url), lock_for(url)
    assert leader.try_acquire()
    stop = threading.Event()
    got: list[float] = []

    def wait():
        if wait_for_leadership(standby, 0.1, stop):
            got.append(time.monotonic())

    t = threading.Thread(target=wait)
    t.start()
    time.sleep(0.3)
    assert not got
    released = time.monotonic()
    leader.release()
    t.join(timeout=2)
    stop.set()
    assert got and got[0] - released < 0.2 + 0.05
    standby.release()


@pytest.mark.postgres
def test_postgres_advisory_lock_is_exclusive_and_freed_with_its_connection():
    with temp_database() as url:
        a, b = lock_for(url), lock_for(url)
        assert isinstance(a, PostgresLeaderLock)
        assert a.try_acquire() and a.still_held()
        assert not b.try_acquire()
        a._conn.invalidate()  # the connection dies as if the process did
        assert not a.still_held()
        # the server frees the lock once it notices the closed socket: a moment, not a lease
        deadline = time.monotonic() + 2
        while not b.try_acquire():
            assert time.monotonic() < deadline, "the lock was not freed with its connection"
            time.sleep(0.02)
        a.release()
        b.release()
