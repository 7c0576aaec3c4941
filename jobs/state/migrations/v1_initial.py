"""Version 1: the state as first shipped, frozen.

The tables are written out here as they were at version 1, not imported from
`schema.py`: today's definitions move on, and a version-1 step that built from them
would create columns or tables a later step then adds again (migration 2 did, with
`api_budget`). Plain `DateTime` is what `UTCDateTime` stores; never edit this file.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Connection, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text, text

NAME = "initial: offers, outbox, snapshot, audit, job runs"
ID = String(18)


def tables() -> MetaData:
    md = MetaData()
    Table("schema_version", md,
          Column("version", Integer, primary_key=True),
          Column("name", String(100), nullable=False),
          Column("applied_at", DateTime, nullable=False))
    Table("watermarks", md,
          Column("name", String(64), primary_key=True),
          Column("value", DateTime, nullable=False),
          Column("updated_at", DateTime, nullable=False))
    Table("snapshot", md,
          Column("kind", String(16), primary_key=True),
          Column("id", ID, primary_key=True),
          Column("record", JSON, nullable=False),
          Column("modstamp", DateTime),
          Column("updated_at", DateTime, nullable=False))
    Table("leads", md,
          Column("lead_id", ID, primary_key=True),
          Column("state", String(16), nullable=False),
          Column("attempt", Integer, nullable=False),
          Column("owner_id", ID),
          Column("status", String(80)),
          Column("modstamp", DateTime),
          Column("reason", String(255)),
          Column("record", JSON),
          Column("updated_at", DateTime, nullable=False),
          Index("ix_leads_state", "state"))
    Table("offers", md,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("lead_id", ID, nullable=False),
          Column("kind", String(12), nullable=False),
          Column("partner_id", ID),
          Column("rep_id", ID),
          Column("queue_id", ID),
          Column("owner_id", ID),
          Column("rule", String(80)),
          Column("attempt", Integer, nullable=False),
          Column("offered_at", DateTime, nullable=False),
          Column("deadline", DateTime),
          Column("reminded_at", DateTime),
          Column("status", String(12), nullable=False),
          Column("lead_modstamp", DateTime),
          Column("accepted_at", DateTime),
          Column("accepted_by", ID),
          Column("followup_at", DateTime),
          Column("closed_at", DateTime),
          Column("close_reason", String(255)),
          Index("ix_offers_status_deadline", "status", "deadline"),
          Index("ix_offers_lead", "lead_id"),
          Index("uq_offers_one_live_per_lead", "lead_id", unique=True,
                sqlite_where=text("status = 'live'"), postgresql_where=text("status = 'live'")))
    Table("exclusions", md,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("lead_id", ID, nullable=False),
          Column("partner_id", ID, nullable=False),
          Column("outcome", String(12), nullable=False),
          Column("reason", String(255)),
          Column("at", DateTime, nullable=False),
          Index("ix_exclusions_lead", "lead_id"))
    Table("routing_state", md,
          Column("id", Integer, primary_key=True),
          Column("data", JSON, nullable=False),
          Column("updated_at", DateTime, nullable=False))
    Table("outbox", md,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("lead_id", ID, nullable=False),
          Column("offer_id", Integer, ForeignKey("offers.id")),
          Column("purpose", String(16), nullable=False),
          Column("payload", JSON, nullable=False),
          Column("seen_modstamp", DateTime),
          Column("status", String(10), nullable=False),
          Column("created_at", DateTime, nullable=False),
          Column("updated_at", DateTime, nullable=False),
          Column("attempts", Integer, nullable=False),
          Column("last_error", Text),
          Index("ix_outbox_status", "status", "id"),
          Index("ix_outbox_lead", "lead_id"))
    Table("decisions", md,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("lead_id", ID, nullable=False),
          Column("at", DateTime, nullable=False),
          Column("kind", String(12), nullable=False),
          Column("rule", String(80)),
          Column("partner_id", ID),
          Column("attempt", Integer),
          Column("decision", JSON, nullable=False),
          Index("ix_decisions_lead", "lead_id", "at"))
    Table("job_runs", md,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("run_id", String(40), nullable=False),
          Column("job", String(32), nullable=False),
          Column("instance", String(80)),
          Column("started", DateTime, nullable=False),
          Column("finished", DateTime),
          Column("counts", JSON, nullable=False),
          Column("api_calls", Integer, nullable=False),
          Column("error", Text),
          Index("ix_job_runs_job_started", "job", "started"))
    Table("instances", md,
          Column("instance", String(80), primary_key=True),
          Column("role", String(10), nullable=False),
          Column("pid", Integer),
          Column("host", String(255)),
          Column("started", DateTime, nullable=False),
          Column("seen_at", DateTime, nullable=False))
    return md


def apply(conn: Connection, now: datetime) -> None:  # noqa: ARG001 - stores no time
    tables().create_all(conn)
