"""The request pipeline: route, count, fault, authenticate, meter, dispatch, answer.

Order matters and follows Salesforce: an unknown version is a 404 before anything
else; a missing or expired session is a 401 that does not use API allocation; a
spent allocation is a 403 on every call; every API response carries
`Sforce-Limit-Info`. Admin routes under /__sandbox/ skip all of it.
"""
from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandbox.counters import LoggedRequest
from sandbox.errors import SalesforceError
from sandbox.https_server import Drop, Request, Response

if TYPE_CHECKING:
    from sandbox.handle import RunningOrg as Sandbox

from sandbox.versions import VERSIONS  # noqa: E402 - re-exported: rest, composite_request
_RELEASES = ["Winter", "Spring", "Summer"]
_VERSION_PATH = re.compile(r"^/services/data/v(\d+\.\d)(/.*)?$")

Handler = Callable[["Sandbox", Request], Response]
UNKNOWN = "(no such resource)"  # the request log's endpoint name for a path no route matches


def release_label(version: str) -> str:
    # v50.0 is Winter '21; three releases a year since
    n = int(float(version)) - 50
    return f"{_RELEASES[n % 3]} '{21 + n // 3}"


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    name: str
    handler: Handler
    composite_write: bool = False


class Router:
    def __init__(self) -> None:
        self.api: list[Route] = []  # under /services/data/vXX.X
        self.other: list[Route] = []  # absolute paths (oauth, admin, version list)

    def add(self, table: str, method: str, template: str, handler: Handler, *, composite_write: bool = False,
            patterns: dict[str, str] | None = None) -> None:  # fmt: skip
        # {name} matches one path segment; {name:regex}, or a `patterns` entry, one matching the regex
        regex = "^" + re.sub(r"\{(\w+)(?::([^}]+))?\}",
                             lambda m: f"(?P<{m[1]}>{m[2] or (patterns or {}).get(m[1], '[^/]+')})",
                             template.rstrip("/")) + "/?$"  # fmt: skip
        shown = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", template.strip("/"))
        name = f"{method} {shown}"
        getattr(self, table).append(Route(method, re.compile(regex), name, handler, composite_write))

    def match(self, routes: list[Route], method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        allowed: list[str] = []
        for route in routes:
            m = route.pattern.match(path)
            if m:
                if route.method == method:
                    return route, m.groupdict(), []
                allowed.append(route.method)
        return None, {}, allowed


def error_response(exc: SalesforceError, headers: dict[str, str] | None = None) -> Response:
    return Response(exc.status, [exc.to_json()], headers or {})


def not_found() -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")


def handle(sb: Sandbox, request: Request) -> Response:
    path = request.path
    m = _VERSION_PATH.match(path)
    if m is None:
        return _handle_other(sb, request)
    version, rest = m.group(1), (m.group(2) or "/")
    if version not in VERSIONS:
        sb.counters.record("unknown version", 404, False)
        _log_unknown(sb, request, 0.0)
        return error_response(not_found(), {"Sforce-Limit-Info": sb.limit.header()})
    began = time.perf_counter()
    request.version = version
    route, params, allowed = sb.router.match(sb.router.api, _routed(request.method), rest)
    name = route.name if route else f"{request.method} (no such resource)"
    sb.counters.arrive(name)
    held = 0
    try:
        session = sb.auth.session_user(request.header("Authorization"))
        if session is None:
            raise SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        request.token, request.user_id = session
        sb.limit.consume()
        # only calls the org accepted meet faults: a planned fault is not used up by a 401
        decision = sb.faults.decide(f"{name} {rest}", composite_write=bool(route and route.composite_write))
        if decision.latency_ms:
            held = decision.latency_ms
            time.sleep(decision.latency_ms / 1000)
        fault = decision.fault
        if fault is not None and fault.kind != "lost_answer":
            _raise_fault(sb, request, fault.kind)
        if route is None:
            if allowed:
                raise SalesforceError(
                    405, "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{request.method}' not allowed. Allowed are {','.join(sorted(set(allowed)))}",
                )  # fmt: skip
            raise not_found()
        request.params = params
        request.record_faults = decision.records  # type: ignore[attr-defined]
        response = route.handler(sb, request)
        if fault is not None and fault.kind == "lost_answer":
            raise Drop()  # done, and the answer never arrives
    except SalesforceError as exc:
        response = error_response(exc)
    except Drop:
        sb.counters.record(name, 0, True)
        raise
    except Exception as exc:  # a sandbox bug must still answer like an org would
        sb.log_error(request, exc)
        response = error_response(SalesforceError(500, "UNKNOWN_EXCEPTION", f"An unexpected error occurred in the sandbox: {type(exc).__name__}: {exc}"))  # fmt: skip
    status = response.status
    response.headers["Sforce-Limit-Info"] = sb.limit.header()
    sb.counters.record(name, status, status != 401)
    if route is None:
        _log_unknown(sb, request, began)
    else:
        sb.counters.log(LoggedRequest(
            request.method, path, name, status, round((time.perf_counter() - began) * 1000, 2),
            request.header("Sforce-Auto-Assign"), request.header("Sforce-Query-Options"),
            request.soql, held,
        ))  # fmt: skip
    return response


def _routed(method: str) -> str:
    """HEAD is answered as GET (Salesforce lists GET, HEAD on its read resources); the
    server sends the GET's status and headers without its body."""
    return "GET" if method == "HEAD" else method


def _log_unknown(sb: Sandbox, request: Request, began: float) -> None:
    """A path the sandbox does not emulate goes in the request log and on stderr, with its
    method and path: a client (sf, Workbench, a new connector call) failing on a 404 must
    show what it asked for, or nobody learns which resource to add."""
    elapsed = round((time.perf_counter() - began) * 1000, 2) if began else 0.0
    sb.counters.log(LoggedRequest(request.method, request.path, UNKNOWN, 404, elapsed,
                                  request.header("Sforce-Auto-Assign"), request.header("Sforce-Query-Options")))  # fmt: skip
    print(f"sandbox: no such resource: {request.method} {request.path}", file=sys.stderr, flush=True)


def _raise_fault(sb: Sandbox, request: Request, kind: str) -> None:
    if kind == "503":
        raise SalesforceError(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable, please retry")
    if kind == "500":
        raise SalesforceError(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)")  # fmt: skip
    if kind == "lock":
        raise SalesforceError(400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records")  # fmt: skip
    if kind == "limit":
        raise SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    if kind == "expire":
        sb.auth.expire(request.token)
        raise SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid")
    if kind == "drop":
        raise Drop()


def _handle_other(sb: Sandbox, request: Request) -> Response:
    route, params, allowed = sb.router.match(sb.router.other, _routed(request.method), request.path)
    name = route.name if route else f"{request.method} (no such resource)"
    admin = request.path.startswith("/__sandbox")
    decision = sb.faults.decide(name, api=False) if route is not None and not admin else None
    if decision is not None and decision.latency_ms:
        time.sleep(decision.latency_ms / 1000)
    try:
        if decision is not None and decision.fault is not None and decision.fault.kind != "expire":
            _raise_fault(sb, request, decision.fault.kind)
        if route is None:
            if allowed:
                raise SalesforceError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed. Allowed are {','.join(sorted(set(allowed)))}")  # fmt: skip
            raise not_found()
        request.params = params
        response = route.handler(sb, request)
    except SalesforceError as exc:
        response = error_response(exc)
    except Drop:
        sb.counters.record(name, 0, False)
        raise
    except Exception as exc:
        sb.log_error(request, exc)
        response = error_response(SalesforceError(500, "UNKNOWN_EXCEPTION", f"{type(exc).__name__}: {exc}"))
    if not admin:
        sb.counters.record(name, response.status, False)
    if route is None:
        _log_unknown(sb, request, 0.0)
    return response
