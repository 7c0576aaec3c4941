"""An ingest job that wrote every row of its upload settles the upload wholesale: each of
its entries still `sent` becomes confirmed, by runs of consecutive ids, and nothing else
in that id range changes (an older REST batch's `sent` entry, a pending or dropped one)
— on SQLite and on PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from jobs import bulk_writeback as bw
from jobs.state import Store
from jobs.state import outbox as ob
from jobs.state.schema import outbox

from .pg import temp_database

NOW = datetime(2026, 3, 29, 1, 0, tzinfo=timezone.utc)
LATER = NOW + timedelta(minutes=5)


class _E:
    def __init__(self, entry_id: int):
        self.id, self.purpose, self.offer_id, self.lead_id = entry_id, "pool", None, ""


def _check(url: str) -> None:
    store = Store(url)
    try:
        with store.begin() as conn:
            ob.add_many(conn, [{"lead_id": f"00Q{i:015d}", "purpose": "pool", "payload": {"OwnerId": "x"},
                                "seen_modstamp": None} for i in range(12)], NOW)
            ids = [r[0] for r in conn.execute(select(outbox.c.id).order_by(outbox.c.id))]
            ob.mark(conn, ids, "sent", NOW)
            ob.mark(conn, [ids[6]], "pending", NOW)  # in the range, not in the upload, not sent
            ob.mark(conn, [ids[9]], "confirmed", NOW)  # in the upload, settled by an earlier resume
        upload = bw._Upload("Lead")
        # the upload: ids 1-5 and 7-10 (id 6 is a REST batch's `sent` entry inside its range)
        upload.take(_E(i) for i in ids[1:11] if i not in (ids[5], ids[6]))
        with store.begin() as conn:
            assert bw._confirm_upload(conn, upload, LATER) == 7
        with store.connect() as conn:
            status = {r.id: (r.status, r.updated_at) for r in conn.execute(select(outbox))}
        assert [status[i][0] for i in ids] == ["sent", "confirmed", "confirmed", "confirmed", "confirmed", "sent",
                                               "pending", "confirmed", "confirmed", "confirmed", "confirmed", "sent"]
        assert {i for i in ids if status[i][1] == LATER} == set(ids[1:5]) | {ids[7], ids[8], ids[10]}
        # an upload holding every id of its range (a backfill's): what is still `sent` in it
        whole = bw._Upload("Lead")
        whole.take(_E(i) for i in ids[4:])
        with store.begin() as conn:
            assert bw._confirm_upload(conn, whole, LATER) == 2  # ids 5 and 11; 6 is pending, the rest done
        with store.connect() as conn:
            status = {r.id: r.status for r in conn.execute(select(outbox))}
        assert [status[i] for i in ids] == ["sent", *["confirmed"] * 5, "pending", *["confirmed"] * 5]
    finally:
        store.dispose()


def test_a_wholly_written_upload_confirms_its_own_sent_entries_only(tmp_path):
    _check(f"sqlite:///{tmp_path}/state.sqlite")


@pytest.mark.postgres
def test_a_wholly_written_upload_confirms_its_own_sent_entries_only_on_postgresql():
    with temp_database() as url:
        _check(url)
