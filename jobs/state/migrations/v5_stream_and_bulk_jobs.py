"""Version 5: the change-event stream's position and the Bulk API jobs in flight, as
versioned tables (frozen DDL).

Both were created by the module that uses them (`jobs/stream.py`, `jobs/bulk_writeback.py`)
the first time it ran, outside the migrations; a database where they already exist keeps
them as they are (checkfirst), a new one gets them here like every other table.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

NAME = "the change-event stream's position and the Bulk API jobs in flight"


def apply(conn: Connection, now: datetime) -> None:  # noqa: ARG001 - stores no time
    meta = MetaData()
    Table("stream_state", meta,
          Column("topic", String(120), primary_key=True),
          Column("replay_id", LargeBinary),
          Column("instance", String(200)),
          Column("mode", String(10)),
          Column("connected_since", DateTime),
          Column("updated_at", DateTime),
          Column("events", Integer),
          Column("events_per_min", Float),
          Column("lag_s", Float),
          Column("reconcile_finds", Integer),
          Column("note", Text))
    Table("bulk_jobs", meta,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("upload", String(36), nullable=False),
          Column("job_id", String(18)),
          Column("sobject", String(80), nullable=False),
          Column("state", String(10), nullable=False),
          Column("entries", JSON, nullable=False),
          Column("created_at", DateTime, nullable=False),
          Column("updated_at", DateTime, nullable=False),
          Column("note", Text),
          Index("ix_bulk_jobs_state", "state"))
    meta.create_all(conn, checkfirst=True)
