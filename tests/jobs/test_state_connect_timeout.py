"""A state database server that does not answer holds no caller for minutes: every
PostgreSQL connection the connector opens (the store, the leader lock, the check that
tells an outage from a refusal) is made with a bounded connect_timeout and TCP
keepalives, unless the URL names its own."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from jobs.leader import PostgresLeaderLock
from jobs.state.store import CONNECT_TIMEOUT, KEEPALIVES, _engine, server_connect_args

from .pg import temp_database


def test_a_server_url_gets_a_bounded_connect_and_keepalives_and_sqlite_gets_none():
    assert server_connect_args("postgresql+psycopg://postgres@db.internal/leadrouter") == {
        "connect_timeout": CONNECT_TIMEOUT, **KEEPALIVES}
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
