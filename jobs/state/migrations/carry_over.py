"""A single-org state on PostgreSQL, carried into the schema of the org that owns it.

Before orgs had names, the state lived in the database's default schema (`public`).
The first worker of a named org that finds its own schema empty and such a state
waiting takes it over: every leadrouter table moves, in one transaction, with its rows,
sequences, indexes and constraints (`ALTER TABLE … SET SCHEMA`), so live offers,
bars, the outbox and the watermarks carry on. Only a state that names no org (version
3 and before) or the default org is taken, and never one recorded for another
Salesforce org (by its Organization Id). What stays behind in `public` is its
`org_identity` naming the new owner, so a worker still configured without an org is
refused with the fix instead of starting an empty state beside the moved one.

A worker of the default org still serving that state (holding its leader lock) stops
the move: its state must not vanish under it.
"""
from __future__ import annotations

from sqlalchemy import Connection, text

from jobs.state import orgs

# every table a leadrouter state ever had (the fencing token's table included); a table
# left out stays behind in `public` and the moved state runs without it
# (tests/jobs/test_state_takeover_tables.py holds every table of the schema to this list)
TABLES = ("schema_version", "watermarks", "snapshot", "leads", "offers", "exclusions", "routing_state", "outbox",
          "decisions", "job_runs", "instances", "api_budget", "leader_token", "org_identity",
          "stream_state", "bulk_jobs", "incumbents", "activity_tasks")
SOURCE = "public"


def from_default_schema(conn: Connection, org: str, organization_id: str | None) -> bool:
    """Move a single-org state from `public` into the org's schema; True when one moved."""
    target = orgs.schema_for(org)
    if target is None:
        return False
    present = set(conn.execute(text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                               {"s": SOURCE}).scalars())
    if "schema_version" not in present:
        return False
    if "org_identity" in present:
        row = conn.execute(text(f"SELECT name, organization_id FROM {SOURCE}.org_identity WHERE id = 1")).first()
        name, org_id = (row[0], row[1]) if row else (None, None)
        if name not in (None, orgs.DEFAULT_ORG):
            return False  # another org's state, or what one left behind: not ours to take
        if org_id and organization_id and org_id != organization_id:
            return False  # the default org's state, but of another Salesforce org
    if not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": orgs.lock_key(orgs.DEFAULT_ORG)}).scalar():
        raise orgs.OrgRefused(
            f"a worker without an org name still serves the single-org state in schema {SOURCE} (it holds that "
            f"state's leader lock), so org {org!r} cannot take that state over yet.\n"
            f"  fix: stop that worker (or give it `org = \"{org}\"` too), then start this one: the state moves into "
            f"schema {target} with every live offer")
    taken = set(conn.execute(text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                             {"s": target}).scalars())
    for name in TABLES:
        if name not in present:
            continue
        if name in taken:
            if name == "leader_token":
                # our leader lock made its own already and holds the newest token in it; the old
                # one fences nobody once its tables are gone
                conn.execute(text(f"DROP TABLE {SOURCE}.leader_token"))
                continue
            raise orgs.OrgRefused(f"schema {target} already has a table {name} but no leadrouter state; "
                                  f"fix: drop schema {target} (it holds no state) and start again")
        conn.execute(text(f'ALTER TABLE {SOURCE}."{name}" SET SCHEMA "{target}"'))
    conn.execute(text(f"CREATE TABLE {SOURCE}.org_identity (id INTEGER PRIMARY KEY, name VARCHAR(40), "
                      "organization_id VARCHAR(18))"))
    conn.execute(text(f"INSERT INTO {SOURCE}.org_identity (id, name, organization_id) VALUES (1, :n, :i)"),
                 {"n": org, "i": organization_id})
    return True
