"""Version 7: each lead's rule, the Routing_Rule__c of the decision that put it in its state
(frozen DDL).

A held escalation (jobs/lifecycle.hold_escalation) was found by its reason's first words
alone; it is now marked by its state and this rule, as the org holds them on the Lead, so
a state rebuilt from the org finds it too. Rows from before keep no rule: the reason's
words still find those.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, inspect, text

NAME = "each lead's rule: a held escalation's mark"


def apply(conn: Connection, now: datetime) -> None:  # noqa: ARG001 - stores no time
    if "rule" not in {c["name"] for c in inspect(conn).get_columns("leads")}:
        conn.execute(text("ALTER TABLE leads ADD COLUMN rule VARCHAR(80)"))
