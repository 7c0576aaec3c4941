"""Version 4: the state names the Salesforce org it belongs to (jobs/state/orgs.py).

One row: the `org` name of the first worker that opens it, and the Organization Id
(00D…) that worker's org reports on first connect; both are filled in by the store,
not here (the row starts empty), since a migration knows no worker. Every other row stays where it is: on
SQLite the file is the org's; on PostgreSQL a single-org state in the default schema
was moved into the org's own schema first (carry_over.py). Frozen DDL.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Connection, Integer, MetaData, String, Table

NAME = "the state names the org it belongs to"


def apply(conn: Connection, now: datetime) -> None:  # noqa: ARG001 - stores no time
    identity = Table("org_identity", MetaData(),
                     Column("id", Integer, primary_key=True),
                     Column("name", String(40)),
                     Column("organization_id", String(18)))
    identity.create(conn, checkfirst=True)
    # the one row exists from the start: workers starting together update it, none inserts
    if conn.execute(identity.select()).first() is None:
        conn.execute(identity.insert().values(id=1))
