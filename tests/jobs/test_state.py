"""The state database: versioned schema, one live offer per lead enforced by the DB itself."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, text

from jobs.state import Store
from jobs.state import offers as of
from jobs.state import outbox as ob
from jobs.state import store as st
from jobs.state.migrations import MIGRATIONS, Migration, SchemaTooNew, migrate
from jobs.state.schema import SCHEMA_VERSION

from .pg import temp_database

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path}/state.sqlite")
        yield s
        s.dispose()
    else:
        with temp_database() as url:
            s = Store(url)
            yield s
            s.dispose()


def test_schema_version_matches_the_last_migration():
    assert SCHEMA_VERSION == max(m.version for m in MIGRATIONS)


def test_fresh_database_is_created_at_the_latest_version(store):
    assert store.version == SCHEMA_VERSION
    names = set(inspect(store.engine).get_table_names())
    assert {"offers", "outbox", "watermarks", "snapshot", "decisions", "job_runs", "routing_state",
            "exclusions", "leads", "schema_version"} <= names


def test_a_lead_cannot_have_two_live_offers_even_if_code_tries(store):
    with store.begin() as conn:
        of.insert_offer(conn, lead_id="00Q1", kind="offer", partner_id="001A", attempt=1, offered_at=NOW)
        with pytest.raises(of.LiveOfferExists):
            of.insert_offer(conn, lead_id="00Q1", kind="offer", partner_id="001B", attempt=2, offered_at=NOW)
        # the failed insert did not spoil the transaction: other leads still go in
        of.insert_offer(conn, lead_id="00Q2", kind="offer", partner_id="001B", attempt=1, offered_at=NOW)
    with store.connect() as conn:
        assert of.offer_status_counts(conn) == {"live": 2}


def test_a_closed_offer_makes_room_for_the_next_one(store):
    with store.begin() as conn:
        first = of.insert_offer(conn, lead_id="00Q1", kind="offer", partner_id="001A", attempt=1, offered_at=NOW)
        assert of.close_offer(conn, first, "rejected", "not our region", NOW)
        assert not of.close_offer(conn, first, "lapsed", "twice", NOW), "only a live offer can be closed"
        of.insert_offer(conn, lead_id="00Q1", kind="offer", partner_id="001B", attempt=2, offered_at=NOW)
    with store.connect() as conn:
        assert [o["status"] for o in of.offers_for_lead(conn, "00Q1")] == ["rejected", "live"]


def test_datetimes_come_back_as_aware_utc(store):
    berlin = NOW.astimezone(timezone(timedelta(hours=1)))
    with store.begin() as conn:
        st.set_watermark(conn, "leads", berlin, NOW)
    with store.connect() as conn:
        got = st.get_watermark(conn, "leads")
    assert got == NOW and got.tzinfo is not None


def test_expired_and_reminder_queries_pick_by_deadline(store):
    with store.begin() as conn:
        of.insert_offer(conn, lead_id="00Q1", kind="offer", attempt=1, offered_at=NOW, deadline=NOW + timedelta(hours=1))
        of.insert_offer(conn, lead_id="00Q2", kind="offer", attempt=1, offered_at=NOW, deadline=NOW + timedelta(hours=10))
    with store.connect() as conn:
        assert [o["lead_id"] for o in of.expired_offers(conn, NOW + timedelta(hours=2))] == ["00Q1"]
        remind = of.offers_to_remind(conn, NOW + timedelta(hours=7), timedelta(hours=4))
        assert [o["lead_id"] for o in remind] == ["00Q2"]


def test_a_newer_decision_supersedes_an_unsent_write_for_the_same_lead(store):
    with store.begin() as conn:
        ob.add(conn, lead_id="00Q1", purpose="offer", payload={"OwnerId": "005A"}, now=NOW)
        ob.add(conn, lead_id="00Q1", purpose="offer", payload={"OwnerId": "005B"}, now=NOW)
    with store.connect() as conn:
        open_ = ob.open_entries(conn)
        assert [e["payload"]["OwnerId"] for e in open_] == ["005B"]
        assert ob.status_counts(conn) == {"pending": 1, "dropped": 1}


def test_migrations_run_in_order_on_an_existing_database(tmp_path):
    url = f"sqlite:///{tmp_path}/old.sqlite"
    store = Store(url)
    applied = []
    nxt = MIGRATIONS[-1].version + 1

    def add_column(conn, now):
        applied.append(nxt)
        conn.execute(text("ALTER TABLE offers ADD COLUMN note VARCHAR(40)"))

    version = migrate(store.engine, [*MIGRATIONS, Migration(nxt, "offer notes", add_column)])
    assert version == nxt and applied == [nxt]
    assert "note" in {c["name"] for c in inspect(store.engine).get_columns("offers")}
    # running again is a no-op
    assert migrate(store.engine, [*MIGRATIONS, Migration(nxt, "offer notes", add_column)]) == nxt
    assert applied == [nxt]
    # and an older leadrouter refuses a newer database instead of corrupting it
    with pytest.raises(SchemaTooNew, match="upgrade leadrouter"):
        migrate(store.engine, MIGRATIONS)
    store.dispose()


def test_a_version_1_database_gains_the_api_budget_table(tmp_path):
    engine = Store(f"sqlite:///{tmp_path}/v1.sqlite").engine
    with engine.begin() as conn:  # as version 1 left it: no api_budget table
        conn.execute(text("DROP TABLE api_budget"))
        conn.execute(text("DELETE FROM schema_version WHERE version > 1"))
        conn.execute(text("INSERT OR IGNORE INTO schema_version (version, name, applied_at) "
                          "VALUES (1, 'initial', '2026-01-01 00:00:00')"))
    assert migrate(engine) == MIGRATIONS[-1].version
    assert inspect(engine).has_table("api_budget")
    engine.dispose()


def test_housekeeping_prunes_old_bookkeeping_and_keeps_the_history(store):
    from jobs import housekeeping
    from jobs.state.schema import decisions, job_runs

    old, recent = NOW - timedelta(days=40), NOW - timedelta(days=1)
    with store.begin() as conn:
        for when in (old, recent):
            row = st.start_job_run(conn, "r1", "leads", "test", when)
            st.finish_job_run(conn, row, when, {}, 0, None)
            ob.add(conn, lead_id=f"00Q{when.day}", purpose="offer", payload={}, now=when)
            ob.record_decision(conn, lead_id="00Q1", at=when, kind="offer", rule=None, partner_id=None,
                               attempt=1, decision={})
        ob.mark(conn, [e["id"] for e in ob.open_entries(conn)], "confirmed", old)

    from jobs.config import Settings

    class Cx:
        pass

    cx = Cx()
    cx.store = store
    cx.settings = Settings()
    assert housekeeping.run(cx, NOW) == {"job_runs_pruned": 1, "outbox_pruned": 2}
    with store.connect() as conn:
        assert len(conn.execute(job_runs.select()).fetchall()) == 1
        assert len(conn.execute(decisions.select()).fetchall()) == 2, "the decision audit is history: kept"


def test_migration_3_moves_per_lead_facts_to_rows_without_losing_a_live_offer_or_a_bar(tmp_path):
    """A version-2 database kept who declined what inside one JSON document; after the
    migration the rows say it, the document holds counters only, live offers stand."""
    import json

    from jobs.lifecycle import load_state

    url = f"sqlite:///{tmp_path}/v2.sqlite"
    store = Store(url)
    with store.begin() as conn:  # make it look like version 2 with a v1 document
        conn.execute(text("DELETE FROM schema_version"))
        conn.execute(text("INSERT INTO schema_version (version, name, applied_at) VALUES (2, 'v2', '2026-01-01')"))
        of.insert_offer(conn, lead_id="00Q1", kind="offer", partner_id="001B", rule="EMEA", attempt=2, offered_at=NOW)
        of.exclude(conn, "00Q1", "001A", "rejected", "not ours", NOW)
        doc = {"version": 1, "excluded": {"00Q1": {"001A": "rejected", "00G9": "lapsed"}, "00Q7": {"001C": "lapsed"}},
               "open_offers": {"001B": 1}, "open_by_lead": {"00Q1": "001B"}, "offer_rule": {"00Q1": "EMEA"},
               "daily": {}, "rotation": {"EMEA": "001B"}, "rep_rotation": {}, "performance": {}, "incumbents": {}}
        conn.execute(text("INSERT INTO routing_state (id, data, updated_at) VALUES (1, :d, '2026-01-01')"),
                     {"d": json.dumps(doc)})
    store.dispose()
    store = Store(url)  # migrates on open
    assert store.version == SCHEMA_VERSION
    with store.connect() as conn:
        data = st.load_routing_state(conn)
        # version 2 from this migration, 5 from migration 10 (its incumbents, none here, are rows)
        assert data["version"] == 5 and "excluded" not in data and data["rotation"] == {"EMEA": "001B"}
        state = load_state(conn, ["00Q1", "00Q7"])
        assert state.declined("00Q1") == {"001A": "rejected", "00G9": "lapsed"}, "the pool's bar carried over"
        assert state.declined("00Q7") == {"001C": "lapsed"}
        assert state.open_by_lead == {"00Q1": "001B"} and state.offer_rule == {"00Q1": "EMEA"}
        assert of.offer_status_counts(conn) == {"live": 1}
        assert conn.execute(text("SELECT COUNT(*) FROM exclusions WHERE lead_id = '00Q1' AND partner_id = '001A'"))\
            .scalar() == 1, "a bar the table had is not doubled"
    store.dispose()


def test_migration_3_dates_the_bars_it_carries_over_by_salesforces_clock_not_the_hosts(tmp_path):
    """A bar carried over from the version-1 document is dated when the migration runs, by
    the connector's clock (Salesforce's), as every other time in the state: the partner
    feedback counts a rejection by that date, so a host days off moved it in or out of its
    window."""
    import json

    from sqlalchemy import select

    from jobs.state.schema import exclusions
    from jobs.timeutil import as_utc

    org_now = datetime(2031, 2, 27, 9, 0, tzinfo=timezone.utc)  # years from any host's today
    url = f"sqlite:///{tmp_path}/v2.sqlite"
    store = Store(url)
    with store.begin() as conn:  # make it look like version 2 with a v1 document
        conn.execute(text("DELETE FROM schema_version"))
        conn.execute(text("INSERT INTO schema_version (version, name, applied_at) VALUES (2, 'v2', '2026-01-01')"))
        doc = {"version": 1, "excluded": {"00Q7": {"001C": "rejected"}}, "open_offers": {}, "daily": {},
               "rotation": {}, "rep_rotation": {}, "performance": {}, "incumbents": {}}
        conn.execute(text("INSERT INTO routing_state (id, data, updated_at) VALUES (1, :d, '2026-01-01')"),
                     {"d": json.dumps(doc)})
    store.dispose()
    store = Store(url, now=lambda: org_now)  # migrates on open, on the org's clock
    try:
        with store.connect() as conn:
            at = conn.execute(select(exclusions.c.at).where(exclusions.c.lead_id == "00Q7")).scalar_one()
        assert as_utc(at) == org_now, f"carried over at {at}, the host's time, not the org's {org_now}"
    finally:
        store.dispose()


def test_an_activity_task_is_sent_by_one_claim_only(store):
    """The job that decided a Task and the outbox job retrying the waiting ones may take the
    same row at once: one of them sends it, or it would show twice on the Lead."""
    from jobs.state import activity as tasks

    with store.begin() as conn:
        [entry] = tasks.add(conn, [{"lead_id": "00Q000000000001AAA", "kind": "reminder", "setting": "reminder_tasks",
                                    "record": {"Subject": "Offer reminder sent"}}], NOW)
    with store.begin() as conn:
        assert tasks.claim(conn, [entry], NOW, NOW + timedelta(minutes=1)) == {entry}
    with store.begin() as conn:
        assert tasks.claim(conn, [entry], NOW, NOW + timedelta(minutes=1)) == set(), "taken already"
        assert tasks.due(conn, NOW, 10) == []
    with store.begin() as conn:  # its answer never came: due again after the wait, read back first
        [row] = tasks.due(conn, NOW + timedelta(minutes=1), 10)
        assert (row["status"], row["attempts"], row["first_sent_at"]) == ("sent", 1, NOW)
