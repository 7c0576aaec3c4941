"""/__sandbox/: observe and drive a sandbox running in another process.

Not part of Salesforce's API, not authenticated (the server listens on loopback
only), never counted, never faulted. Benchmarks and the demo use it when the
sandbox runs out of process; in-process code uses the SandboxHandle directly.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sandbox.errors import SalesforceError
from sandbox.https_server import Request, Response
from sandbox.jsonvalues import json_value

if TYPE_CHECKING:
    from sandbox.handle import RunningOrg as Sandbox


def _json(request: Request) -> dict:
    if not request.body:
        return {}
    body = request.json()
    if not isinstance(body, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "admin endpoints take a JSON object")
    return body


def _bad(message: str) -> SalesforceError:
    return SalesforceError(400, "INVALID_ADMIN_REQUEST", message)


def status(sb: Sandbox, request: Request) -> Response:
    with sb.org.lock:
        sizes = {name: sum(1 for r in sb.org.records(name)) for name in sb.org.schema.objects}
    return Response(200, {
        "connection": sb.connection, "records": sizes, "clock": json_value(sb.clock.now()),
        "faults": sb.faults.describe(), "api_usage": sb.limit.header(),
    })  # fmt: skip


def counters(sb: Sandbox, request: Request) -> Response:
    return Response(200, sb.counters.snapshot())


def requests_log(sb: Sandbox, request: Request) -> Response:
    entries = sb.counters.requests(request.query.get("endpoint"))
    return Response(200, {"requests": [e.to_json() for e in entries]})


def reset_counters(sb: Sandbox, request: Request) -> Response:
    sb.counters.reset()
    return Response(200, sb.counters.snapshot())


def clock(sb: Sandbox, request: Request) -> Response:
    return Response(200, {"now": json_value(sb.clock.now())})


def advance_clock(sb: Sandbox, request: Request) -> Response:
    body = _json(request)
    if "set" in body:
        try:
            sb.clock.set(datetime.fromisoformat(str(body["set"])))
        except ValueError as exc:
            raise _bad(f"clock set: {exc}; give an ISO datetime with offset, e.g. 2024-05-01T10:00:00+00:00") from None
    else:
        try:
            seconds = float(body.get("seconds", 0)) + 60 * float(body.get("minutes", 0)) + 3600 * float(
                body.get("hours", 0)
            ) + 86400 * float(body.get("days", 0))
        except (TypeError, ValueError):
            raise _bad('clock advance takes numbers: {"seconds": 30} / {"minutes": 5} / {"hours": 2} / {"days": 1}') from None
        sb.clock.advance(timedelta(seconds=seconds))
    return Response(200, {"now": json_value(sb.clock.now())})


def faults(sb: Sandbox, request: Request) -> Response:
    if request.method == "GET":
        return Response(200, sb.faults.describe())
    body = _json(request)
    try:
        if body.get("clear"):
            sb.faults.clear()
        if "profile" in body:
            sb.faults.set_profile(str(body["profile"]), seed=body.get("seed"))
        for item in body.get("plan", []):
            item = dict(item)
            kind = item.pop("kind", None)
            if kind is None:
                raise ValueError('each plan entry needs a "kind"')
            sb.faults.plan(str(kind), **item)
    except (TypeError, ValueError) as exc:
        raise _bad(f"faults: {exc}") from None
    return Response(200, sb.faults.describe())


def notifications(sb: Sandbox, request: Request) -> Response:
    action = request.query.get("action")
    return Response(200, {"notifications": [n.to_json() for n in sb.notifications.all(action)]})


def clear_notifications(sb: Sandbox, request: Request) -> Response:
    sb.notifications.clear()
    return Response(200, {"notifications": []})


def set_limits(sb: Sandbox, request: Request) -> Response:
    body = _json(request)
    try:
        sb.limit.set(maximum=body.get("max"), used=body.get("used"))
    except (TypeError, ValueError) as exc:
        raise _bad(f"limits: {exc}") from None
    return Response(200, {"api_usage": sb.limit.header(), "max": sb.limit.maximum, "used": sb.limit.used})


def expire_sessions(sb: Sandbox, request: Request) -> Response:
    sb.auth.expire()
    return Response(200, {"expired": True})


def save(sb: Sandbox, request: Request) -> Response:
    path = sb.save()
    return Response(200, {"saved": str(path)})


def add_leads(sb: Sandbox, request: Request) -> Response:
    """New leads in a running org (`leadrouter sandbox add-leads N`): {"count", "random_seed"}."""
    from sandbox.seed import add_leads as make_leads

    body = _json(request)
    try:
        count, seed = int(body.get("count", 0)), int(body.get("random_seed", 0))
        created = make_leads(sb.org, count, random_seed=seed)
    except (TypeError, ValueError) as exc:
        raise _bad(f"leads: {exc}") from None
    return Response(200, {"ids": created, "now": json_value(sb.clock.now())})
