"""Incumbents as rows of their own (state migration 10): carried out of the routing state
document, capped in the table, and never lost between two writers."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from jobs.lifecycle import load_state, save_state
from jobs.state import Store
from jobs.state import incumbents as rows
from jobs.state import store as st
from jobs.state.schema import SCHEMA_VERSION
from rules.state import KEEP_INCUMBENTS, KEEP_INCUMBENTS_MOST, incumbent_keys

from .pg import temp_database

NOW = datetime(2031, 3, 2, 10, 0, tzinfo=timezone.utc)
AT = int(NOW.timestamp())


def incumbent(conn, company=None, domain=None):
    """Who works the company, as a job hands it to the router: its keys read, then asked."""
    state = load_state(conn)
    state.take_incumbents(rows.read(conn, incumbent_keys(company, domain)))
    return state.incumbent(company, domain)


def at_version_9(store: Store, document: dict) -> None:
    """Make a fresh state look as version 9 left it: the incumbents inside the document."""
    with store.begin() as conn:
        conn.execute(text("DROP TABLE incumbents"))
        conn.execute(text("DELETE FROM schema_version"))
        conn.execute(text("INSERT INTO schema_version (version, name, applied_at) VALUES (9, 'v9', '2031-01-01')"))
        st.save_routing_state(conn, document, NOW)


def test_migration_10_carries_the_documents_incumbents_into_their_table(tmp_path):
    url = f"sqlite:///{tmp_path}/v9.sqlite"
    store = Store(url)
    at_version_9(store, {"version": 4, "open_offers": {"001B": 2}, "daily": {}, "rotation": {"EMEA": "001B"},
                         "rep_rotation": {}, "performance": {},
                         "incumbents": {"company:acme": ["001B", AT, "lead"],
                                        "domain:acme.example": ["001B", AT, "lead"],
                                        "company:globex": ["001C", AT - 86400, "opportunity"]}})
    store.dispose()
    store = Store(url)  # migrates on open
    assert store.version == SCHEMA_VERSION
    with store.connect() as conn:
        assert rows.read_all(conn) == {"company:acme": ("001B", AT, "lead"), "domain:acme.example": ("001B", AT, "lead"),
                                       "company:globex": ("001C", AT - 86400, "opportunity")}
        data = st.load_routing_state(conn)
        assert data["version"] == 5 and "incumbents" not in data, "the document keeps the counters only"
        assert data["open_offers"] == {"001B": 2} and data["rotation"] == {"EMEA": "001B"}
        assert incumbent(conn, "ACME Inc.") == "001B"
        assert incumbent(conn, None, "jo@acme.example".rpartition("@")[2]) == "001B"
        assert incumbent(conn, "Globex GmbH") == "001C"
    store.dispose()


def test_migration_10_reads_an_older_document_as_its_version_keyed_companies(tmp_path):
    """A version-2 document keyed a company as typed and kept the partner alone: carried
    with today's key (umlauts spelt out read alike), undated, learned from a lead."""
    url = f"sqlite:///{tmp_path}/v9.sqlite"
    store = Store(url)
    at_version_9(store, {"version": 2, "open_offers": {}, "daily": {}, "rotation": {}, "rep_rotation": {},
                         "performance": {}, "incumbents": {"company:mueller maschinenbau": "001B"}})
    store.dispose()
    store = Store(url)
    with store.connect() as conn:
        assert rows.read_all(conn) == {"company:muller maschinenbau": ("001B", 0, "lead")}
        assert incumbent(conn, "Müller Maschinenbau GmbH") == "001B"
    store.dispose()


