"""Versioned schema migrations: an ordered list of small steps, one module each.

A fresh database gets the current schema in one go and is stamped with the latest
version (replaying history on an empty database only costs time; a test replays it
and finds the same tables). An existing database runs, in order, every migration
above its recorded version, each in its own transaction together with its version
row, so a crash leaves it at a clean version.

Each step carries its own frozen DDL and never imports today's table definitions
(`schema.py`), which move on: a step must do tomorrow exactly what it did the day it
was written.

Many orgs (jobs/state/orgs.py): on PostgreSQL the state of a named org lives in its own
schema, which is created here; a single-org state found in the default schema is first
carried into it (carry_over.py), then migrated like any other.

Alembic would be the tool for a large team with branching histories; a dozen tables
owned by one package are served by a few short modules we can read in one go.

Adding a change: edit `schema.py`, bump `SCHEMA_VERSION`, add a module `vN_<what>.py`
doing the same change with explicit, frozen DDL for databases at the previous version,
and list it in MIGRATIONS. Each step's `apply(conn, now)` is handed the time it runs at,
by the connector's clock (Salesforce's): a step that stores a time takes it from there,
never from the host, whose clock may be days off the org's.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from filelock import FileLock
from sqlalchemy import Connection, Engine, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from jobs.state import orgs, schema
from jobs.state.migrations import (
    carry_over,
    v1_initial,
    v2_api_budget,
    v3_per_lead_rows,
    v4_org_identity,
    v5_stream_and_bulk_jobs,
    v6_offer_answer_indexes,
    v7_lead_rule,
    v8_offer_calendar,
    v9_offer_alerted_at,
    v10_incumbent_rows,
    v11_activity_tasks,
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection, datetime], None]  # (conn, now: the org's time it runs at)


MIGRATIONS: list[Migration] = [
    Migration(1, v1_initial.NAME, v1_initial.apply),
    Migration(2, v2_api_budget.NAME, v2_api_budget.apply),
    Migration(3, v3_per_lead_rows.NAME, v3_per_lead_rows.apply),
    Migration(4, v4_org_identity.NAME, v4_org_identity.apply),
    Migration(5, v5_stream_and_bulk_jobs.NAME, v5_stream_and_bulk_jobs.apply),
    Migration(6, v6_offer_answer_indexes.NAME, v6_offer_answer_indexes.apply),
    Migration(7, v7_lead_rule.NAME, v7_lead_rule.apply),
    Migration(8, v8_offer_calendar.NAME, v8_offer_calendar.apply),
    Migration(9, v9_offer_alerted_at.NAME, v9_offer_alerted_at.apply),
    Migration(10, v10_incumbent_rows.NAME, v10_incumbent_rows.apply),
    Migration(11, v11_activity_tasks.NAME, v11_activity_tasks.apply),
]


class SchemaTooNew(RuntimeError):
    """The database was written by a newer leadrouter: nothing is read or changed in it."""

    def __init__(self, have: int, known: int) -> None:
        super().__init__(f"the state database is at schema version {have}, this leadrouter knows up to "
                         f"{known}; upgrade leadrouter (or point [state] url at another database)")
        self.have, self.known = have, known


class MigrationFailed(RuntimeError):
    """A step could not carry the state's data: its transaction rolled back, the state is
    still at `have` (as usable by the release that wrote it as before)."""

    def __init__(self, have: int, step: Migration, error: BaseException) -> None:
        super().__init__(f"migration {step.version} ({step.name}) failed: {type(error).__name__}: {error}")
        self.have, self.step, self.error = have, step, error


def failed(where: str, e: MigrationFailed) -> str:
    """What to say of a state a migration step could not carry."""
    return (f"the state database {where} could not be migrated from schema version {e.have} to {e.step.version} "
            f"({e.step.name}): {type(e.error).__name__}: {e.error}; that step changed nothing (the state is at "
            f"version {e.have}).\n"
            "  fix: the state is a cache of the org: move it aside and run `leadrouter state rebuild` with this "
            "version (it reads every routed lead back from the org), or put back the backup from before the upgrade "
            "and run the earlier leadrouter; keep the file moved aside for a bug report")


def too_new(where: str, have: int, known: int) -> str:
    """What to say of a state a newer leadrouter wrote (a rolled-back upgrade, an old image
    pointed at a shared database): a downgrade that ran on it could misread every table."""
    return (f"the state database {where} is at schema version {have}, written by a newer leadrouter; this one "
            f"knows versions up to {known} and changed nothing in it.\n"
            "  fix: run the leadrouter that wrote it (`leadrouter --version` there; a rollback of the program "
            "does not roll its state back); to go back for good, restore the state's backup from before the "
            "upgrade, or move it aside and run `leadrouter state rebuild` with this version")


def current_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table("schema_version"):
        return None
    v = conn.execute(select(schema.schema_version.c.version).order_by(schema.schema_version.c.version.desc())).first()
    return v[0] if v else None


def migrate(engine: Engine, migrations: list[Migration] | None = None, *,
            organization_id: str | None = None, now: Callable[[], datetime] | None = None) -> int:
    """Bring the database to the latest version; return the version reached.
    `organization_id`: the Salesforce org of the worker opening it, when known — a
    single-org state of another org is never carried into this one's schema.
    `now`: the connector's clock (Salesforce's), which dates each version applied as every
    other time in the state; only a store opened without an org (a tool's scratch state,
    a test) falls back on the host's."""
    now = now or (lambda: datetime.now(timezone.utc))
    migrations = MIGRATIONS if migrations is None else migrations
    target = max(m.version for m in migrations)
    org = orgs.org_of(engine.url)
    own_schema = engine.dialect.name == "postgresql" and orgs.schema_for(org) is not None
    with _exclusive(engine):
        if own_schema:
            with engine.begin() as conn:
                orgs.ensure_schema(conn, org)
        with engine.connect() as conn:
            have = current_version(conn)
        if have is None and own_schema:
            with engine.begin() as conn:
                if carry_over.from_default_schema(conn, org, organization_id):
                    have = current_version(conn)
        if have is not None and have > target:
            raise SchemaTooNew(have, target)
        if have is None:
            # Fresh database: the current schema at once, stamped with the latest version.
            with engine.begin() as conn:
                schema.metadata.create_all(conn)
                conn.execute(schema.org_identity.insert().values(id=1))  # named by the first worker (orgs.claim)
                _stamp(conn, target, f"created at version {target}", now())
            return target
        for m in migrations:
            if have < m.version <= target:
                try:
                    with engine.begin() as conn:
                        at = now()
                        m.apply(conn, at)
                        _stamp(conn, m.version, m.name, at)
                except (SQLAlchemyError, SchemaTooNew, orgs.OrgRefused):
                    raise  # the database itself (unreachable, damaged): said by the store as such
                except Exception as e:  # noqa: BLE001 - a step that cannot carry the data it finds
                    raise MigrationFailed(have, m, e) from e
                have = m.version
        return target


def _stamp(conn: Connection, version: int, name: str, at: datetime) -> None:
    conn.execute(schema.schema_version.insert().values(version=version, name=name, applied_at=at))


@contextmanager
def _exclusive(engine: Engine) -> Iterator[None]:
    """Two instances starting together must not both migrate."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            # one lock for the whole database, every org: a carry-over out of the default
            # schema must not race another org's
            conn.execute(text("SELECT pg_advisory_lock(72210001)"))
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(72210001)"))
                conn.commit()
        return
    db = engine.url.database
    if not db or db == ":memory:":
        yield
        return
    with FileLock(str(Path(db)) + ".migrate.lock", timeout=60):
        yield
