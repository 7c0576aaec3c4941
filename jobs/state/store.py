"""The state database: engine set-up and the small records around the offers.

Every function takes a `Connection` so callers compose them inside ONE transaction
(`with store.begin() as conn:`): a decision, its offer, its outbox entry and the
engine's counters commit together or not at all.
"""
from __future__ import annotations

import zlib
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator, Sequence

from sqlalchemy import JSON, Connection, Engine, Null, create_engine, delete, event, exc, func, select, text, update

from jobs.state import orgs, schema
from jobs.state.orgs import location  # noqa: F401 - where callers (st.location) find it
from jobs.state.migrations import MigrationFailed, SchemaTooNew, failed, migrate, too_new
from jobs.state.types import UTCDateTime
from jobs.timeutil import parse_sf_datetime
# JSON columns take decisions (dataclasses, enums, datetimes) as they are: the C encoder
# walks them in one pass instead of a Python copy per decision (rules/serial.py).
from rules.serial import to_json


class StateProblem(RuntimeError):
    """The state database cannot be used as it is (corrupt, not a database, unreadable).
    The message says what and how to fix it; no job may run on it."""


class Store:
    """The state of one org. `org`: the configured org name of the worker opening it —
    the state is refused when it belongs to another org, else it records this one (and
    `organization_id`, the 00D… the org reported, once known). Without `org` (tools,
    tests) nothing is checked or recorded; `self.org` is then the org the URL names."""

    def __init__(self, url: str, *, pool_size: int = 5, org: str | None = None,
                 organization_id: str | None = None, now: Callable[[], datetime] | None = None) -> None:
        self.url = url
        self.org = org or orgs.org_of(url)
        self.organization_id = organization_id  # the 00D… the org reported (the org lease's key names it)
        if url.startswith("sqlite"):
            _private_file(url)
        self.engine: Engine = _engine(url, pool_size)
        try:
            if org is not None:  # before anything is created or migrated in another org's state
                with self.engine.connect() as conn:
                    orgs.refuse_other(orgs.recorded(conn), org, organization_id, location(url))
            # `now`: the connector's clock, Salesforce's: a migration is dated as the jobs are
            self.version = migrate(self.engine, organization_id=organization_id, now=now)
            if org is not None:
                with self.engine.begin() as conn:
                    orgs.claim(conn, org, organization_id, location(url))
        except orgs.OrgRefused as e:
            self.engine.dispose()
            raise StateProblem(str(e)) from None
        except SchemaTooNew as e:
            self.engine.dispose()
            raise StateProblem(too_new(location(url), e.have, e.known)) from None
        except MigrationFailed as e:
            self.engine.dispose()
            raise StateProblem(failed(location(url), e)) from None
        except StateProblem:
            self.engine.dispose()
            raise
        except exc.OperationalError as e:
            self.engine.dispose()
            detail = str(getattr(e, "orig", e)).strip()
            # a server that does not answer is not a damaged database: restoring a backup would not help
            raise StateProblem(_broken(url, detail) if url.startswith("sqlite") else unreachable(url, detail)) \
                from None
        except exc.DatabaseError as e:
            self.engine.dispose()
            raise StateProblem(_broken(url, str(getattr(e, "orig", e)))) from None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction. On SQLite it takes the write lock at its start (BEGIN
        IMMEDIATE): one that read first and wrote after another writer committed in between
        would otherwise fail at once with "database is locked" (its snapshot is stale, so
        SQLite cannot wait) — the stream's read window, the heartbeat and a job meet so."""
        if self.engine.dialect.name != "sqlite":
            with self.engine.begin() as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def behind(url: str) -> int | None:
    """The schema version of an existing state an earlier leadrouter wrote (a migration
    is pending), read without changing it; None for a current, newer, missing or unreadable
    one (opening it with Store says what is wrong). A check (validate, dry-run, a start the
    org's checks refuse) must leave such a state as it is: the earlier release may still run
    on it, and it refuses a state migrated past it."""
    have = _version_of(url)
    return have if have is not None and have < schema.SCHEMA_VERSION else None


def ahead(url: str) -> int | None:
    """The schema version of a state a newer leadrouter wrote (a rolled-back upgrade), which
    this one refuses to open (SchemaTooNew); None otherwise. Read without changing it."""
    have = _version_of(url)
    return have if have is not None and have > schema.SCHEMA_VERSION else None


