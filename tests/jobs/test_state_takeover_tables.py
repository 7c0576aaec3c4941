"""A single-org state taken over by its named org moves with every table it has: the change
event stream's position and the Bulk API jobs in flight included (a state moved without
them resumed the stream from the start and lost the running ingest jobs)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text

from jobs.state import Store
from jobs.state.migrations import carry_over
from jobs.state.schema import metadata

from .pg import temp_database

NOW = datetime(2031, 3, 2, 10, 0, tzinfo=timezone.utc)


def test_every_table_of_the_state_is_one_a_take_over_moves():
    assert set(metadata.tables) - set(carry_over.TABLES) == set()


@pytest.mark.postgres
def test_the_stream_position_and_bulk_jobs_in_flight_move_with_the_state():
    from jobs.state.migrations import MIGRATIONS
    from jobs.state.orgs import url_for

    with temp_database() as url:
        engine = create_engine(url)
        with engine.begin() as conn:  # as a single-org connector of this version left it
            for m in MIGRATIONS:
                m.apply(conn, NOW)
                conn.execute(text("INSERT INTO schema_version (version, name, applied_at) VALUES (:v, :n, :at)"),
                             {"v": m.version, "n": m.name, "at": NOW.replace(tzinfo=None)})
            conn.execute(text("INSERT INTO stream_state (topic, replay_id, mode) VALUES ('/data/LeadChangeEvent', "
                              "'\\x0102'::bytea, 'cdc')"))
            conn.execute(text("INSERT INTO bulk_jobs (upload, job_id, sobject, state, entries, created_at, updated_at) "
                              "VALUES ('u1', '750000000000001AAA', 'Lead', 'running', '[1, 2]', :t, :t)"),
                         {"t": NOW.replace(tzinfo=None)})
        acme = Store(url_for(url, "acme"), org="acme", organization_id="00D5g0000000001EAA")
        try:
            with acme.connect() as conn:
                assert conn.execute(text("SELECT replay_id FROM stream_state")).scalar() == b"\x01\x02"
                assert conn.execute(text("SELECT job_id FROM bulk_jobs WHERE state = 'running'")).scalar() \
                    == "750000000000001AAA"
        finally:
            acme.dispose()
            engine.dispose()
