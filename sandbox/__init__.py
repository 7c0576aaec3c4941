"""sandbox layer: a local HTTPS Salesforce stand-in (see sandbox/README.md, docs/CONTRACTS.md §5).

`start()` and `SandboxHandle` are imported lazily so that the SOQL engine, the store
and the seeders can be used without loading the server's TLS and JWT machinery.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.server import Sandbox as SandboxHandle


def start(
    data_dir: str | os.PathLike,
    *,
    seed: str | None = None,
    partners: int = 100,
    leads: int = 2000,
    faults: str | None = None,
    random_seed: int = 0,
    port: int = 0,
    token_ttl: float = 7200,
    api_limit: int | None = None,
    autosave: float | None = 10.0,
    clock_offset: timedelta | None = None,
    start_at: datetime | None = None,
    history_untracked: tuple[str, ...] = (),
) -> SandboxHandle:
    """Start a sandbox org serving HTTPS on 127.0.0.1 (port 0 = any free port).

    `history_untracked`: Lead fields whose history this org does not track, e.g.
    ("OwnerId", "PartnerAccountId") for an org that never set Lead history tracking (the
    shipped metadata and sandbox/standard.py track them otherwise)."""
    from sandbox.limits import DEFAULT_DAILY_LIMIT
    from sandbox.server import Sandbox

    return Sandbox(
        data_dir, seed=seed, partners=partners, leads=leads, faults=faults, random_seed=random_seed,
        port=port, token_ttl=token_ttl, api_limit=api_limit or DEFAULT_DAILY_LIMIT, autosave=autosave,
        clock_offset=clock_offset, start_at=start_at, history_untracked=history_untracked,
    )  # fmt: skip


def __getattr__(name: str) -> Any:
    if name == "SandboxHandle":
        from sandbox.server import Sandbox

        return Sandbox
    raise AttributeError(f"module 'sandbox' has no attribute {name!r}")
