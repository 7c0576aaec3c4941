"""Version 3: per-lead routing facts as rows, not in the routing state document.

Declined targets are rows of `exclusions` already (every rejection and lapse wrote
one); any the document knew and the table lacks are carried over, so no partner gets
a lead back it declined. Who holds a lead and its offer's rule are read from `offers`.
What stays in the document is the counters. Live offers are untouched.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import Connection, DateTime, String, column, table, text

NAME = "per-lead routing facts as rows, not in the routing state document"

# the columns this step writes, as they were at version 3
_exclusions = table("exclusions", column("lead_id", String), column("partner_id", String),
                    column("outcome", String), column("reason", String), column("at", DateTime))


def apply(conn: Connection, now: datetime) -> None:
    row = conn.execute(text("SELECT data FROM routing_state WHERE id = 1")).first()
    if row is None or row[0] is None:
        return
    data = row[0] if isinstance(row[0], dict) else json.loads(row[0])
    excluded = data.pop("excluded", None) or {}
    data.pop("open_by_lead", None)
    data.pop("offer_rule", None)
    have = {(r[0], r[1]) for r in conn.execute(text("SELECT lead_id, partner_id FROM exclusions"))}
    # dated when carried over, by the org's clock as every time in the state (the partner
    # feedback counts a rejection within its window by it); stored naive UTC
    at = now.astimezone(timezone.utc).replace(tzinfo=None) if now.tzinfo else now
    missing = [{"lead_id": lead, "partner_id": target, "outcome": outcome,
                "reason": "carried over from the routing state document", "at": at}
               for lead, targets in excluded.items() for target, outcome in targets.items()
               if (lead, target) not in have]
    if missing:
        conn.execute(_exclusions.insert(), missing)
    data["version"] = 2
    cast = "CAST(:data AS JSON)" if conn.dialect.name == "postgresql" else ":data"
    conn.execute(text(f"UPDATE routing_state SET data = {cast} WHERE id = 1"), {"data": json.dumps(data)})