def _version_of(url: str) -> int | None:
    from jobs.state.migrations import current_version

    path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else None
    if path is not None and (not path or path == ":memory:" or not Path(path).is_file()):
        return None
    engine = create_engine(url, connect_args=server_connect_args(url))
    try:
        with engine.connect() as conn:
            have = current_version(conn)
            if have is None and engine.dialect.name == "postgresql" and orgs.schema_for(orgs.org_of(url)):
                have = _single_org_version(conn)
            return have
    except exc.SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def learnt_clock_offset(url: str) -> tuple[float, datetime] | None:
    """Salesforce's clock minus the host's in seconds, as the last job that measured it kept
    it (its api_budget row), and when by Salesforce's clock; read before the login that
    wants it, so without opening, migrating or creating the state. None when there is
    none to read: a missing, new, unreadable or damaged state simply has no guess (the
    state is a cache: the login then stamps with the host's clock, as a first run does)."""
    path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else None
    if path is not None and (not path or path == ":memory:" or not Path(path).is_file()):
        return None
    try:
        engine = create_engine(url, connect_args=server_connect_args(url))
    except (exc.SQLAlchemyError, ImportError, ValueError):
        return None
    try:
        with engine.connect() as conn:
            for row in api_budgets(conn):  # newest first
                seconds = row.get("clock_skew_seconds")
                at = row.get("updated_at")
                if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and isinstance(at, datetime):
                    return float(seconds), at
    except (exc.SQLAlchemyError, ValueError, TypeError, AttributeError):
        return None
    finally:
        engine.dispose()
    return None


def _single_org_version(conn: Connection) -> int | None:
    """A named org's schema not made yet: the version of the single-org state in the default
    schema its first start would carry over (migrations/carry_over.py), if there is one."""
    from jobs.state.migrations.carry_over import SOURCE

    tables = set(conn.execute(text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                              {"s": SOURCE}).scalars())
    if "schema_version" not in tables:
        return None
    if "org_identity" in tables:
        row = conn.execute(text(f"SELECT name FROM {SOURCE}.org_identity WHERE id = 1")).first()
        if row is not None and row[0] not in (None, orgs.DEFAULT_ORG):
            return None  # another org's, or the note one left behind: never carried over
    return conn.execute(text(f"SELECT max(version) FROM {SOURCE}.schema_version")).scalar()


def describe_problem(e: BaseException, url: str | None = None) -> str:
    """One message for any failure of the state database, without a traceback."""
    if isinstance(e, StateProblem):
        return str(e)
    detail = str(getattr(e, "orig", None) or e).splitlines()[0]
    return sqlite_trouble(detail, location(url) if url else "in [state] url") or _broken(url or "in [state] url", detail)


def sqlite_trouble(detail: str, where: str) -> str | None:
    """What to say when SQLite refuses a write for a reason outside the database (its file
    locked by another process, the disk full, the file or volume gone read-only, an I/O
    error): not damage, and the transaction refused was rolled back whole, so nothing was
    written to Salesforce on its account. None for anything else."""
    if "database is locked" in detail or "database table is locked" in detail:
        return (f"another process holds the write lock of the state database {where} (a backup tool, or an "
                "sqlite3 shell left in a transaction?); nothing was lost, the work waits for it.\n"
                "  fix: end that process's transaction; back the state up with `sqlite3 <file> \".backup <copy>\"` "
                "(or the online backup API), which reads without holding the write lock")
    if "disk is full" in detail:
        return (f"the disk holding the state database {where} is full: the write was refused and rolled back "
                "whole, nothing was sent to Salesforce on its account, and the work is done again once it fits.\n"
                "  fix: free space on that filesystem (or grow the volume); `[state] retention_days` bounds "
                "how long ended leads are kept")
    if "readonly database" in detail or "read-only" in detail:
        return (f"the state database {where} cannot be written: the file, its directory or its volume is "
                "read-only (a volume remounted read-only after a disk error?); nothing was sent to Salesforce "
                "on its account.\n  fix: make it writable again for the user running leadrouter (remount, "
                "chmod/chown) and restart leadrouter")
    if "disk I/O error" in detail:
        return (f"the disk holding the state database {where} failed a read or write (disk I/O error); nothing "
                "was sent to Salesforce on its account.\n  fix: check the disk and the volume (dmesg); if the "
                "file is damaged, move it aside and run `leadrouter state rebuild`")
    return None


