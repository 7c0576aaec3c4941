"""UTCDateTime on SQLite writes exactly the text SQLAlchemy's own DateTime writes (so
stored values and SQL comparisons between them are unchanged), and reads it back as
aware UTC — including values written by earlier versions."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, create_engine, select, text

from jobs.state.types import UTCDateTime


def _moments(n: int = 2000) -> list[datetime]:
    rng = random.Random(7)
    base = datetime(1999, 1, 1, tzinfo=timezone.utc)
    out = [base + timedelta(seconds=rng.uniform(0, 40 * 365 * 86400)) for _ in range(n)]
    out += [datetime(2026, 12, 6, 0, 0, 0, tzinfo=timezone.utc), datetime(2026, 3, 29, 1, 0, 0, 1, tzinfo=timezone.utc)]
    out += [m.astimezone(timezone(timedelta(hours=rng.randint(-12, 14)))) for m in out[:50]]  # other zones
    return out


def test_the_text_on_sqlite_is_sqlalchemys_own_and_reads_back_as_aware_utc(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/t.sqlite")
    meta = MetaData()
    ours = Table("ours", meta, Column("id", Integer, primary_key=True), Column("at", UTCDateTime))
    theirs = Table("theirs", meta, Column("id", Integer, primary_key=True), Column("at", DateTime))
    meta.create_all(engine)
    moments = _moments()
    with engine.begin() as conn:
        conn.execute(ours.insert(), [{"id": i, "at": m} for i, m in enumerate(moments)])
        conn.execute(theirs.insert(), [{"id": i, "at": m.astimezone(timezone.utc).replace(tzinfo=None)}
                                       for i, m in enumerate(moments)])
        a = conn.execute(text("SELECT id, at FROM ours ORDER BY id")).all()
        b = conn.execute(text("SELECT id, at FROM theirs ORDER BY id")).all()
        assert a == b
        back = [r.at for r in conn.execute(select(ours).order_by(ours.c.id))]
    assert back == [m.astimezone(timezone.utc) for m in moments]
    assert all(v.tzinfo is timezone.utc for v in back)


def test_a_naive_datetime_is_refused(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/t.sqlite")
    meta = MetaData()
    t = Table("t", meta, Column("id", Integer, primary_key=True), Column("at", UTCDateTime))
    meta.create_all(engine)
    with pytest.raises(Exception, match="naive datetime"):
        with engine.begin() as conn:
            conn.execute(t.insert().values(id=1, at=datetime(2026, 1, 1)))
