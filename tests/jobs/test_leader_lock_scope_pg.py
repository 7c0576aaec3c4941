"""Advisory locks belong to one database: a leader of org 'default' in another database
on the same server is not this state's leader (every org's lock key is the same in
each database), for `status` as for the lock itself."""
from __future__ import annotations

import pytest

from jobs.leader import PostgresLeaderLock
from jobs.ops.status import _pg_lock_held

from .pg import temp_database

pytestmark = pytest.mark.postgres


def test_a_leader_in_another_database_is_not_this_states_leader():
    with temp_database() as staging, temp_database() as prod:
        elsewhere = PostgresLeaderLock(staging)
        here = PostgresLeaderLock(prod)
        try:
            assert elsewhere.try_acquire(), "the staging worker leads its own database"
            assert elsewhere.key == here.key, "the same org name gives the same key in every database"
            assert not _pg_lock_held(here), "status must not report staging's leader as prod's"
            assert here.try_acquire(), "and prod's worker may lead prod"
            looker = PostgresLeaderLock(prod)  # `status` looks with a lock object of its own
            try:
                assert _pg_lock_held(looker)
            finally:
                looker.release()
        finally:
            here.release()
            elsewhere.release()
