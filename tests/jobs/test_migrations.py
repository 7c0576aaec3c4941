"""Migrations: frozen DDL that replays into today's schema, and version 4 carrying a
single-org state (made at version 3 by the frozen steps themselves) over to a named
org without losing a live offer — on a SQLite file and on a PostgreSQL database."""
from __future__ import annotations

import ast
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from jobs.leader import lock_for
from jobs.state import StateProblem, Store
from jobs.state import offers as of
from jobs.state import outbox as ob
from jobs.state import schema
from jobs.state import store as st
from jobs.state.migrations import MIGRATIONS
from jobs.state.orgs import url_for

from .pg import temp_database

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
ACME_ID, GLOBEX_ID = "00D5g0000000001EAA", "00D5g0000000002EAA"
MIGRATION_DIR = Path(__file__).resolve().parents[2] / "jobs" / "state" / "migrations"


def shape(engine) -> dict[str, dict]:
    """Tables with their columns (type, nullability), primary key, indexes and foreign keys."""
    insp = inspect(engine)
    out = {}
    for name in sorted(insp.get_table_names()):
        out[name] = {
            "columns": {c["name"]: (str(c["type"]), c["nullable"]) for c in insp.get_columns(name)},
            "pk": insp.get_pk_constraint(name)["constrained_columns"],
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]),
                               tuple(sorted((k, str(v)) for k, v in (i.get("dialect_options") or {}).items())))
                              for i in insp.get_indexes(name)),
            "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                          for f in insp.get_foreign_keys(name)),
        }
    return out


def replay(engine, upto: int) -> None:
    """A database made by the frozen steps alone, stamped as an older leadrouter left it."""
    with engine.begin() as conn:
        for m in MIGRATIONS:
            if m.version <= upto:
                m.apply(conn, datetime(2026, 1, 1))
                conn.execute(text("INSERT INTO schema_version (version, name, applied_at) VALUES (:v, :n, :at)"),
                             {"v": m.version, "n": m.name, "at": datetime(2026, 1, 1)})


def fill_single_org_state(engine) -> int:
    """What a running single-org connector leaves: a live offer with its outbox entry, a
    bar, the counters, a watermark, a job run and a fencing token. Returns the offer id."""
    with engine.begin() as conn:  # today's row functions: the tables they write are as at version 3
        offer = conn.execute(schema.offers.insert().values(
            lead_id="00Q000000000001AAA", kind="offer", partner_id="001000000000001AAA", rule="EMEA", attempt=1,
            offered_at=NOW, deadline=NOW + timedelta(hours=24), status="live")).inserted_primary_key[0]
        ob.add(conn, lead_id="00Q000000000001AAA", purpose="offer", payload={"OwnerId": "005000000000001AAA"},
               now=NOW, offer_id=offer)
        of.exclude(conn, "00Q000000000001AAA", "001000000000002AAA", "rejected", "not our region", NOW)
        st.save_routing_state(conn, {"version": 2, "rotation": {"EMEA": "001000000000001AAA"}}, NOW)
        st.set_watermark(conn, "leads", NOW, NOW)
        row = st.start_job_run(conn, "r1", "leads", "host:1:abc", NOW)
        st.finish_job_run(conn, row, NOW, {"offered": 1}, 3, None)
        conn.execute(text("CREATE TABLE leader_token (id INTEGER PRIMARY KEY, token BIGINT NOT NULL)"))
        conn.execute(text("INSERT INTO leader_token (id, token) VALUES (1, 7)"))
    return offer


def assert_carried_over(store: Store, offer: int) -> None:
    with store.connect() as conn:
        live = of.live_offers(conn, ["00Q000000000001AAA"])
        assert live["00Q000000000001AAA"]["id"] == offer, "the live offer carried over"
        assert of.offer_status_counts(conn) == {"live": 1}
        assert [e["offer_id"] for e in ob.open_entries(conn)] == [offer], "its outbox entry too"
        assert st.get_watermark(conn, "leads") == NOW
        assert st.load_routing_state(conn)["rotation"] == {"EMEA": "001000000000001AAA"}
        assert [r["counts"] for r in st.last_job_runs(conn)] == [{"offered": 1}]
        assert conn.execute(text("SELECT partner_id FROM exclusions")).scalars().all() == ["001000000000002AAA"]


