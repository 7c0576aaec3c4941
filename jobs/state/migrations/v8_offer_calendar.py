"""Version 8: each offer keeps the calendar its working-hours window was counted in at the
time of the offer (zone, working days, hours: rules.windows.calendar_text), so its reminder
counts back in it even if the partner's zone or week changes while the offer is open.
Offers made before have none, and are reminded in the partner's calendar as before.
Frozen DDL."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, inspect, text

NAME = "offers keep the calendar their window was counted in"


def apply(conn: Connection, now: datetime) -> None:  # noqa: ARG001 - stores no time
    if "calendar" not in {c["name"] for c in inspect(conn).get_columns("offers")}:
        conn.execute(text("ALTER TABLE offers ADD COLUMN calendar VARCHAR(80)"))
