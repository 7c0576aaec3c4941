"""A state database server that does not answer holds no caller for minutes: every
PostgreSQL connection the connector opens (the store, the leader lock, the check that
tells an outage from a refusal) is made with a bounded connect_timeout, unless the URL
names its own."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from jobs.leader import PostgresLeaderLock
from jobs.state.store import CONNECT_TIMEOUT, _engine, server_connect_args

from .pg import temp_database


def test_a_server_url_gets_a_bounded_connect_and_sqlite_gets_none():
    assert server_connect_args("postgresql+psycopg://postgres@db.internal/leadrouter") == {
        "connect_timeout": CONNECT_TIMEOUT}
    assert server_connect_args("sqlite:///state.sqlite") == {}


def test_a_url_that_names_its_own_connect_timeout_keeps_it():
    assert server_connect_args("postgresql+psycopg://postgres@db/lr?connect_timeout=3") == {}


@pytest.mark.postgres
def test_the_store_and_the_leader_lock_connect_with_the_bound():
    seen = []
    with temp_database() as url:
        for engine in (_engine(url, 1), PostgresLeaderLock(url)._engine):
            event.listen(engine, "do_connect",
                         lambda dialect, rec, cargs, cparams: seen.append(cparams.get("connect_timeout")))
            with engine.connect():
                pass
            engine.dispose()
    assert seen == [CONNECT_TIMEOUT, CONNECT_TIMEOUT]
