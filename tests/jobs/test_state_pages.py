"""A new SQLite state file is laid out in 16 KB pages (an audit row of 1-3 KB of JSON fills
a 4 KB page by itself); a file made before keeps the page size it has, and its data."""
from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from jobs.state import Store
from jobs.state import store as st

NOW = datetime(2026, 3, 29, 1, 0, tzinfo=timezone.utc)


def _page_size(path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA page_size").fetchone()[0]


def test_a_new_state_file_has_16k_pages(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    with store.begin() as conn:
        st.set_watermark(conn, "w", NOW, NOW)
    store.dispose()
    assert _page_size(tmp_path / "state.sqlite") == 16384


def test_an_existing_state_file_keeps_its_page_size_and_data(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:  # made by an earlier version: SQLite's default pages, WAL
        conn.execute("PRAGMA page_size=4096")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE keep (x)")
        conn.execute("INSERT INTO keep VALUES (1)")
    for _ in range(2):
        store = Store(f"sqlite:///{path}")
        with store.begin() as conn:
            st.set_watermark(conn, "w", NOW, NOW)
        with store.connect() as conn:
            assert st.get_watermark(conn, "w") == NOW
        store.dispose()
    assert _page_size(path) == 4096
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT x FROM keep").fetchall() == [(1,)]