def _broken(url: str, detail: str) -> str:
    where = url.split("///", 1)[-1] if url.startswith("sqlite") else _safe_url(url)
    return (f"the state database {where} cannot be used: {detail}.\n"
            "  fix: restore it from a backup; or move it aside and run `leadrouter state rebuild`, which "
            "rebuilds the live offers from the org (every routed lead carries its partner, owner, attempt and "
            "deadline) before any job runs")


def unreachable(url: str, detail: str) -> str:
    """What to say of a database server that does not answer (not a damaged database)."""
    return (f"cannot reach the state database at {_safe_url(url)}: {detail}\n"
            "  fix: check [state] url (or LEADROUTER_STATE_URL) and that the database server is running and "
            "reachable")


def _safe_url(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 — a URL we cannot parse is shown without its credentials
        return url.split("@")[-1]


def _private_file(url: str) -> None:
    """The state holds personal data: a new SQLite file is created 0600 before SQLite
    would create it with the process umask (the demo and tests open stores directly)."""
    from pathlib import Path

    db = url.split("///", 1)[-1]
    if not db or db == ":memory:" or not Path(db).parent.is_dir():
        return
    from jobs.state.files import create_private

    try:
        create_private(Path(db))
    except OSError:
        pass  # an unwritable place: SQLite's own error says so when it opens the file


def check_sqlite_file(url: str) -> None:
    """Before any lock or job: is the SQLite state file a sound database? SQLite's own
    quick_check (seconds on a large file, once per command): a file damaged mid-way is
    refused before a job reads half of it. Nothing to check for a missing or empty
    file, or for PostgreSQL."""
    import sqlite3
    from pathlib import Path

    if not url.startswith("sqlite"):
        return
    path = Path(url.split("///", 1)[-1])
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as conn:
            rows = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as e:
        raise StateProblem(_broken(str(path), str(e))) from None
    if rows != ["ok"]:
        raise StateProblem(_broken(str(path), "SQLite's quick_check found damage (" + "; ".join(map(str, rows[:3])) + ")"))


_WRITE = "leadrouter_write"  # execution option: this SQLite transaction writes (Store.begin)


def _engine(url: str, pool_size: int) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, json_serializer=to_json)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # noqa: ANN001
            # pysqlite's own transaction handling breaks SAVEPOINT (which guards the
            # one-live-offer insert); take over BEGIN ourselves, as SQLAlchemy documents.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            # A new file only (an existing one keeps its own): an audit row is 1-3 KB of JSON,
            # one or two to a 4 KB page; 16 KB pages hold five or more, and a backfill's
            # commits write and checkpoint a fifth fewer pages (~6 µs a lead of SQLite's CPU).
            cur.execute("PRAGMA page_size=16384")
            # WAL: `status` can read while the leader writes; FULL sync: a SIGKILL (or power
            # loss) never loses a committed outbox entry.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # noqa: ANN001
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

        return engine
    return create_engine(url, pool_size=pool_size, pool_pre_ping=True, json_serializer=to_json,
                         connect_args=server_connect_args(url))


# Seconds a PostgreSQL connection attempt may take. Without a bound, a server host that drops
# packets (rather than refusing) holds the caller for the OS's TCP timeout, minutes: the
# service's main loop would look hung (/livez 503, a pod restarted) during what is an outage.
CONNECT_TIMEOUT = 10


# TCP keepalives on every server connection: a connection whose server vanished (a failover,
# a host gone, a NAT that forgot it) fails its query within about a minute (30 s idle, then
# 3 probes 10 s apart) instead of waiting on a socket nobody answers.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
# Keepalives cover an idle socket only. A query sent into a network partition is data the
# server never acknowledges: the kernel retransmits it for ~15 minutes (tcp_retries2) before
# failing. Unacknowledged for 60 s is as dead as unanswered keepalives (milliseconds).
TCP_USER_TIMEOUT_MS = 60_000


def server_connect_args(url: str) -> dict[str, Any]:
    """Connection arguments for a database server's URL: a bounded connect and TCP
    keepalives, each unless the URL names its own (libpq reads them from the URL's query)."""
    if url.startswith("sqlite"):
        return {}
    wanted = {"connect_timeout": CONNECT_TIMEOUT, **KEEPALIVES, "tcp_user_timeout": TCP_USER_TIMEOUT_MS}
    return {k: v for k, v in wanted.items() if f"{k}=" not in url}