def test_no_migration_imports_todays_table_definitions():
    for path in sorted(MIGRATION_DIR.glob("v*.py")):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                imported |= {node.module or ""} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
        assert not {m for m in imported if m.startswith("jobs")}, f"{path.name} imports {imported}"
    assert len(list(MIGRATION_DIR.glob("v*.py"))) == len(MIGRATIONS) == schema.SCHEMA_VERSION


def test_no_migration_reads_the_live_rules():
    """rules/ moves on with every release; a step that called it would carry an old state
    the way that release reads it, not the way the step did when it was written."""
    for path in sorted(MIGRATION_DIR.glob("v*.py")):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                imported.add(node.module or "")
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
        assert not {m for m in imported if m.split(".")[0] in ("rules", "mappings", "connector")}, \
            f"{path.name} imports {sorted(imported)}: freeze what it needs inside it"


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_replaying_the_frozen_steps_builds_todays_schema(backend, tmp_path):
    if backend == "sqlite":
        replayed = create_engine(f"sqlite:///{tmp_path}/replayed.sqlite")
        fresh_store = Store(f"sqlite:///{tmp_path}/fresh.sqlite")
        replay(replayed, upto=MIGRATIONS[-1].version)
        assert shape(replayed) == shape(fresh_store.engine)
        replayed.dispose()
        fresh_store.dispose()
        return
    with temp_database() as a, temp_database() as b:
        replayed = create_engine(a)
        fresh_store = Store(b)
        replay(replayed, upto=MIGRATIONS[-1].version)
        assert shape(replayed) == shape(fresh_store.engine)
        replayed.dispose()
        fresh_store.dispose()


def test_a_version_3_sqlite_state_names_its_org_and_keeps_its_live_offer(tmp_path):
    url = f"sqlite:///{tmp_path}/single-org.sqlite"
    engine = create_engine(url)
    replay(engine, upto=3)
    offer = fill_single_org_state(engine)
    engine.dispose()

    store = Store(url, org="acme", organization_id=ACME_ID)  # the worker, once its org is named
    assert store.version == schema.SCHEMA_VERSION
    assert_carried_over(store, offer)
    with store.connect() as conn:
        assert tuple(conn.execute(schema.org_identity.select()).one()) == (1, "acme", ACME_ID)
    store.dispose()

    with pytest.raises(StateProblem) as refused:  # a worker of another org, by its name
        Store(url, org="globex", organization_id=GLOBEX_ID)
    message = str(refused.value)
    assert "belongs to org 'acme' (Organization Id 00D5g0000000001EAA)" in message
    assert "configured for org 'globex'" in message and GLOBEX_ID in message
    assert "fix: give each org its own state" in message and "SQLite give each org its own file" in message

    with pytest.raises(StateProblem, match="made for another Salesforce org"):  # same name, another org
        Store(url, org="acme", organization_id=GLOBEX_ID)

    again = Store(url, org="acme", organization_id=ACME_ID)
    assert_carried_over(again, offer)  # the refusals changed nothing
    again.dispose()


def test_a_default_state_is_taken_over_once_its_org_is_named(tmp_path):
    """A single-org deployment upgraded first without an org name, then named: the same
    file, the same Salesforce org; a name change for another Salesforce org is refused."""
    url = f"sqlite:///{tmp_path}/state.sqlite"
    Store(url, org="default", organization_id=ACME_ID).dispose()
    with pytest.raises(StateProblem, match="made for another Salesforce org"):
        Store(url, org="globex", organization_id=GLOBEX_ID)
    named = Store(url, org="acme", organization_id=ACME_ID)
    with named.connect() as conn:
        assert tuple(conn.execute(schema.org_identity.select()).one()) == (1, "acme", ACME_ID)
    named.dispose()
    with pytest.raises(StateProblem, match="belongs to org 'acme'"):
        Store(url, org="default", organization_id=ACME_ID)


