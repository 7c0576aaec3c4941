"""The PostgreSQL leader lock's engine pings a pooled connection before using it: a
standby whose idle connection the server dropped (a restart, a failover, an idle
timeout) takes the lock at its next try, instead of failing that try."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from jobs.leader import lock_for

from .pg import temp_database


@pytest.mark.postgres
def test_a_standby_whose_pooled_connection_the_server_dropped_takes_the_lock_at_its_next_try():
    with temp_database() as url:
        leader, standby = lock_for(url), lock_for(url)
        assert leader.try_acquire()
        assert not standby.try_acquire()  # its connection goes back to its pool, idle
        leader_pid = leader._conn.execute(text("SELECT pg_backend_pid()")).scalar()
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as c:  # every session but the leader's and this one: the standby's idle one
                killed = c.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), :leader)"),
                    {"leader": leader_pid}).scalar()
            assert killed == 1
        finally:
            admin.dispose()
        leader.release()
        try:
            assert standby.try_acquire(), "the standby did not take the freed lock"
            assert standby.token is not None
        finally:
            standby.release()
