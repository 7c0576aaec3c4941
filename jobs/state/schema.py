"""The state tables (SQLAlchemy 2 Core), one definition for SQLite and PostgreSQL.

What must survive a restart lives here: which org the state belongs to, watermarks,
the partner snapshot the index is built from, every offer and its outcome, the routing
engine's fairness counters, the outbox of writes Salesforce has not confirmed yet, the
decision audit and job runs.
The "one live offer per lead" rule is a partial unique index, so even a bug in the
jobs cannot offer a lead twice: the second insert fails.
"""
from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    text,
)

from jobs.state.types import OrgString, OrgText, UTCDateTime

SCHEMA_VERSION = 11

metadata = MetaData()

ID = String(18)  # Salesforce ids, always in their 18-char form

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

watermarks = Table(
    "watermarks",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Raw records per kind (partner, rep, pool, pool_member, dealreg): the index is rebuilt
# from these with the current mappings, so a mapping change needs no re-download.
snapshot = Table(
    "snapshot",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("id", ID, primary_key=True),
    Column("record", JSON, nullable=False),
    Column("modstamp", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
)

# One row per lead the connector has looked at: where it stands for us.
LEAD_STATES = ("offered", "pooled", "accepted", "escalated", "fallback", "unroutable", "released", "closed")
leads = Table(
    "leads",
    metadata,
    Column("lead_id", ID, primary_key=True),
    Column("state", String(16), nullable=False),
    Column("attempt", Integer, nullable=False, default=0),
    Column("owner_id", ID),  # the owner we last wrote (or saw accepted)
    Column("status", OrgString(80)),  # the Lead.Status we last saw
    Column("modstamp", UTCDateTime),  # SystemModstamp we last saw
    Column("reason", OrgString(255)),
    Column("record", JSON),  # the Lead as last read: redistribution after a lapse needs no API read
    Column("updated_at", UTCDateTime, nullable=False),
    # the rule (Routing_Rule__c) of the decision that put the lead in its state, as written
    # or, rebuilt, as the org holds it: with the state, what marks a held escalation
    # (jobs/lifecycle.HELD_RULE), wording-free; a change of state without a decision clears it
    Column("rule", OrgString(80)),
    Index("ix_leads_state", "state"),
)

# lost: an accepted lead the partner closed without converting it (Closed - Not Converted)
OFFER_STATUSES = ("live", "accepted", "rejected", "lapsed", "closed", "escalated", "reclaimed", "lost")
offers = Table(
    "offers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lead_id", ID, nullable=False),
    Column("kind", String(12), nullable=False),  # offer | pool
    Column("partner_id", ID),
    Column("rep_id", ID),
    Column("queue_id", ID),
    Column("owner_id", ID),  # what OwnerId we set: the rep, or the pool's queue
    Column("rule", OrgString(80)),
    Column("attempt", Integer, nullable=False),
    Column("offered_at", UTCDateTime, nullable=False),
    Column("deadline", UTCDateTime),
    # the zone, working days and hours a working-hours window was counted in at the offer
    # ("Asia/Dubai; Sun Mon Tue Wed Thu; 09:00-17:00"); none: wall-clock hours, or an offer
    # made before offers kept it. Its reminder counts back in it (jobs/remind.py).
    Column("calendar", OrgString(80)),
    Column("reminded_at", UTCDateTime),
    # the offer's alert claimed (jobs/alerts.py): once, whichever connector confirms the write
    Column("alerted_at", UTCDateTime),
    Column("status", String(12), nullable=False),
    Column("lead_modstamp", UTCDateTime),
    Column("accepted_at", UTCDateTime),
    Column("accepted_by", ID),
    Column("followup_at", UTCDateTime),  # untouched-after-acceptance reminder sent
    Column("closed_at", UTCDateTime),
    Column("close_reason", OrgString(255)),
    Index("ix_offers_status_deadline", "status", "deadline"),
    Index("ix_offers_lead", "lead_id"),
    # the predictive learner's catch-up reads answers and closes after a moment (jobs/learning.py)
    Index("ix_offers_accepted_at", "accepted_at"),
    Index("ix_offers_closed_at", "closed_at"),
    Index(
        "uq_offers_one_live_per_lead",
        "lead_id",
        unique=True,
        sqlite_where=text("status = 'live'"),
        postgresql_where=text("status = 'live'"),
    ),
)

# Targets (partners, and pool queues) a lead must never go back to (rejected, lapsed,
# reclaimed), with why: read for the leads at hand, never held whole in memory.
exclusions = Table(
    "exclusions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lead_id", ID, nullable=False),
    Column("partner_id", ID, nullable=False),
    Column("outcome", String(12), nullable=False),
    Column("reason", OrgString(255)),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_exclusions_lead", "lead_id"),
)