@pytest.mark.postgres
def test_a_version_3_postgresql_state_moves_into_its_orgs_schema_with_its_live_offer():
    with temp_database() as url:
        engine = create_engine(url)
        replay(engine, upto=3)
        offer = fill_single_org_state(engine)

        # the worker of the old deployment, not yet stopped, holds the default org's lock
        still_running = lock_for(url)
        assert still_running.try_acquire()
        with pytest.raises(StateProblem, match="still serves the single-org state"):
            Store(url_for(url, "acme"), org="acme", organization_id=ACME_ID)
        still_running.release()

        acme = Store(url_for(url, "acme"), org="acme", organization_id=ACME_ID)
        assert acme.version == schema.SCHEMA_VERSION
        assert_carried_over(acme, offer)
        lock = lock_for(url_for(url, "acme"))
        # 7 in the old state, 8 taken by the old worker's last leadership: they carried on
        assert lock.try_acquire() and lock.token == 9, "the fencing tokens carried on from the old leader's"
        lock.release()
        tables = {s: set(inspect(engine).get_table_names(schema=s)) for s in ("public", "leadrouter_acme")}
        assert tables["public"] == {"org_identity"}, "the default schema keeps only who took its state"
        assert {"offers", "outbox", "leads", "watermarks", "leader_token", "org_identity"} <= tables["leadrouter_acme"]

        # a worker still configured without an org is told where its state went, not given an empty one
        with pytest.raises(StateProblem, match="belongs to org 'acme'"):
            Store(url, org="default", organization_id=ACME_ID)
        assert set(inspect(engine).get_table_names(schema="public")) == {"org_identity"}

        # another org in the same database starts empty, beside it
        globex = Store(url_for(url, "globex"), org="globex", organization_id=GLOBEX_ID)
        with globex.connect() as conn:
            assert of.offer_status_counts(conn) == {}
            assert tuple(conn.execute(schema.org_identity.select()).one()) == (1, "globex", GLOBEX_ID)
        with acme.connect() as conn:
            assert tuple(conn.execute(schema.org_identity.select()).one()) == (1, "acme", ACME_ID)
        globex.dispose()
        acme.dispose()
        engine.dispose()


@pytest.mark.postgres
def test_a_version_3_postgresql_state_of_the_default_org_stays_where_it_is():
    with temp_database() as url:
        engine = create_engine(url)
        replay(engine, upto=3)
        offer = fill_single_org_state(engine)
        store = Store(url, org="default", organization_id=ACME_ID)
        assert_carried_over(store, offer)
        with store.connect() as conn:
            assert tuple(conn.execute(schema.org_identity.select()).one()) == (1, "default", ACME_ID)
        assert inspect(engine).get_schema_names().count("leadrouter_default") == 0
        store.dispose()
        engine.dispose()


@pytest.mark.postgres
def test_an_active_standby_pair_starting_together_on_a_new_database_both_open_it():
    """compose and Kubernetes start both instances of an org at once: one creates the
    schema and its state, the other waits for the migration lock; both name the same org."""
    from concurrent.futures import ThreadPoolExecutor

    with temp_database() as url:
        def open_() -> Store:
            return Store(url_for(url, "acme"), org="acme", organization_id=ACME_ID)

        with ThreadPoolExecutor(2) as pool:
            stores = [f.result() for f in [pool.submit(open_) for _ in range(2)]]
        with stores[0].connect() as conn:
            assert conn.execute(schema.org_identity.select()).all() == [(1, "acme", ACME_ID)]
        for s in stores:
            s.dispose()


def test_a_state_a_newer_leadrouter_wrote_is_refused_naming_the_file_and_the_fix_and_left_as_it_was(tmp_path):
    """A rolled-back upgrade: the old program meets the state the new one migrated. `once`,
    `run` and `state rebuild` open it through Store (the CLI turns a StateProblem into one
    message and exit 4); `status` through its read-only Reader. Before, Store raised a bare
    SchemaTooNew (a traceback, exit 1) and `status` read the newer tables as if they were its own."""
    from .test_state_path import leadrouter

    db = tmp_path / "state.sqlite"
    Store(f"sqlite:///{db}").dispose()
    newer = MIGRATIONS[-1].version + 1
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, 'a later step', "
                     "'2026-01-01 00:00:00')", (newer,))
    before = db.read_bytes()
    with pytest.raises(StateProblem) as refused:
        Store(f"sqlite:///{db}", org="acme", organization_id=ACME_ID)
    said = str(refused.value)
    assert str(db) in said and f"schema version {newer}" in said and "newer leadrouter" in said, said
    assert "fix:" in said and "state rebuild" in said
    assert db.read_bytes() == before, "nothing was migrated, claimed or stamped"

    code, said, _ = leadrouter(tmp_path, str(db), "status")
    assert code == 4 and str(db) in said and "newer leadrouter" in said, said
