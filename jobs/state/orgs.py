"""Which Salesforce org a state belongs to: its name in the config, where its tables live,
and the Organization Id the org reports.

One PostgreSQL database serves many orgs, one schema each (`leadrouter_<org>`): the
connection's `search_path` names it, so every table, every raw query and the fencing
token of the leader lock land in the org's own schema without a query knowing orgs
exist. The org left unnamed (`default`) keeps the database's default schema, where a
single-org deployment always kept its state. SQLite keeps one file per org.

The state records the org it belongs to (`org_identity`): the configured name when a
worker first opens it, the Organization Id (00D…) when that worker first connects. A
worker configured for another org is refused, naming both and the fix, before any job
reads a row: two orgs must never share one state by a copied `[state] url`.
"""
from __future__ import annotations

import re
import zlib
from typing import Any

from sqlalchemy import Connection, inspect, select, text, update
from sqlalchemy.engine import URL, make_url

DEFAULT_ORG = "default"
SCHEMA_PREFIX = "leadrouter_"
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_SEARCH_PATH = re.compile(r"-c\s*search_path=(\S+)")


class OrgRefused(Exception):
    """This worker's org may not use the state as it is (it belongs to another org); the
    store turns it into a StateProblem, exit 4."""


def check_name(name: str) -> str:
    """An org name: what its schema, its leader lock and its metrics are named from."""
    if not NAME.fullmatch(name):
        hint = re.sub(r"[^a-z0-9_]", "_", name.strip().lower()).strip("_") or "acme"
        if not hint[0].isalpha():
            hint = "org_" + hint
        raise ValueError(f"{name!r} is not an org name: use lowercase letters, digits and underscores, starting "
                         f"with a letter, at most 40 characters (e.g. {hint[:40]!r}); it names the org's schema, "
                         "leader lock and metrics")
    return name


def schema_for(org: str) -> str | None:
    """The PostgreSQL schema an org's tables live in; None for the default org."""
    return None if org == DEFAULT_ORG else SCHEMA_PREFIX + org


def url_for(url: str, org: str) -> str:
    """The state URL a worker of `org` connects with: on PostgreSQL, its schema first and
    only on the search_path (libpq's `options`); SQLite URLs are the org's own file."""
    schema = schema_for(org)
    if schema is None or not url.startswith("postgresql"):
        return url
    u = make_url(url)
    options = u.query.get("options", "")
    if isinstance(options, tuple):
        options = " ".join(options)
    if _SEARCH_PATH.search(options):
        raise ValueError("[state] url sets search_path in its options; leave it out: leadrouter puts each org in "
                         f"its own schema ({schema} for org {org!r})")
    options = f"{options} -csearch_path={schema}".strip()
    return u.update_query_dict({"options": options}).render_as_string(hide_password=False)


def org_of(url: str | URL) -> str:
    """The org a state URL was made for by `url_for` (the default org when it names none)."""
    u = make_url(url)
    if u.get_backend_name() != "postgresql":
        return DEFAULT_ORG
    options = u.query.get("options", "")
    if isinstance(options, tuple):
        options = " ".join(options)
    m = _SEARCH_PATH.search(options)
    if m and m.group(1).startswith(SCHEMA_PREFIX):
        return m.group(1)[len(SCHEMA_PREFIX):]
    return DEFAULT_ORG


def lock_key(org: str) -> int:
    """The org's PostgreSQL advisory-lock key (a stable signed 64-bit number): one leader
    per org, however many orgs share the database. The default org's key is the one a
    single-org deployment always used."""
    return zlib.crc32(f"leadrouter:{org}".encode()) | (0x4C52 << 32)


def ensure_schema(conn: Connection, org: str) -> None:
    """Create the org's schema on its first start. Looked up first: a database user
    without CREATE on the database can still use a schema a DBA made for it."""
    schema = schema_for(check_name(org))
    if schema is None:
        return
    if conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}).first() is None:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))