# The SERVER's side of the leader lock's session. The advisory lock goes when the server
# sees that session's socket die; a leader cut off by a network partition sends nothing, and
# the server's own default (tcp_keepalives_idle 7200 s) kept its lock, and every standby
# waiting, for over two hours. With these the server lets go after 90 s of silence
# (60 s idle, 3 probes 10 s apart) — later than the leader's own side gives up (above: 30 s
# + 3 × 10 s, or 60 s unacknowledged), and the leader cannot write to Salesforce meanwhile
# anyway: each batch is fenced in a state transaction it cannot reach. The server's clock
# alone times the handover; no two hosts' clocks are compared.
SERVER_KEEPALIVES = {"tcp_keepalives_idle": 60, "tcp_keepalives_interval": 10, "tcp_keepalives_count": 3,
                     "tcp_user_timeout": 90_000}


def keep_lock_session_alive(engine: Engine) -> None:
    """Ask the server for SERVER_KEEPALIVES on each session `engine` opens: SET after
    connecting, not libpq's startup `options`, which a connection pooler in front of the
    server (PgBouncer) refuses outright. A server that refuses a SET keeps its defaults:
    the lock still works, only a partitioned leader holds it longer."""
    sets = "; ".join(f"SET {k} = {v}" for k, v in SERVER_KEEPALIVES.items())

    @event.listens_for(engine, "connect")
    def _keepalives(dbapi_conn, _record):  # noqa: ANN001
        try:
            with dbapi_conn.cursor() as cur:
                cur.execute(sets)
            dbapi_conn.commit()
        except Exception:  # noqa: BLE001 - see above: the lock works without them
            dbapi_conn.rollback()


def upsert(conn: Connection, table, rows: list[Any], keys: Iterable[str], *,
           names: Sequence[str] | None = None, only_where: str = "") -> None:
    """INSERT … ON CONFLICT DO UPDATE, on whichever of the two databases we are on (rows as
    `insert_rows` takes them); `only_where`: the update's condition, SQL naming the row kept
    by its table's name and the row offered as `excluded` (a later fact wins, not the last)."""
    insert_rows(conn, table, rows, names=names, conflict=tuple(keys), only_where=only_where)


# --- many rows at once -----------------------------------------------------------
# A backfill commits four rows per lead. Bound through SQLAlchemy's executemany, each row
# cost ~30 µs of Python (parameter dicts, a processor call per value): most of the commit.
# Here the same processors (so the same stored text: the datetimes, the JSON) run once per
# column, a datetime repeated in a page (`now`, one deadline per window) is converted once,
# and each chunk of rows is ONE multi-row INSERT on either database.

_PARAMS_PER_STATEMENT = {"sqlite": 999, "postgresql": 30_000}  # SQLite's smallest build limit; PG's is 65,535


