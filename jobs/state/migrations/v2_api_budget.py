"""Version 2: the API budget as each working instance last saw it (frozen DDL)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Connection, DateTime, MetaData, String, Table

NAME = "api budget as each instance last saw it"


def apply(conn: Connection, now: datetime) -> None:  # noqa: ARG001 - stores no time
    Table("api_budget", MetaData(),
          Column("instance", String(80), primary_key=True),
          Column("data", JSON, nullable=False),
          Column("updated_at", DateTime, nullable=False)).create(conn, checkfirst=True)
