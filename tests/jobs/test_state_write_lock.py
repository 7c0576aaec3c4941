"""A write transaction on the SQLite state that reads first is not refused when another
writer commits in between: it holds the write lock from its start, and the other waits."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

from jobs.state import Store
from jobs.state import store as st

T = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def test_a_writer_that_read_first_keeps_its_turn_and_the_other_waits(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    other_done = threading.Event()
    errors: list[BaseException] = []

    def other_writer() -> None:
        try:
            with store.begin() as conn:
                st.set_watermark(conn, "heartbeat", T, T)
            other_done.set()
        except BaseException as e:  # noqa: BLE001 — reported by the assertion below
            errors.append(e)

    try:
        with store.begin() as conn:
            assert st.get_watermark(conn, "lead-stream") is None  # the read comes first
            t = threading.Thread(target=other_writer)
            t.start()
            time.sleep(0.5)
            assert not other_done.is_set(), "the other writer waits for this transaction"
            st.set_watermark(conn, "lead-stream", T, T)  # the write after it: not "database is locked"
        t.join(10)
        assert errors == [] and other_done.is_set()
        with store.connect() as conn:
            assert st.get_watermark(conn, "heartbeat") is not None and st.get_watermark(conn, "lead-stream") is not None
    finally:
        store.dispose()
