"""One active instance: the leader lock on a SQLite file and on PostgreSQL."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from jobs.leader import FileLeaderLock, NotLeader, PostgresLeaderLock, guarded, lock_for, wait_for_leadership

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
    """Deterministic: the standby tries once per interval, so the first try after the
    leader lets go succeeds. Its waits are recorded, not slept: the test holds whatever
    the clock does (it hung under `faketime -f '@…'`, see jobs.leader.pause)."""
    url = f"sqlite:///{tmp_path}/state.sqlite"
    leader, standby = lock_for(url), lock_for(url)
    assert leader.try_acquire()
    waits: list[float] = []
    tries_after_release: list[bool] = []
    real_try = standby.try_acquire

    def counting_try() -> bool:
        got = real_try()
        if not leader.still_held():
            tries_after_release.append(got)
        return got

    def pause(stop, seconds):  # noqa: ANN001 - the standby's wait, recorded
        waits.append(seconds)
        if len(waits) == 3:
            leader.release()  # the leader dies during the standby's third wait

    standby.try_acquire = counting_try
    assert wait_for_leadership(standby, 0.1, threading.Event(), pause=pause)
    assert waits == [0.1, 0.1, 0.1], "one try per interval, no longer wait"
    assert tries_after_release == [True], "taken over at the first try after the leader let go"
    standby.release()


def test_standby_takes_over_in_real_time_too(tmp_path):
    """The same with real threads and sleeps; no timed Event/Lock waits (they hang under
    faketime), and a bound loose enough for a loaded machine."""
    url = f"sqlite:///{tmp_path}/state.sqlite"
    leader, standby = lock_for(url), lock_for(url)
    assert leader.try_acquire()
    stop = threading.Event()
    got: list[float] = []

    def wait():
        if wait_for_leadership(standby, 0.1, stop):
            got.append(time.monotonic())

    t = threading.Thread(target=wait, daemon=True)
    t.start()
    time.sleep(0.3)
    assert not got
    released = time.monotonic()
    leader.release()
    while t.is_alive() and time.monotonic() - released < 5:
        time.sleep(0.01)
    stop.set()
    assert got and got[0] - released < 0.1 + 1.0
    standby.release()


def test_wait_for_leadership_gives_up_after_its_timeout(tmp_path):
    url = f"sqlite:///{tmp_path}/state.sqlite"
    leader, standby = lock_for(url), lock_for(url)
    assert leader.try_acquire()
    waits: list[float] = []

    def pause(stop, seconds):  # noqa: ANN001
        waits.append(seconds)
        time.sleep(seconds)

    started = time.monotonic()
    assert not wait_for_leadership(standby, 0.05, threading.Event(), timeout=0.2, pause=pause)
    assert time.monotonic() - started < 2 and 3 <= len(waits) <= 6
    leader.release()


def test_a_database_named_through_a_symlink_has_one_lock(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    a = lock_for(f"sqlite:///{real}/state.sqlite")
    b = lock_for(f"sqlite:///{tmp_path}/link/state.sqlite")
    c = lock_for(f"sqlite:///{tmp_path}/link/../real/state.sqlite")
    (tmp_path / "alias.sqlite").symlink_to(real / "state.sqlite")  # the file itself, under another name
    d = lock_for(f"sqlite:///{tmp_path}/alias.sqlite")
    assert a.path == b.path == c.path == d.path == real / "state.sqlite.leader.lock"
    assert a.try_acquire()
    assert not b.try_acquire() and not c.try_acquire() and not d.try_acquire()
    a.release()


def test_fencing_tokens_grow_with_every_leadership(tmp_path):
    url = f"sqlite:///{tmp_path}/state.sqlite"
    first, second = lock_for(url), lock_for(url)
    assert first.token is None
    assert first.try_acquire()
    token = first.token
    assert token >= 1 and first.still_leader()
    first.assert_leader()
    first.release()
    assert first.token is None and not first.still_leader()
    with pytest.raises(NotLeader):
        first.assert_leader()
    assert second.try_acquire() and second.token == token + 1
    second.release()
    assert first.try_acquire() and first.token == token + 2
    first.release()


def test_a_lock_file_replaced_under_the_leader_deposes_it(tmp_path):
    url = f"sqlite:///{tmp_path}/state.sqlite"
    leader = lock_for(url)
    assert leader.try_acquire()
    leader.path.unlink()  # someone "cleans up"; a second process could now lock a new file
    leader.path.touch()
    assert not leader.still_leader()
    with pytest.raises(NotLeader):
        leader.assert_leader()
    leader.release()


def test_state_database_and_lock_files_are_private(tmp_path):
    lock = lock_for(f"sqlite:///{tmp_path}/state.sqlite")
    assert lock.try_acquire()
    assert stat.S_IMODE(os.stat(lock.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "state.sqlite").st_mode) == 0o600
    lock.release()


def test_a_guarded_job_does_not_start_once_the_lock_is_lost(tmp_path):
    lock = lock_for(f"sqlite:///{tmp_path}/state.sqlite")
    assert lock.try_acquire()
    ran, lost = [], threading.Event()
    job = guarded(lambda: ran.append(1), lock, "leads", lost.set)
    job()
    lock.path.unlink()
    job()
    assert ran == [1] and lost.is_set()
    lock.release()


def test_status_probe_takes_no_token_and_creates_no_lock_file(tmp_path):
    url = f"sqlite:///{tmp_path}/state.sqlite"
    probe = lock_for(url)
    assert not probe.held_elsewhere() and not probe.path.exists()
    leader = lock_for(url)
    assert leader.try_acquire()
    token = leader.token
    assert probe.held_elsewhere()
    leader.release()
    assert not probe.held_elsewhere()
    assert leader.try_acquire() and leader.token == token + 1, "the probe took no token in between"
    leader.release()


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


@pytest.mark.postgres
def test_postgres_leader_whose_lock_connection_is_killed_notices_before_its_next_job():
    from sqlalchemy import create_engine, text

    with temp_database() as url:
        lock = lock_for(url)
        assert lock.try_acquire() and lock.token >= 1
        first = lock.token
        ran, lost = [], threading.Event()
        job = guarded(lambda: ran.append(1), lock, "outbox", lost.set)
        job()
        pid = lock._conn.execute(text("SELECT pg_backend_pid()")).scalar()
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:  # an admin, a failover or a network cut kills the session
            assert c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
        admin.dispose()
        job()  # the very next job, whatever the poll interval
        assert ran == [1] and lost.is_set() and not lock.still_leader()
        with pytest.raises(NotLeader):
            lock.assert_leader()
        other = lock_for(url)
        deadline = time.monotonic() + 5
        while not other.try_acquire():
            assert time.monotonic() < deadline, "the killed session's lock was not freed"
            time.sleep(0.05)
        assert other.token == first + 1, "the next leader's token is higher: its writes fence the old one's"
        other.release()
        lock.release()


@pytest.mark.e2e
def test_two_run_processes_naming_one_database_through_a_symlink_have_one_leader(sandbox_factory, tmp_path,
                                                                                   monkeypatch):
    from jobs.state import Store
    from jobs.state import store as st

    from .conftest import SECRET_ENV, leadrouter
    from .test_crash_e2e import write_config

    sb = sandbox_factory(seed="demo", partners=10, leads=20, random_seed=3)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias.sqlite").symlink_to(real / "state.sqlite")  # the database file, under another name
    configs = []
    for name, db in (("a", real / "state.sqlite"), ("b", tmp_path / "alias.sqlite")):
        d = tmp_path / name
        d.mkdir()
        cfg = write_config(d, sb, stream="poll")  # `run` dials no Pub/Sub beyond loopback
        text = cfg.read_text().replace(f"sqlite:///{d}/state.sqlite", f"sqlite:///{db}")
        cfg.write_text(text + "\n[schedule]\nleads = 1\n")
        configs.append(cfg)
    a = leadrouter(configs[0], "run", "--init")
    deadline = time.monotonic() + 60
    store = None
    while store is None:
        assert time.monotonic() < deadline and a.poll() is None, "the first instance did not start"
        try:
            if (real / "state.sqlite").stat().st_size:
                store = Store(f"sqlite:///{real}/state.sqlite")
        except OSError:
            pass
        time.sleep(0.1)

    def roles() -> dict[int, str]:
        with store.connect() as conn:
            return {i["pid"]: i["role"] for i in st.list_instances(conn)}

    while roles().get(a.pid) != "leader":
        assert time.monotonic() < deadline, "the first instance never led"
        time.sleep(0.1)
    b = leadrouter(configs[1], "run")  # the same database, spelt through the symlink
    while roles().get(b.pid) != "standby":
        assert time.monotonic() < deadline and b.poll() is None, "the second instance, on the same database through a symlink, did not stand by"
        time.sleep(0.1)
    time.sleep(3)  # three poll intervals: still exactly one leader
    assert roles()[a.pid] == "leader" and roles()[b.pid] == "standby"
    for proc in (a, b):
        proc.send_signal(2)
    for proc in (a, b):
        proc.wait(timeout=30)
    with store.connect() as conn:
        by_b = conn.execute(st.schema.job_runs.select().where(st.schema.job_runs.c.instance.like(f"%:{b.pid}:%")))
        assert by_b.fetchall() == [], "the standby ran no job"
    store.dispose()


def test_a_state_file_replaced_under_the_locks_is_no_longer_led_by_the_leader_nor_taken_by_a_standby(tmp_path):
    """SQLite keeps writing to the file it has open. A leader whose database path now names
    another file (a backup copied over it) or none must stop; a standby opened on the old
    file must not take over on it (its pooled connections write to the old file)."""
    url = f"sqlite:///{tmp_path}/state.sqlite"
    (tmp_path / "state.sqlite").touch()
    leader, standby = lock_for(url), lock_for(url)
    assert leader.try_acquire() and leader.still_held() and not standby.try_acquire()
    (tmp_path / "backup.sqlite").write_bytes((tmp_path / "state.sqlite").read_bytes())
    (tmp_path / "backup.sqlite").replace(tmp_path / "state.sqlite")
    assert not leader.still_held() and not leader.still_leader()
    assert "replaced" in leader.gone and str(tmp_path / "state.sqlite") in leader.gone
    with pytest.raises(NotLeader, match="replaced"):
        leader.try_acquire()
    leader.release()
    with pytest.raises(NotLeader, match="replaced"):
        standby.try_acquire()
    assert not standby.still_held()
    fresh = lock_for(url)  # a restarted process opens the file now at the path: it leads
    assert fresh.try_acquire() and fresh.still_held()
    fresh.release()