# The engine's counters (rotation pointers, load and daily counts, track records) as
# one JSON document: small — per partner, not per lead — written with the offers.
routing_state = Table(
    "routing_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("data", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Which partner works a company (jobs/incumbents.py), one row per key: "company:<name as
# deal registrations read it>" or "domain:<email domain>". Read for the companies of the
# leads at hand, written as learned — never the whole set per transaction (it was part
# of the document above until version 10: 1.4 MB at the cap, loaded and saved by each job).
incumbents = Table(
    "incumbents",
    metadata,
    Column("key", String, primary_key=True),
    Column("partner_id", ID, nullable=False),
    Column("since", BigInteger, nullable=False),  # epoch seconds it works the company since; 0: undated
    Column("how", String(16), nullable=False),  # a key of rules.state.INCUMBENT_HOW
    Index("ix_incumbents_since", "since"),  # the cap lets the oldest go, the year's end forgets them
)

OUTBOX_STATUSES = ("pending", "sent", "confirmed", "dropped")
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lead_id", ID, nullable=False),
    Column("offer_id", Integer, ForeignKey("offers.id")),
    Column("purpose", String(16), nullable=False),  # offer, pool, accept, escalate, ...
    Column("payload", JSON, nullable=False),  # the Lead field updates, API names
    Column("seen_modstamp", UTCDateTime),  # the lead as we decided on it
    Column("status", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", OrgText),
    Index("ix_outbox_status", "status", "id"),
    Index("ix_outbox_lead", "lead_id"),
)

# Tasks the connector leaves on a Lead (jobs/activity.py) until Salesforce confirms them:
# one that could not be written for a while (a 503, a lost answer, the API allowance
# spent) is tried again later, and a retry first reads back whether the last try landed.
activity_tasks = Table(
    "activity_tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lead_id", ID, nullable=False),
    Column("kind", String(16), nullable=False),  # reminder, followup, alert
    Column("setting", String(32), nullable=False),  # the [notifications] setting that asked for it
    Column("record", JSON, nullable=False),  # the Task's fields, as first decided
    Column("status", String(10), nullable=False),  # pending, sent, confirmed, dropped
    Column("attempts", Integer, nullable=False, default=0),
    Column("first_sent_at", UTCDateTime),  # a Task found created since then is this one
    Column("next_at", UTCDateTime, nullable=False),  # not tried again before
    Column("task_id", ID),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_error", OrgText),
    Index("ix_activity_tasks_status_next", "status", "next_at"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lead_id", ID, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(12), nullable=False),
    Column("rule", OrgString(80)),
    Column("partner_id", ID),
    Column("attempt", Integer),
    Column("decision", JSON, nullable=False),  # the whole Decision incl. explanation
    Index("ix_decisions_lead", "lead_id", "at"),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(40), nullable=False),
    Column("job", String(32), nullable=False),
    Column("instance", String(80)),
    Column("started", UTCDateTime, nullable=False),
    Column("finished", UTCDateTime),
    Column("counts", JSON, nullable=False, default=dict),
    Column("api_calls", Integer, nullable=False, default=0),
    Column("error", OrgText),
    Index("ix_job_runs_job_started", "job", "started"),
)

# Who is running: the leader and standbys refresh their row, `status` reads it.
instances = Table(
    "instances",
    metadata,
    Column("instance", String(80), primary_key=True),
    Column("role", String(10), nullable=False),  # leader | standby | stopped
    Column("pid", Integer),
    Column("host", String(255)),
    Column("started", UTCDateTime, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
)

# The API budget as each working instance last saw it: the figures live in that
# process's client, and `leadrouter status` runs in another process.
api_budget = Table(
    "api_budget",
    metadata,
    Column("instance", String(80), primary_key=True),
    Column("data", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Which Salesforce org this state belongs to (jobs/state/orgs.py): one row, the `org`
# name of the worker that first opened it and the Organization Id (00D…) its org reported
# on first connect. A worker of another org is refused.
org_identity = Table(
    "org_identity",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(40)),
    Column("organization_id", ID),
)

# The change-event stream's position per topic (jobs/stream.py): the replay id is stored
# only after a batch's effects are committed.
stream_state = Table(
    "stream_state",
    metadata,
    Column("topic", String(120), primary_key=True),
    Column("replay_id", LargeBinary),  # resume after this event (stored after its effects)
    Column("instance", String(200)),
    Column("mode", String(10)),  # cdc | poll
    Column("connected_since", UTCDateTime),
    Column("updated_at", UTCDateTime),
    Column("events", Integer, default=0),
    Column("events_per_min", Float),
    Column("lag_s", Float),  # commitTimestamp of the batch's newest event -> its decisions committed
    Column("reconcile_finds", Integer, default=0),
    Column("note", OrgText),
)

# Bulk API 2.0 ingest jobs in flight (jobs/bulk_writeback.py): a chunk is recorded before
# its upload starts, so a restart finds the job by its id.
bulk_jobs = Table(
    "bulk_jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("upload", String(36), nullable=False),  # the chunks of one upload share it: one ingest job
    Column("job_id", String(18)),  # set before the upload starts
    Column("sobject", String(80), nullable=False),
    Column("state", String(10), nullable=False),  # preparing | running | settled | orphaned
    Column("entries", JSON, nullable=False),  # outbox ids of this chunk
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("note", OrgText),
    Index("ix_bulk_jobs_state", "state"),
)