def organization_id(client: Any) -> str | None:
    """The Organization Id (00D…) the org reports, in its 18-character form: one query
    when a worker starts. None when the org does not answer it (the state's identity
    then rests on the `org` name until it does)."""
    from connector.errors import ConnectorError

    try:
        rows = list(client.query("SELECT Id FROM Organization LIMIT 1"))
    except ConnectorError as e:
        from jobs.logging import get_logger

        get_logger(component="state").warning(
            "organization_id_unknown", error=str(e),
            note="the state's org is checked by its `org` name only until the org answers this query")
        return None
    return str(rows[0]["Id"]) if rows else None


# --- the state's own record of its org ---------------------------------------------

def recorded(conn: Connection) -> tuple[str | None, str | None] | None:
    """(name, Organization Id) the state records; None before version 4 or on a new state."""
    from jobs.state.schema import org_identity

    if not inspect(conn).has_table("org_identity"):
        return None
    row = conn.execute(select(org_identity.c.name, org_identity.c.organization_id)
                       .where(org_identity.c.id == 1)).first()
    return (row[0], row[1]) if row else (None, None)


def refuse_other(found: tuple[str | None, str | None] | None, org: str, organization_id: str | None,
                 where: str) -> None:
    """OrgRefused when the state recorded another org than the worker's. An unnamed
    state, or one of the default org (single-org state from before orgs had names), may
    be claimed by a named org: the Organization Id then says whether it is the same."""
    if found is None:
        return
    name, org_id = found
    if name is not None and name != org and name != DEFAULT_ORG:
        raise OrgRefused(_mismatch(where, name, org_id, org, organization_id, by="name"))
    if organization_id and org_id and org_id != organization_id:
        raise OrgRefused(_mismatch(where, name or org, org_id, org, organization_id, by="id"))


def claim(conn: Connection, org: str, organization_id: str | None, where: str) -> None:
    """Record the org's name and (once known) its Organization Id; refuse another org's state."""
    from jobs.state.schema import org_identity

    # read under a row lock (PostgreSQL): two workers starting together name it one at a time
    row = conn.execute(select(org_identity.c.name, org_identity.c.organization_id)
                       .where(org_identity.c.id == 1).with_for_update()).first()
    refuse_other((row[0], row[1]) if row else None, org, organization_id, where)
    if row is None:
        conn.execute(org_identity.insert().values(id=1, name=org, organization_id=organization_id))
        return
    name, org_id = row
    if name != org or (organization_id and not org_id):
        conn.execute(update(org_identity).where(org_identity.c.id == 1)
                     .values(name=org, organization_id=org_id or organization_id))


def _mismatch(where: str, theirs: str, their_id: str | None, ours: str, our_id: str | None, *, by: str) -> str:
    them = f"org {theirs!r}" + (f" (Organization Id {their_id})" if their_id else "")
    us = f"org {ours!r}" + (f", whose Salesforce org reports Organization Id {our_id}" if our_id else "")
    why = ("it was made for another Salesforce org" if by == "id"
           else "its `org` name differs from this worker's")
    return (f"the state database {where} belongs to {them}; this worker is configured for {us} ({why}).\n"
            "  fix: give each org its own state — on PostgreSQL the same database serves every org, each under its "
            "own `org` name (its own schema); on SQLite give each org its own file in [state] url. If this worker "
            f"is meant to serve {theirs!r}, correct its `org` and [salesforce] settings instead. A sandbox refreshed "
            "from production reports a new Organization Id: move its state aside and run `leadrouter state rebuild`")


def location(url: str) -> str:
    """The state database as a person finds it: the SQLite file, or the PostgreSQL
    database (no password) and the org's schema."""
    if url.startswith("sqlite"):
        return url.split("///", 1)[-1]
    try:
        u = make_url(url)
    except Exception:  # noqa: BLE001 — a URL we cannot parse is shown without its credentials
        return url.split("@")[-1]
    schema = schema_for(org_of(u))
    return f"{u.set(query={}).render_as_string(hide_password=True)} ({f'schema {schema}' if schema else 'default schema'})"