def insert_rows(conn: Connection, table, rows: list[Any], *, names: Sequence[str] | None = None,
                returning: tuple[str, ...] = (), conflict: tuple[str, ...] = (),
                only_where: str = "") -> list[tuple[Any, ...]]:
    """`conn.execute(table.insert(), rows)` for rows that all have the keys of the first, or
    for tuples of the `names` columns in that order (a commit builds those directly: no
    dict per row) — an upsert on `conflict` when given: the last row of a key wins, as
    executemany's would; answers the `returning` columns of every row inserted, in no
    particular order."""
    if not rows:
        return []
    dialect = conn.dialect
    if names is None:
        names = list(rows[0])
        if conflict:
            rows = list({tuple(r[k] for k in conflict): r for r in rows}.values())
        columns: list[Any] = [[r[n] for r in rows] for n in names]
    else:
        names = list(names)
        if conflict:
            at = [names.index(k) for k in conflict]
            rows = list({tuple(r[i] for i in at): r for r in rows}.values())
        columns = list(zip(*rows))
    prep = dialect.identifier_preparer
    cols = [table.c[n] for n in names]
    # PostgreSQL's COPY takes text: a JSON column's value goes as to_json's text, as on SQLite
    copied = dialect.name == "postgresql" and ((not returning and not conflict) or len(rows) >= _STAGE_FROM)
    convert = [_bind_converter(c.type, dialect, json_text=copied) for c in cols]
    one = "(" + ", ".join([_mark(dialect)] * len(cols)) + ")"
    head = f"INSERT INTO {prep.format_table(table)} ({', '.join(prep.quote(c.name) for c in cols)}) VALUES "
    tail = ""
    if conflict:
        rest = [prep.quote(n) for n in names if n not in conflict]
        target = ", ".join(prep.quote(n) for n in conflict)
        tail = (f" ON CONFLICT ({target}) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in rest)
                + (f" WHERE {only_where}" if only_where else "")) if rest \
            else f" ON CONFLICT ({target}) DO NOTHING"
    if returning:
        tail += " RETURNING " + ", ".join(prep.quote(table.c[n].name) for n in returning)
    for i, fn in enumerate(convert):
        if fn is not None:
            columns[i] = fn(columns[i])
    values = list(zip(*columns))
    if dialect.name == "postgresql":
        if not copied:
            return _pg_many(conn, head + one + tail, values, bool(returning))
        if not returning and not conflict:
            return _pg_copy(conn, table, cols, values)
        return _pg_staged(conn, table, cols, values, tail)
    step = max(1, _PARAMS_PER_STATEMENT.get(dialect.name, 999) // len(cols))
    out: list[tuple[Any, ...]] = []
    for i in range(0, len(values), step):
        chunk = values[i:i + step]
        params = tuple(chain.from_iterable(chunk))
        result = conn.exec_driver_sql(head + ", ".join([one] * len(chunk)) + tail, params)
        if returning:
            out += [tuple(r) for r in result]
    return out


def _pg_many(conn: Connection, sql: str, values: list[tuple[Any, ...]], returning: bool) -> list[tuple[Any, ...]]:
    """On PostgreSQL one row's statement for every row, in one pipeline (psycopg's
    executemany): psycopg parses a statement of more than 50 parameters anew at each
    execution, a regex match per placeholder — a multi-row INSERT cost ~1 µs a value."""
    dbapi = conn.dialect.dbapi
    cur = conn.connection.cursor()  # the DBAPI cursor, in this connection's transaction
    try:
        cur.executemany(sql, values, returning=returning)
        out: list[tuple[Any, ...]] = []
        while returning:
            out += [tuple(r) for r in cur.fetchall()]
            if not cur.nextset():
                break
        return out
    except dbapi.Error as e:  # as SQLAlchemy would raise it (IntegrityError for a double live offer)
        raise exc.DBAPIError.instance(sql, values[:3], e, dbapi.Error) from e
    finally:
        cur.close()


_STAGE_FROM = 100  # rows: below it a statement per row costs less than the staging's three


def _pg_staged(conn: Connection, table, cols: list[Any], values: list[tuple[Any, ...]],
               tail: str) -> list[tuple[Any, ...]]:
    """Many rows that need ON CONFLICT or RETURNING (the offers, the leads) on PostgreSQL:
    COPY into a session's temporary table of those columns, then one INSERT … SELECT
    from it in their order (ids given as executemany would give them) that empties it.
    psycopg's executemany cost ~13 µs of Python a row; a COPY row a few."""
    dbapi = conn.dialect.dbapi
    prep = conn.dialect.identifier_preparer
    names = ", ".join(prep.quote(c.name) for c in cols)
    stage = f"lr_stage_{table.name}_{zlib.crc32(names.encode()):08x}"
    cur = conn.connection.cursor()
    sql = f"COPY {stage} (lr_seq, {names}) FROM STDIN"
    try:
        # rolled back with a failed transaction, so asked for each time (a catalog lookup)
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS SELECT 0 AS lr_seq, {names} "
                    f"FROM {prep.format_table(table)} WITH NO DATA")
        with cur.copy(sql) as copy:
            for seq, row in enumerate(values):
                copy.write_row((seq, *row))
        sql = (f"WITH staged AS (DELETE FROM {stage} RETURNING *) INSERT INTO {prep.format_table(table)} ({names}) "
               f"SELECT {names} FROM staged ORDER BY lr_seq{tail}")
        cur.execute(sql)
        return [tuple(r) for r in cur.fetchall()] if cur.description else []
    except dbapi.Error as e:  # as SQLAlchemy would raise it (IntegrityError for a double live offer)
        raise exc.DBAPIError.instance(sql, values[:3], e, dbapi.Error) from e
    finally:
        cur.close()


