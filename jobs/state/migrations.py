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


MIGRATIONS: list[Migration] = [
    Migration(1, "initial: offers, outbox, snapshot, audit, job runs", _initial),
    Migration(2, "api budget as each instance last saw it",
              lambda conn: schema.api_budget.create(conn, checkfirst=True)),
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
