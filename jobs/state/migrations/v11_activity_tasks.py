"""Version 11: the Tasks the connector leaves on a Lead wait in a table of their own until
Salesforce confirms them, so a Task refused for a while (a 503, an answer lost, the API
allowance spent) is written later instead of lost. Frozen DDL."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Connection, DateTime, Index, Integer, MetaData, String, Table, Text

NAME = "activity Tasks wait until Salesforce confirms them"


def apply(conn: Connection, now: datetime) -> None:  # noqa: ARG001 - stores no time
    meta = MetaData()
    Table("activity_tasks", meta,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("lead_id", String(18), nullable=False),
          Column("kind", String(16), nullable=False),
          Column("setting", String(32), nullable=False),
          Column("record", JSON, nullable=False),
          Column("status", String(10), nullable=False),
          Column("attempts", Integer, nullable=False),
          Column("first_sent_at", DateTime),
          Column("next_at", DateTime, nullable=False),
          Column("task_id", String(18)),
          Column("created_at", DateTime, nullable=False),
          Column("updated_at", DateTime, nullable=False),
          Column("last_error", Text),
          Index("ix_activity_tasks_status_next", "status", "next_at"))
    meta.create_all(conn, checkfirst=True)
