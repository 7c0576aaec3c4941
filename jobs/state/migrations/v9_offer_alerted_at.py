"""Version 9: each offer remembers when its alert was claimed (`alerted_at`), so the alert
goes out once whoever confirms the offer's write — the writer that got Salesforce's answer,
or the outbox finding the write landed after the answer was lost, possibly on another
connector of an active/standby pair. Offers made before have none: their writes were
confirmed, and alerted, before this version. Frozen DDL."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, inspect, text

NAME = "offers remember when their alert was claimed"


def apply(conn: Connection, now: datetime) -> None:  # noqa: ARG001 - stores no time
    if "alerted_at" not in {c["name"] for c in inspect(conn).get_columns("offers")}:
        kind = "TIMESTAMP WITHOUT TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
        conn.execute(text(f"ALTER TABLE offers ADD COLUMN alerted_at {kind}"))
