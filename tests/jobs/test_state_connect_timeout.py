"""A state database server that does not answer holds no caller for minutes: every
PostgreSQL connection the connector opens (the store, the leader lock, the check that
tells an outage from a refusal) is made with a bounded connect_timeout and TCP
keepalives, unless the URL names its own."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from jobs.leader import PostgresLeaderLock
from jobs.state.store import (
    CONNECT_TIMEOUT,
    KEEPALIVES,
    SERVER_KEEPALIVES,
    TCP_USER_TIMEOUT_MS,
    _engine,
    server_connect_args,
)

from .pg import temp_database


def test_a_server_url_gets_a_bounded_connect_and_keepalives_and_sqlite_gets_none():
    assert server_connect_args("postgresql+psycopg://postgres@db.internal/leadrouter") == {
        "connect_timeout": CONNECT_TIMEOUT, **KEEPALIVES, "tcp_user_timeout": TCP_USER_TIMEOUT_MS}
    assert server_connect_args("sqlite:///state.sqlite") == {}


def test_a_url_that_names_its_own_connect_timeout_or_keepalive_keeps_it():
    args = server_connect_args("postgresql+psycopg://postgres@db/lr?connect_timeout=3&keepalives_idle=5")
    assert "connect_timeout" not in args and "keepalives_idle" not in args
    assert args["keepalives"] == 1 and args["keepalives_count"] == 3


@pytest.mark.postgres
def test_the_store_and_the_leader_lock_connect_with_the_bound():
    seen = []
    with temp_database() as url:
        for engine in (_engine(url, 1), PostgresLeaderLock(url)._engine):
            event.listen(engine, "do_connect",
                         lambda dialect, rec, cargs, cparams: seen.append(
                             (cparams.get("connect_timeout"), cparams.get("keepalives_idle"))))
            with engine.connect():
                pass
            engine.dispose()
    assert seen == [(CONNECT_TIMEOUT, KEEPALIVES["keepalives_idle"])] * 2


@pytest.mark.postgres
def test_the_server_lets_a_silent_leaders_lock_go_in_90_seconds_not_two_hours():
    """A leader cut off by a network partition sends nothing; the server frees its advisory
    lock only when its own TCP keepalives give up on the session, by default after 7200 s
    idle (+ 9 probes of 75 s): every standby waited over two hours. The lock's session now
    asks the server for 60 s idle, 3 probes 10 s apart, and unacknowledged data dropped after
    90 s — longer than the leader's own side takes to give up (30 s + 3 × 10 s, 60 s), so the
    leader has stopped before a standby can lead, and no two hosts' clocks are compared."""
    from sqlalchemy import text

    with temp_database() as url:
        lock = PostgresLeaderLock(url)
        assert lock.try_acquire()
        try:
            on_server = {k: lock._conn.execute(text(f"SHOW {k}")).scalar() for k in SERVER_KEEPALIVES}
            assert on_server == {"tcp_keepalives_idle": "60", "tcp_keepalives_interval": "10",
                                 "tcp_keepalives_count": "3", "tcp_user_timeout": "90000"}, on_server
            server_gives_up = 60 + 3 * 10
            leader_gives_up = max(KEEPALIVES["keepalives_idle"] + KEEPALIVES["keepalives_count"]
                                  * KEEPALIVES["keepalives_interval"], TCP_USER_TIMEOUT_MS / 1000)
            assert leader_gives_up < server_gives_up
            client = lock._conn.connection.dbapi_connection.info.get_parameters()
            assert client.get("tcp_user_timeout") == str(TCP_USER_TIMEOUT_MS), client
        finally:
            lock.release()
