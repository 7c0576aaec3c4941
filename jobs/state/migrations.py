"""Versioned schema migrations: an ordered list of small functions.

A fresh database gets the current schema in one go and is stamped with the latest
version (replaying history on an empty database only costs time). An existing
database runs, in order, every migration above its recorded version, each in its own
transaction together with its version row, so a crash leaves it at a clean version.

Alembic would be the tool for a large team with branching histories; a dozen tables
owned by one package are served by forty lines we can read in one go.

Adding a change: edit `schema.py`, bump `SCHEMA_VERSION`, append a `Migration` doing
the same change with explicit DDL for databases already at the previous version.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from filelock import FileLock
from sqlalchemy import Connection, Engine, inspect, select, text

from jobs.state import schema


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


def _initial(conn: Connection) -> None:
    schema.metadata.create_all(conn)


def _per_lead_facts_to_rows(conn: Connection) -> None:
    """Routing state v1 → v2: the per-lead maps leave the one JSON document.

    Declined targets are rows of `exclusions` already (every rejection and lapse wrote
    one); any the document knew and the table lacks are carried over, so no partner
    gets a lead back it declined. Who holds a lead and its offer's rule are read from
    `offers`. What stays in the document is the counters. Live offers are untouched."""
    import json

    row = conn.execute(text("SELECT data FROM routing_state WHERE id = 1")).first()
    if row is None or row[0] is None:
        return
    data = row[0] if isinstance(row[0], dict) else json.loads(row[0])
    excluded = data.pop("excluded", None) or {}
    data.pop("open_by_lead", None)
    data.pop("offer_rule", None)
    have = {(r[0], r[1]) for r in conn.execute(text("SELECT lead_id, partner_id FROM exclusions"))}
    now = datetime.now(timezone.utc)
    missing = [{"lead_id": lead, "partner_id": target, "outcome": outcome,
                "reason": "carried over from the routing state document", "at": now}
               for lead, targets in excluded.items() for target, outcome in targets.items()
               if (lead, target) not in have]
    if missing:
        conn.execute(schema.exclusions.insert(), missing)
    data["version"] = 2
    cast = "CAST(:data AS JSON)" if conn.dialect.name == "postgresql" else ":data"
    conn.execute(text(f"UPDATE routing_state SET data = {cast} WHERE id = 1"), {"data": json.dumps(data)})


MIGRATIONS: list[Migration] = [
    Migration(1, "initial: offers, outbox, snapshot, audit, job runs", _initial),
    Migration(2, "api budget as each instance last saw it",
              lambda conn: schema.api_budget.create(conn, checkfirst=True)),
    Migration(3, "per-lead routing facts as rows, not in the routing state document", _per_lead_facts_to_rows),
]


class SchemaTooNew(RuntimeError):
    pass


def current_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table("schema_version"):
        return None
    v = conn.execute(select(schema.schema_version.c.version).order_by(schema.schema_version.c.version.desc())).first()
    return v[0] if v else None


def migrate(engine: Engine, migrations: list[Migration] | None = None) -> int:
    """Bring the database to the latest version; return the version reached."""
    migrations = MIGRATIONS if migrations is None else migrations
    target = max(m.version for m in migrations)
    with _exclusive(engine):
        with engine.connect() as conn:
            have = current_version(conn)
        if have is not None and have > target:
            raise SchemaTooNew(
                f"the state database is at schema version {have}, this leadrouter knows up to "
                f"{target}; upgrade leadrouter (or point [state] url at another database)"
            )
        if have is None:
            # Fresh database: the current schema at once, stamped with the latest version.
            with engine.begin() as conn:
                schema.metadata.create_all(conn)
                _stamp(conn, Migration(target, f"created at version {target}", _initial))
            return target
        for m in migrations:
            if have < m.version <= target:
                with engine.begin() as conn:
                    m.apply(conn)
                    _stamp(conn, m)
        return target


def _stamp(conn: Connection, m: Migration) -> None:
    conn.execute(schema.schema_version.insert().values(
        version=m.version, name=m.name, applied_at=datetime.now(timezone.utc)))


@contextmanager
def _exclusive(engine: Engine) -> Iterator[None]:
    """Two instances starting together must not both migrate."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
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
