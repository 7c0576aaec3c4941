"""Version 10: incumbents as rows of their own table, not in the routing state document.

Up to version 9 the document held every incumbent (some 70 bytes each: 1.4 MB at the
cap of 22,000), and every job transaction loaded and saved it whole — some 130 ms each at
the cap, and on PostgreSQL two writers saving it together lost one another's change.
Each key the document knew is carried into the table with its partner, date and how it
was learned; the document keeps the counters and says version 5. The document's keys are
read by the document's own reader (rules.state.document_incumbents): it knows how each
earlier version keyed a company (before version 3, as typed; before version 4, undated).
Frozen DDL.
"""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import BigInteger, Column, Connection, Index, MetaData, String, Table, text

from rules.state import document_incumbents

NAME = "incumbents as rows, not in the routing state document"


def apply(conn: Connection, now: datetime) -> None:  # noqa: ARG001 - stores no time (each fact keeps its own)
    meta = MetaData()
    table = Table("incumbents", meta,
                  Column("key", String, primary_key=True),
                  Column("partner_id", String(18), nullable=False),
                  Column("since", BigInteger, nullable=False),
                  Column("how", String(16), nullable=False),
                  Index("ix_incumbents_since", "since"))
    meta.create_all(conn, checkfirst=True)
    row = conn.execute(text("SELECT data FROM routing_state WHERE id = 1")).first()
    if row is None or row[0] is None:
        return
    data = row[0] if isinstance(row[0], dict) else json.loads(row[0])
    found = document_incumbents(data)
    rows = [{"key": k, "partner_id": p, "since": since, "how": how} for k, (p, since, how) in found.items()
            if "\x00" not in k]  # PostgreSQL takes no NUL in text: a key with one names no company
    for i in range(0, len(rows), 5_000):
        conn.execute(table.insert(), rows[i:i + 5_000])
    data.pop("incumbents", None)
    data["version"] = 5
    cast = "CAST(:data AS JSON)" if conn.dialect.name == "postgresql" else ":data"
    conn.execute(text(f"UPDATE routing_state SET data = {cast} WHERE id = 1"), {"data": json.dumps(data)})
