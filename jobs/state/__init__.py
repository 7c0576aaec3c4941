"""Durable state: SQLite by default, PostgreSQL for active/standby. See schema.py."""
from jobs.state.store import StateProblem, Store

__all__ = ["StateProblem", "Store"]
