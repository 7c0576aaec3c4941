"""Durable state: SQLite by default, PostgreSQL for active/standby. See schema.py."""
from jobs.state.store import Store

__all__ = ["Store"]
