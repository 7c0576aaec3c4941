"""What a request handler sees of a running sandbox org.

The server (sandbox/server.py) routes each request to a handler module (rest,
composite, bulk, actions, admin, identity) through the app, passing itself. The
handlers name it by this Protocol rather than by `sandbox.server.Sandbox`: the server
imports every handler, so a handler importing the server back would close a circle.
Only modules below the handlers are named here (the router and the Bulk API jobs are
typed loosely for the same reason).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sandbox.auth import Auth
    from sandbox.clock import Clock
    from sandbox.counters import Counters
    from sandbox.cursors import Cursors
    from sandbox.faults import Faults
    from sandbox.https_server import Request
    from sandbox.limits import ApiLimit
    from sandbox.notifications import Notifications
    from sandbox.store import Org


class RunningOrg(Protocol):
    org: Org
    clock: Clock
    counters: Counters
    faults: Faults
    limit: ApiLimit
    notifications: Notifications
    cursors: Cursors
    auth: Auth
    url: str
    connection: dict[str, Any]
    router: Any  # sandbox.app.Router (the app names this module)
    bulk: Any  # sandbox.bulk.BulkJobs (a handler module itself)

    def log_error(self, request: Request, exc: BaseException) -> None: ...

    def save(self) -> Path: ...
