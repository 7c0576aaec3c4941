"""Version 6: offers indexed by when they were accepted and closed (frozen DDL).

The predictive learner reads, before each batch it decides, the answers and closes
after a moment (jobs/learning.py `catch_up`); without these indexes that read scanned
every offer the state holds, per batch.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Connection, DateTime, Index, Integer, MetaData, Table, inspect

NAME = "offers indexed by when they were accepted and closed"


def apply(conn: Connection, now: datetime) -> None:  # noqa: ARG001 - stores no time
    offers = Table("offers", MetaData(), Column("id", Integer, primary_key=True),
                   Column("accepted_at", DateTime), Column("closed_at", DateTime))
    have = {i["name"] for i in inspect(conn).get_indexes("offers")}
    for name, column in (("ix_offers_accepted_at", offers.c.accepted_at), ("ix_offers_closed_at", offers.c.closed_at)):
        if name not in have:
            Index(name, column).create(conn)
