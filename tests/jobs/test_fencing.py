"""A deposed leader writes nothing: each write batch is fenced by the leadership's token."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from jobs.leader import NotLeader, lock_for
from jobs.outbox import fence
from jobs.state import Store


def test_a_batch_goes_out_under_the_newest_token_only(tmp_path):
    url = f"sqlite:///{tmp_path}/state.sqlite"
    store = Store(url)
    first = lock_for(url)
    assert first.try_acquire() and first.token is not None
    with store.begin() as conn:
        fence(conn, first)  # ours: nothing raised
    # another instance became leader meanwhile (its lock taken over after ours was lost)
    with store.begin() as conn:
        conn.execute(text("UPDATE leader_token SET token = token + 1 WHERE id = 1"))
    with pytest.raises(NotLeader, match="not the newest"):
        with store.begin() as conn:
            fence(conn, first)
    first.release()
    store.dispose()


def test_without_a_lock_nothing_is_fenced(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    with store.begin() as conn:
        fence(conn, None)
    store.dispose()