def _pg_copy(conn: Connection, table, cols: list[Any], values: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Plain appends (the decision audit, the outbox) on PostgreSQL: COPY, rows in order."""
    dbapi = conn.dialect.dbapi
    prep = conn.dialect.identifier_preparer
    sql = f"COPY {prep.format_table(table)} ({', '.join(prep.quote(c.name) for c in cols)}) FROM STDIN"
    cur = conn.connection.cursor()
    try:
        with cur.copy(sql) as copy:
            for row in values:
                copy.write_row(row)
        return []
    except dbapi.Error as e:
        raise exc.DBAPIError.instance(sql, values[:3], e, dbapi.Error) from e
    finally:
        cur.close()


def _bind_converter(type_, dialect, *, json_text: bool = False):
    """The column type's own bind processor, applied to a whole column; datetimes (few
    distinct values in a page) through a cache. `json_text`: a JSON column's values as
    text on any database (for PostgreSQL's COPY)."""
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return None
    if isinstance(type_, UTCDateTime):
        def column(values: list[Any]) -> list[Any]:
            seen: dict[Any, Any] = {}
            out = []
            for v in values:
                if v is None:
                    out.append(None)
                    continue
                hit = seen.get(v, seen)
                if hit is seen:
                    hit = seen[v] = process(v)
                out.append(hit)
            return out
        return column
    if isinstance(type_, JSON) and (json_text or dialect.name == "sqlite") and dialect._json_serializer is to_json:
        # a decision, a record, a payload: to_json's own text straight from the encoder;
        # None and SQL NULL as the type's processor has them (PostgreSQL's binds a wrapper
        # that a statement's parameter needs)
        null = JSON.NULL

        def json_column(values: list[Any]) -> list[Any]:
            return [process(v) if v is None or v is null or isinstance(v, Null) else _JSON_TEXT(v) for v in values]
        return json_column
    return lambda values: [process(v) for v in values]


def _json_text() -> Any:
    """`rules.serial.to_json` (default separators), its C encoder made once instead of at
    every call (json.JSONEncoder.encode builds one per value: ~0.5 µs of a payload's 2.5);
    tests/jobs/test_state_json.py holds the text to to_json's."""
    from json import encoder

    from rules import serial

    if encoder.c_make_encoder is None:  # a Python without the C accelerator
        return to_json
    encode = encoder.c_make_encoder(None, serial._default, encoder.encode_basestring_ascii, None, ": ", ", ",
                                    False, False, True)
    join = "".join
    return lambda value: join(encode(value, 0))


_JSON_TEXT = _json_text()


# Lookups by a page's ids: SQLAlchemy renders an expanded `IN (…)` of 500 values anew at
# each execution (~0.5 ms, more than SQLite takes to answer it); these render the
# statement once per chunk size. For columns read as they are stored (ids, names, statuses).
_CHUNK = 500
_SQL: dict[tuple[Any, ...], str] = {}


def where_in(conn: Connection, table, columns: tuple[str, ...], column: str, values: list[Any], *,
             order_by: str | None = None) -> list[tuple[Any, ...]]:
    """SELECT `columns` FROM `table` WHERE `column` IN `values` (ORDER BY `order_by`, per
    chunk of 500), as plain tuples."""
    out: list[tuple[Any, ...]] = []
    for i in range(0, len(values), _CHUNK):
        chunk = values[i:i + _CHUNK]
        form = _form(conn, chunk)
        key = ("select", conn.dialect.name, table.name, columns, column, order_by, len(chunk), form)
        sql = _SQL.get(key)
        if sql is None:
            prep = conn.dialect.identifier_preparer
            sql = (f"SELECT {', '.join(prep.quote(table.c[c].name) for c in columns)} FROM {prep.format_table(table)} "
                   f"WHERE {prep.quote(table.c[column].name)} {_in(conn, len(chunk), form)}"
                   + (f" ORDER BY {prep.quote(table.c[order_by].name)}" if order_by else ""))
            _SQL[key] = sql
        out += [tuple(r) for r in conn.exec_driver_sql(sql, _in_params(conn, chunk, form))]
    return out


def rows_in(conn: Connection, table, column: str, values: list[Any], *, order_by: str | None = None) -> list[dict[str, Any]]:
    """`where_in` for whole rows, each value read by its column's own result processor
    (the datetimes, the JSON), as `dict(row._mapping)` of a select of the table gives them."""
    names = tuple(c.key for c in table.c)
    dialect = conn.dialect
    processors = [(i, p) for i, c in enumerate(table.c)
                  if (p := c.type.dialect_impl(dialect).result_processor(dialect, None)) is not None]
    out = []
    for row in where_in(conn, table, names, column, values, order_by=order_by):
        if processors:
            row = list(row)  # type: ignore[assignment]
            for i, p in processors:
                row[i] = p(row[i])  # type: ignore[index]
        out.append(dict(zip(names, row)))
    return out


def update_in(conn: Connection, table, column: str, values: list[Any], **assign: Any) -> int:
    """UPDATE `table` SET `assign` WHERE `column` IN `values` (per chunk of 500); the
    assigned values bound by their columns' own processors. Answers the rows updated."""
    if not values:
        return 0
    dialect = conn.dialect
    names = tuple(assign)
    bound = []
    for n in names:
        process = table.c[n].type.dialect_impl(dialect).bind_processor(dialect)
        bound.append(process(assign[n]) if process is not None else assign[n])
    updated = 0
    for i in range(0, len(values), _CHUNK):
        chunk = values[i:i + _CHUNK]
        form = _form(conn, chunk)
        key = ("update", dialect.name, table.name, names, column, len(chunk), form)
        sql = _SQL.get(key)
        if sql is None:
            prep = dialect.identifier_preparer
            sql = (f"UPDATE {prep.format_table(table)} SET {', '.join(f'{prep.quote(table.c[n].name)} = {_mark(dialect)}' for n in names)} "
                   f"WHERE {prep.quote(table.c[column].name)} {_in(conn, len(chunk), form)}")
            _SQL[key] = sql
        updated += conn.exec_driver_sql(sql, (*bound, *_in_params(conn, chunk, form))).rowcount
    return updated


def _form(conn: Connection, chunk: list[Any]) -> str:
    """How a chunk of values goes to PostgreSQL as one parameter (psycopg parses a statement
    of more than 50 anew each time): ids (letters and digits) or integers as ONE text the
    server splits — psycopg dumps a list element by element in Python, ~1 µs a value
    against ~0.07 — anything else as a list. SQLite: a placeholder per value."""
    if conn.dialect.name != "postgresql":
        return "values"
    if all(type(v) is str for v in chunk) and "".join(chunk).isalnum():
        return "text"
    if all(type(v) is int for v in chunk):
        return "int"
    return "list"


_IN = {"text": "= ANY(string_to_array(%s, ','))", "int": "= ANY(CAST(string_to_array(%s, ',') AS bigint[]))",
       "list": "= ANY(%s)"}


def _in(conn: Connection, n: int, form: str) -> str:
    if form == "values":
        return "IN (" + ", ".join([_mark(conn.dialect)] * n) + ")"
    return _IN[form]


def _mark(dialect: Any) -> str:
    """One parameter's placeholder in the driver's own style (sqlite3: ?, psycopg: %s)."""
    return "?" if dialect.paramstyle == "qmark" else "%s"


def _in_params(conn: Connection, chunk: list[Any], form: str) -> tuple[Any, ...]:
    if form == "values":
        return tuple(chunk)
    if form == "text":
        return (",".join(chunk),)
    if form == "int":
        return (",".join(map(str, chunk)),)
    return (list(chunk),)


# --- watermarks --------------------------------------------------------------------

def get_watermark(conn: Connection, name: str) -> datetime | None:
    return conn.execute(select(schema.watermarks.c.value).where(schema.watermarks.c.name == name)).scalar()


def set_watermark(conn: Connection, name: str, value: datetime, now: datetime) -> None:
    upsert(conn, schema.watermarks, [{"name": name, "value": value, "updated_at": now}], ["name"])


# --- partner snapshot ----------------------------------------------------------------

def put_snapshot(conn: Connection, kind: str, records: list[dict[str, Any]], now: datetime,
                 modstamp_field: str = "SystemModstamp") -> None:
    rows = [
        {"kind": kind, "id": r["Id"], "record": r,
         "modstamp": parse_sf_datetime(r.get(modstamp_field)), "updated_at": now}
        for r in records
    ]
    for i in range(0, len(rows), 500):
        upsert(conn, schema.snapshot, rows[i:i + 500], ["kind", "id"])


def replace_snapshot(conn: Connection, kind: str, records: list[dict[str, Any]], now: datetime) -> None:
    """For small kinds read whole each time (pool members): what is gone is gone."""
    conn.execute(delete(schema.snapshot).where(schema.snapshot.c.kind == kind))
    put_snapshot(conn, kind, records, now)


def drop_from_snapshot(conn: Connection, kind: str, ids: list[str]) -> int:
    """Records that no longer belong (an account no longer a partner): how many went."""
    gone = 0
    for i in range(0, len(ids), 500):
        gone += conn.execute(delete(schema.snapshot).where(schema.snapshot.c.kind == kind,
                                                          schema.snapshot.c.id.in_(ids[i:i + 500]))).rowcount or 0
    return gone


def snapshot_differs(conn: Connection, kind: str, records: list[dict[str, Any]]) -> bool:
    """Whether any of `records` is new to the snapshot or differs from the one it holds."""
    t = schema.snapshot
    for i in range(0, len(records), 500):
        part = {r["Id"]: r for r in records[i:i + 500]}
        held = dict(conn.execute(select(t.c.id, t.c.record).where(t.c.kind == kind, t.c.id.in_(list(part)))).all())
        if any(held.get(rid) != rec for rid, rec in part.items()):
            return True
    return False


def snapshot_records(conn: Connection, kind: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(schema.snapshot.c.record).where(schema.snapshot.c.kind == kind).order_by(schema.snapshot.c.id))
    return [r[0] for r in rows]


def snapshot_counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(schema.snapshot.c.kind, func.count()).group_by(schema.snapshot.c.kind))
    return {k: n for k, n in rows}


