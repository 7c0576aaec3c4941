"""Start-up checks against the org, before any lead is read or written.

The rule file's queues must exist in the org (a typo names the nearest queue) and every
mapped field must exist and, for write-back, be updateable — checked with describe().
That costs a query and a handful of describe calls, so a pass is remembered in the state
database for a day, keyed by the exact mapping and rule files and the org: a cron job
running `leadrouter once` every minute pays for it once, and any edit checks again.
Optional write-back fields are checked at every start all the same (one describe): what
the org lacks must be left out of this process's writes, whatever passed yesterday.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from connector.soql import select
from jobs.state import store as st

FRESH_FOR = timedelta(hours=24)


def fingerprint(ms: Any, rules_path: Path | None, org: str) -> str:
    h = hashlib.sha1(org.encode())
    files = sorted({ms.file(kind) for kind in ("lead", "partner", "rep", "pool", "pool_member", "dealreg")}
                   | {str(rules_path) if rules_path else ""})
    for name in files:
        h.update(name.encode())
        try:
            h.update(Path(name).read_bytes())
        except OSError:
            h.update(b"<unreadable>")
    try:
        h.update(repr(sorted(ms.writeback_fields().items())).encode())
    except Exception:  # noqa: BLE001 - only a cache key
        pass
    return h.hexdigest()


def recently_passed(store, key: str, now: datetime) -> bool:
    with store.connect() as conn:
        at = st.get_watermark(conn, f"preflight:{key}"[:64])
    return at is not None and now - at < FRESH_FOR


def remember_pass(store, key: str, now: datetime) -> None:
    with store.begin() as conn:
        st.set_watermark(conn, f"preflight:{key}"[:64], now, now)


def queue_names(client) -> set[str]:
    return {r["DeveloperName"] for r in client.query(select("Group", ["DeveloperName"], where="Type = 'Queue'"))
            if r.get("DeveloperName")}


def check_mappings(client, ms) -> list[Any]:
    """MappingError when a mapping does not fit the org; the warnings otherwise."""
    return ms.ensure_valid(client.describe)


def check_optional_fields(client, ms) -> list[Any]:
    """The optional write-back fields alone (a start whose full check passed recently, or
    that skips it): those the org lacks, or the integration user may not edit, are left out
    of every write and named in the warnings returned. No call when none is optional."""
    return ms.ensure_optional_fields(client.describe)