@pytest.mark.parametrize("document, carried", [
    ({"version": 2, "incumbents": {"company:mueller maschinenbau": "001B", "company:Zoë Müller e.K.": "001C",
                                   "domain:acme.example": "001D"}},
     {"company:muller maschinenbau": ("001B", 0, "lead"), "company:zo muller": ("001C", 0, "lead"),
      "domain:acme.example": ("001D", 0, "lead")}),
    ({"version": 3, "incumbents": {"company:acme": "001B"}}, {"company:acme": ("001B", 0, "lead")}),
    ({"version": 4, "incumbents": {"company:acme": ["001B", AT, "opportunity"]}},
     {"company:acme": ("001B", AT, "opportunity")}),
], ids=["version 2", "version 3", "version 4"])
def test_migration_10_carries_what_it_did_when_written_whatever_the_live_reader_becomes(
        tmp_path, monkeypatch, document, carried):
    """A step must do next year what it did the day it was written: the rules' reader of old
    documents and their company key move on (a legal form added, a spelling folded), and a
    state upgraded after that must not get rows keyed by a reading the step never knew."""
    import rules.state
    from sqlalchemy import create_engine

    from jobs.state.migrations import v10_incumbent_rows

    url = f"sqlite:///{tmp_path}/v9.sqlite"
    store = Store(url)
    at_version_9(store, {"open_offers": {}, "daily": {}, "rotation": {}, "rep_rotation": {}, "performance": {},
                         **document})
    store.dispose()
    monkeypatch.setattr(rules.state, "document_incumbents", lambda data: {"company:changed": ("001X", 1, "lead")})
    monkeypatch.setattr(rules.state, "_incumbents", lambda saved, version: {"company:changed": ("001X", 1, "lead")})
    monkeypatch.setattr(rules.state, "company_key", lambda name: "changed")
    monkeypatch.setattr(rules.state, "company_words", lambda name: ["changed"])
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            v10_incumbent_rows.apply(conn, NOW)
            got = {k: (p, since, how) for k, p, since, how in conn.execute(
                text("SELECT key, partner_id, since, how FROM incumbents"))}
        assert got == carried
    finally:
        engine.dispose()