# --- routing state -------------------------------------------------------------------

def load_routing_state(conn: Connection) -> dict[str, Any] | None:
    return conn.execute(select(schema.routing_state.c.data).where(schema.routing_state.c.id == 1)).scalar()


def save_routing_state(conn: Connection, data: dict[str, Any], now: datetime) -> None:
    upsert(conn, schema.routing_state, [{"id": 1, "data": data, "updated_at": now}], ["id"])


# --- job runs ------------------------------------------------------------------------

def start_job_run(conn: Connection, run_id: str, job: str, instance: str, now: datetime) -> int:
    return conn.execute(schema.job_runs.insert().values(
        run_id=run_id, job=job, instance=instance, started=now, counts={}, api_calls=0)).inserted_primary_key[0]


def finish_job_run(conn: Connection, row_id: int, now: datetime, counts: dict[str, int],
                   api_calls: int, error: str | None) -> None:
    conn.execute(update(schema.job_runs).where(schema.job_runs.c.id == row_id).values(
        finished=now, counts=counts, api_calls=api_calls, error=error))


def last_finished(conn: Connection) -> datetime | None:
    """How far this state knows the org (the org's time): when its latest job run ended, or
    its latest write to the org was marked (a run killed mid-write ended no job run)."""
    ends = [conn.execute(select(func.max(schema.job_runs.c.finished))).scalar(),
            conn.execute(select(func.max(schema.outbox.c.updated_at))).scalar()]
    known = [e for e in ends if e is not None]
    return max(known) if known else None


