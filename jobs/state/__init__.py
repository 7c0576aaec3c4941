"""Durable state: SQLite by default, PostgreSQL for active/standby and many orgs (one
schema per org, see orgs.py). See schema.py."""
from jobs.state.store import StateProblem, Store

__all__ = ["StateProblem", "Store"]