def test_the_cap_holds_in_the_table_and_the_oldest_go(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    facts = {f"company:c{i}": ("001A", AT + i, "lead") for i in range(KEEP_INCUMBENTS_MOST)}
    with store.begin() as conn:
        assert rows.write(conn, facts) == 0, "at the cap: nothing goes yet"
    with store.begin() as conn:
        state = load_state(conn)
        state.set_incumbent("001B", company="Newest Customer", at=NOW + timedelta(days=30))
        save_state(conn, state, NOW)
    with store.connect() as conn:
        assert rows.count(conn) == KEEP_INCUMBENTS
        kept = rows.read(conn, ["company:c0", f"company:c{KEEP_INCUMBENTS_MOST - 1}", "company:newest customer"])
        assert "company:c0" not in kept, "the oldest went first"
        assert set(kept) == {f"company:c{KEEP_INCUMBENTS_MOST - 1}", "company:newest customer"}
    store.dispose()


def test_a_later_partner_wins_and_an_earlier_fact_learned_late_changes_nothing(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    with store.begin() as conn:
        rows.write(conn, {"company:acme": ("001NEW", AT, "lead")})
        rows.write(conn, {"company:acme": ("001OLD", AT - 3600, "opportunity")})
        assert incumbent(conn, "Acme") == "001NEW"
        rows.write(conn, {"company:acme": ("001LATER", AT + 1, "opportunity")})
        assert incumbent(conn, "Acme") == "001LATER"
    store.dispose()


def test_two_stores_writing_different_incumbents_lose_neither(tmp_path):
    """Two workers each loaded the state before the other saved (the sync's Opportunities,
    a poll's acceptance): the whole document saved last dropped the other's incumbent."""
    url = f"sqlite:///{tmp_path}/state.sqlite"
    one, two = Store(url), Store(url)
    with one.connect() as conn:
        first = load_state(conn)
    with two.connect() as conn:
        second = load_state(conn)
    first.set_incumbent("001A", company="Acme", at=NOW)
    second.set_incumbent("001B", company="Globex", domain="globex.example", at=NOW)
    with two.begin() as conn:
        save_state(conn, second, NOW)
    with one.begin() as conn:
        save_state(conn, first, NOW)
    with one.connect() as conn:
        assert incumbent(conn, "Acme") == "001A"
        assert incumbent(conn, "Globex") == "001B" and incumbent(conn, None, "globex.example") == "001B"
    one.dispose()
    two.dispose()


@pytest.mark.postgres
def test_two_overlapping_transactions_on_postgresql_lose_neither_incumbent():
    """Both transactions open, each learns its company, the later commit waits for nothing
    and overwrites nothing."""
    with temp_database() as url:
        one, two = Store(url), Store(url)
        try:
            loaded = threading.Barrier(2)
            errors: list[BaseException] = []

            def learn(store: Store, partner: str, company: str, first: bool) -> None:
                try:
                    with store.begin() as conn:
                        state = load_state(conn)
                        loaded.wait(timeout=10)
                        state.set_incumbent(partner, company=company, at=NOW)
                        if not first:
                            loaded.wait(timeout=10)  # the other has committed by now
                        save_state(conn, state, NOW)
                    if first:
                        loaded.wait(timeout=10)
                except BaseException as e:  # noqa: BLE001 - said by the test
                    errors.append(e)

            threads = [threading.Thread(target=learn, args=(one, "001A", "Acme", True)),
                       threading.Thread(target=learn, args=(two, "001B", "Globex", False))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            assert not errors, errors
            with one.connect() as conn:
                assert incumbent(conn, "Acme") == "001A" and incumbent(conn, "Globex") == "001B"
        finally:
            one.dispose()
            two.dispose()


def test_the_document_a_job_saves_holds_no_incumbents(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    with store.begin() as conn:
        state = load_state(conn)
        state.set_incumbent("001A", company="Acme", domain="acme.example", at=NOW)
        save_state(conn, state, NOW)
        assert state.learned == {}, "written once"
    with store.connect() as conn:
        data = st.load_routing_state(conn)
        assert data["version"] == 5 and "incumbents" not in data
        assert json.loads(json.dumps(rows.read_all(conn))) == {"company:acme": ["001A", AT, "lead"],
                                                               "domain:acme.example": ["001A", AT, "lead"]}
    store.dispose()


@pytest.mark.postgres
def test_a_single_org_state_taken_over_by_its_named_org_keeps_its_incumbents():
    """A default-org state of version 10 in the database's default schema moves into the
    schema of the org that takes it over: its incumbents' table goes with it."""
    from sqlalchemy import create_engine

    from jobs.state.migrations import MIGRATIONS
    from jobs.state.orgs import url_for

    with temp_database() as url:
        engine = create_engine(url)
        with engine.begin() as conn:  # as a single-org connector of version 10 left it
            for m in MIGRATIONS:
                m.apply(conn, NOW)
                conn.execute(text("INSERT INTO schema_version (version, name, applied_at) VALUES (:v, :n, :at)"),
                             {"v": m.version, "n": m.name, "at": NOW.replace(tzinfo=None)})
            rows.write(conn, {"company:acme": ("001B", AT, "lead")})
        acme = Store(url_for(url, "acme"), org="acme", organization_id="00D5g0000000001EAA")
        try:
            with acme.connect() as conn:
                assert incumbent(conn, "Acme Ltd") == "001B"
        finally:
            acme.dispose()
            engine.dispose()


def test_facts_older_than_a_year_are_forgotten_in_the_table_and_undated_ones_stay(tmp_path):
    from rules.state import INCUMBENT_DAYS

    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    year_ago = int((NOW - timedelta(days=INCUMBENT_DAYS)).timestamp())
    with store.begin() as conn:
        rows.write(conn, {"company:old co": ("001A", year_ago - 1, "opportunity"),
                          "company:new co": ("001B", AT - 86400, "lead"),
                          "company:undated co": ("001C", 0, "lead")})
        assert rows.forget(conn, NOW - timedelta(days=INCUMBENT_DAYS)) == 1
        assert set(rows.read_all(conn)) == {"company:new co", "company:undated co"}
    store.dispose()