def last_job_runs(conn: Connection) -> list[dict[str, Any]]:
    """The latest run of each job."""
    t = schema.job_runs
    latest = select(t.c.job, func.max(t.c.id).label("id")).group_by(t.c.job).subquery()
    rows = conn.execute(select(t).join(latest, t.c.id == latest.c.id).order_by(t.c.job))
    return [dict(r._mapping) for r in rows]


def last_ok_job_runs(conn: Connection) -> list[dict[str, Any]]:
    """The latest finished, error-free run of each job."""
    t = schema.job_runs
    latest = (select(t.c.job, func.max(t.c.id).label("id"))
              .where(t.c.finished.is_not(None), t.c.error.is_(None)).group_by(t.c.job).subquery())
    return [dict(r._mapping) for r in conn.execute(select(t).join(latest, t.c.id == latest.c.id))]


# --- instances -----------------------------------------------------------------------

def heartbeat(conn: Connection, instance: str, role: str, pid: int, host: str, started: datetime, now: datetime) -> None:
    upsert(conn, schema.instances, [{"instance": instance, "role": role, "pid": pid, "host": host,
                                     "started": started, "seen_at": now}], ["instance"])


def list_instances(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(select(schema.instances).order_by(schema.instances.c.seen_at.desc()))]


# --- API budget ---------------------------------------------------------------------

def put_api_budget(conn: Connection, instance: str, data: dict[str, Any], now: datetime) -> None:
    upsert(conn, schema.api_budget, [{"instance": instance, "data": data, "updated_at": now}], ["instance"])


def api_budgets(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(schema.api_budget).order_by(schema.api_budget.c.updated_at.desc()))
    return [{"instance": r.instance, "updated_at": r.updated_at, **r.data} for r in rows]
