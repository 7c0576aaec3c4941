"""Composite resources that carry other requests.

- `POST /composite`: up to 25 subrequests (at most 5 of them queries or sObject
  Collections) run in order in one API call; a later subrequest uses an earlier one's
  answer through `@{referenceId.path}` (`@{newLead.id}`, `@{q.records[0].Id}`) in its url
  or body. With `allOrNone` the whole request is one transaction: the first failure
  rolls every write back and every other subrequest answers 400 PROCESSING_HALTED.
  Without it each subrequest stands alone; one that refers to a failed or missing
  answer answers 400 PROCESSING_HALTED ("Invalid reference specified...").
- `POST /composite/batch`: up to 25 independent subrequests (`richInput` bodies, no
  references), each committed on its own; `haltOnError` answers 412
  BATCH_PROCESSING_HALTED for the rest after the first failure.
- `GET /composite`: the list of composite resources.

Subrequests go through the sandbox's own route table and handlers, so validation, the
assignment rule, field history and Change Data Capture are what a single call gets.
Faults: the profile and unscoped plans hit the outer request only (it is one call); a
plan naming a subrequest's endpoint (`PATCH sobjects/{type}/{id}`, `GET query`) hits
that subrequest, which answers with the fault's status and error body.
"""
from __future__ import annotations

import json
import re
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from sandbox import composite, composite_tree
from sandbox.app import VERSIONS, _raise_fault, error_response, not_found
from sandbox.errors import SalesforceError
from sandbox.https_server import Drop, Request, Response

if TYPE_CHECKING:
    from sandbox.handle import RunningOrg as Sandbox

MAX_SUBREQUESTS = 25
MAX_QUERIES_AND_COLLECTIONS = 5
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE", "HEAD")
# what each resource accepts inside it, by the first part of the route's template
COMPOSITE_RESOURCES = ("sobjects", "query", "queryAll", "composite/sobjects")
BATCH_RESOURCES = ("sobjects", "query", "queryAll", "limits", "search", "actions")
# the parent's call options carry into each subrequest unless it sets its own
INHERITED_HEADERS = ("sforce-auto-assign", "sforce-query-options")
_REFERENCE_ID = re.compile(r"^[A-Za-z0-9_]+$")
_VERSIONED = re.compile(r"^/services/data/v(\d+\.\d)(/[^?#]*)(\?.*)?$")
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[^.\[\]{}]+|\[\d+\])+)\}")
_STEP = re.compile(r"\.([^.\[\]{}]+)|\[(\d+)\]")
HALTED = "The transaction was rolled back since another operation in the same transaction failed."


def _malformed(message: str, code: str = "JSON_PARSER_ERROR") -> SalesforceError:
    # request-level problems: Salesforce answers 400 before running any subrequest
    return SalesforceError(400, code, message)


@dataclass
class Subrequest:
    method: str
    version: str
    url: str  # from /services/data/vXX.X on, query string included; may hold references
    reference_id: str
    body: Any = None
    has_body: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def _parse_url(sb: Sandbox, raw: Any, outer_version: str, allowed: tuple[str, ...], relative_ok: bool) -> tuple[str, str, str]:
    """(version, path, query) of a subrequest url, or a request-level error."""
    if not isinstance(raw, str) or not raw:
        raise _malformed("'url' is a required field.")
    url = raw
    if relative_ok and re.match(r"^v\d+\.\d/", url):
        url = "/services/data/" + url  # a batch subrequest names its resource from vXX.X on
    m = _VERSIONED.match(url)
    if m is None:
        where = "vXX.X/ or /services/data/vXX.X/" if relative_ok else "/services/data/vXX.X/"
        raise _malformed(f"Invalid url '{raw}': a subrequest's url starts with {where}")
    version, path, query = m.group(1), m.group(2), m.group(3) or ""
    if version not in VERSIONS or float(version) > float(outer_version):
        raise _malformed(f"Invalid url '{raw}': the subrequest's API version must be a served one no later than v{outer_version}")
    if not _supported(path, allowed):
        route, _, methods = sb.router.match(sb.router.api, "GET", path)
        if route is not None or methods:  # a resource the org serves, but not in here
            raise _malformed(f"Invalid url '{raw}': {path.strip('/').split('/')[0]} is not supported in this composite resource")  # fmt: skip
    return version, path, query


def _supported(path: str, allowed: tuple[str, ...]) -> bool:
    parts = path.strip("/")
    return any(parts == a or parts.startswith(a + "/") for a in allowed)


def _headers(raw: Any, parent: Request) -> dict[str, str]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise _malformed("'httpHeaders' must be an object of header names to string values")
    headers = {name: parent.headers[name] for name in INHERITED_HEADERS if name in parent.headers}
    headers.update({k.lower(): v for k, v in raw.items()})
    return headers


def _method(raw: Any) -> str:
    if not isinstance(raw, str) or raw.upper() not in METHODS:
        raise _malformed(f"Invalid method {raw!r}: use one of {', '.join(METHODS)}" if raw else "'method' is a required field.")
    return raw.upper()


# ---- running one subrequest -------------------------------------------------------------
def run_subrequest(sb: Sandbox, parent: Request, method: str, version: str, url: str, body: bytes, headers: dict[str, str]) -> Response:
    """One subrequest through the route table and its handler, as the app would run it
    alone but without counting an API call: its answer, errors included."""
    split = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
    request = Request(method=method, path=f"/services/data/v{version}{split.path}", query=query, headers=headers, body=body)
    request.version, request.token, request.user_id = version, parent.token, parent.user_id
    route, params, allowed = sb.router.match(sb.router.api, method, split.path)
    try:
        if route is None:
            if allowed:
                raise SalesforceError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {','.join(sorted(set(allowed)))}")  # fmt: skip
            # as for a single call: a client failing on a 404 must show what it asked for
            print(f"sandbox: no such resource: {method} {request.path} (a composite subrequest)", file=sys.stderr, flush=True)  # fmt: skip
            raise not_found()
        decision = sb.faults.decide(f"{route.name} {split.path}", composite_write=route.composite_write, api=False)
        if decision.latency_ms:
            time.sleep(decision.latency_ms / 1000)
        if decision.fault is not None:
            _raise_fault(sb, request, decision.fault.kind)
        request.params = params
        request.record_faults = decision.records  # type: ignore[attr-defined]
        response: Response = route.handler(sb, request)
        return response
    except SalesforceError as exc:
        return error_response(exc)
    except Drop:
        raise
    except Exception as exc:  # a sandbox bug answers as the org would, in this subrequest only
        sb.log_error(request, exc)
        return error_response(SalesforceError(500, "UNKNOWN_EXCEPTION", f"An unexpected error occurred in the sandbox: {type(exc).__name__}: {exc}"))  # fmt: skip


def _encode(body: Any, has_body: bool) -> bytes:
    return json.dumps(body).encode() if has_body else b""


# ---- references -----------------------------------------------------------------------
class _BadReference(Exception):
    pass


def _lookup(answers: dict[str, dict[str, Any]], ref: str, path: str) -> Any:
    missing = _BadReference(f"Invalid reference specified. No value for {ref}{path} found in {ref}.")
    answer = answers.get(ref)
    if answer is None or answer["httpStatusCode"] >= 400:
        raise missing
    value: Any = answer["body"]
    for key, index in _STEP.findall(path):
        if key and isinstance(value, dict) and key in value:
            value = value[key]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            raise missing
    if value is None or isinstance(value, (dict, list)):
        raise missing
    return value


def _substitute(text: str, answers: dict[str, dict[str, Any]]) -> Any:
    whole = _REFERENCE.fullmatch(text)
    if whole:  # a value that is only a reference keeps the referred value's JSON type
        return _lookup(answers, whole.group(1), whole.group(2))

    def one(m: re.Match[str]) -> str:
        value = _lookup(answers, m.group(1), m.group(2))
        return value if isinstance(value, str) else json.dumps(value)

    return _REFERENCE.sub(one, text)


def _resolve(value: Any, answers: dict[str, dict[str, Any]]) -> Any:
    if isinstance(value, str):
        return _substitute(value, answers) if "@{" in value else value
    if isinstance(value, list):
        return [_resolve(v, answers) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, answers) for k, v in value.items()}
    return value


# ---- /composite ---------------------------------------------------------------------------
def _parse_composite(sb: Sandbox, request: Request) -> tuple[bool, list[Subrequest]]:
    body = request.json()
    if not isinstance(body, dict):
        raise _malformed('Expected {"allOrNone": bool, "compositeRequest": [...]} in the request body')
    all_or_none = body.get("allOrNone", False)
    collate = body.get("collateSubrequests", True)
    for name, flag in (("allOrNone", all_or_none), ("collateSubrequests", collate)):
        if not isinstance(flag, bool):
            raise _malformed(f"'{name}' must be true or false, got {flag!r}")
    items = body.get("compositeRequest")
    if not isinstance(items, list) or not items:
        raise _malformed("'compositeRequest' is a required field: a list of subrequests.")
    if len(items) > MAX_SUBREQUESTS:
        raise _malformed(f"Composite request has {len(items)} subrequests; the limit is {MAX_SUBREQUESTS}.", "LIMIT_EXCEEDED")  # fmt: skip
    subs: list[Subrequest] = []
    seen: set[str] = set()
    heavy = 0
    for item in items:
        if not isinstance(item, dict):
            raise _malformed("each entry of compositeRequest must be a JSON object")
        ref = item.get("referenceId")
        if not isinstance(ref, str) or not ref:
            raise _malformed("'referenceId' is a required field.")
        if not _REFERENCE_ID.match(ref):
            raise _malformed(f"Invalid referenceId '{ref}': use only letters, numbers and underscores")
        if ref in seen:
            raise _malformed(f"Duplicate referenceId '{ref}': each subrequest needs its own")
        seen.add(ref)
        method = _method(item.get("method"))
        version, path, query = _parse_url(sb, item.get("url"), request.version, COMPOSITE_RESOURCES, relative_ok=False)
        if path.strip("/").split("/")[0] in ("query", "queryAll") or path.strip("/").startswith("composite/sobjects"):
            heavy += 1
        subs.append(Subrequest(method, version, path + query, ref, item.get("body"), "body" in item,
                               _headers(item.get("httpHeaders"), request)))  # fmt: skip
    if heavy > MAX_QUERIES_AND_COLLECTIONS:
        raise _malformed(f"Composite request has {heavy} query or sObject Collections subrequests; the limit is {MAX_QUERIES_AND_COLLECTIONS}.", "LIMIT_EXCEEDED")  # fmt: skip
    return all_or_none, subs


class _Halt(Exception):
    pass


def _failed(response: Response) -> bool:
    if response.status >= 400:
        return True
    # an sObject Collections subrequest answers 200 whatever its records did; under the
    # composite's allOrNone one failed record fails the whole transaction
    body = response.body
    return isinstance(body, list) and any(isinstance(r, dict) and r.get("success") is False for r in body)


def _halted(ref: str) -> dict[str, Any]:
    return {"body": [{"errorCode": "PROCESSING_HALTED", "message": HALTED}], "httpHeaders": {},
            "httpStatusCode": 400, "referenceId": ref}  # fmt: skip


def composite_request(sb: Sandbox, request: Request) -> Response:
    all_or_none, subs = _parse_composite(sb, request)
    answers: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    written = sb.counters.snapshot()["records_written"]
    try:
        with sb.org.atomic() if all_or_none else nullcontext():
            for sub in subs:
                response = _run_composite_sub(sb, request, sub, answers, all_or_none)
                entry = {"body": response.body, "httpHeaders": dict(response.headers),
                         "httpStatusCode": response.status, "referenceId": sub.reference_id}  # fmt: skip
                results.append(entry)
                answers[sub.reference_id] = entry
                if all_or_none and _failed(response):
                    raise _Halt()
    except _Halt:
        failed = results[-1]
        results = [failed if r is failed else _halted(r["referenceId"]) for r in results]
        results += [_halted(s.reference_id) for s in subs[len(results):]]
        # the rolled-back writes were counted by their handlers; take them back out
        sb.counters.add_records_written(written - sb.counters.snapshot()["records_written"])
    return Response(200, {"compositeResponse": results})


def _run_composite_sub(sb: Sandbox, parent: Request, sub: Subrequest, answers: dict[str, dict[str, Any]], all_or_none: bool) -> Response:
    try:
        url = _resolve(sub.url, answers)
        body = _resolve(sub.body, answers)
        headers = {k: str(_resolve(v, answers)) for k, v in sub.headers.items()}
    except _BadReference as exc:
        return Response(400, [{"errorCode": "PROCESSING_HALTED", "message": str(exc)}])
    if all_or_none and sub.url.strip("/").startswith("composite/sobjects"):
        # the composite's allOrNone overrides the collection's (a body flag, or ?allOrNone= on delete)
        if isinstance(body, dict) and "records" in body:
            body = {**body, "allOrNone": True}
        elif sub.method == "DELETE":
            split = urlsplit(str(url))
            query = [(k, v) for k, v in parse_qsl(split.query, keep_blank_values=True) if k != "allOrNone"]
            url = f"{split.path}?{urlencode([*query, ('allOrNone', 'true')])}"
    return run_subrequest(sb, parent, sub.method, sub.version, str(url), _encode(body, sub.has_body), headers)


# ---- /composite/batch -----------------------------------------------------------------------
BATCH_HALTED = [{"errorCode": "BATCH_PROCESSING_HALTED", "message": "Batch processing halted per request"}]


def batch(sb: Sandbox, request: Request) -> Response:
    body = request.json()
    if not isinstance(body, dict):
        raise _malformed('Expected {"batchRequests": [...], "haltOnError": bool} in the request body')
    halt_on_error = body.get("haltOnError", False)
    if not isinstance(halt_on_error, bool):
        raise _malformed(f"'haltOnError' must be true or false, got {halt_on_error!r}")
    items = body.get("batchRequests")
    if not isinstance(items, list) or not items:
        raise _malformed("'batchRequests' is a required field: a list of subrequests.")
    if len(items) > MAX_SUBREQUESTS:
        raise _malformed(f"Batch request has {len(items)} subrequests; the limit is {MAX_SUBREQUESTS}.", "LIMIT_EXCEEDED")
    subs: list[Subrequest] = []
    for item in items:
        if not isinstance(item, dict):
            raise _malformed("each entry of batchRequests must be a JSON object")
        method = _method(item.get("method"))
        version, path, query = _parse_url(sb, item.get("url"), request.version, BATCH_RESOURCES, relative_ok=True)
        subs.append(Subrequest(method, version, path + query, "", item.get("richInput"), "richInput" in item,
                               _headers(item.get("httpHeaders"), request)))  # fmt: skip
    results: list[dict[str, Any]] = []
    halted = False
    for n, sub in enumerate(subs):
        if halted:
            results.append({"statusCode": 412, "result": BATCH_HALTED})
            continue
        try:
            if n:  # the outer request was counted as the first; each further subrequest counts too
                sb.limit.consume()
            response = run_subrequest(sb, request, sub.method, sub.version, sub.url, _encode(sub.body, sub.has_body), sub.headers)  # fmt: skip
        except SalesforceError as exc:
            response = error_response(exc)
        results.append({"statusCode": response.status, "result": response.body})
        halted = halt_on_error and response.status >= 400
    return Response(200, {"hasErrors": any(r["statusCode"] >= 400 for r in results), "results": results})


# ---- the list, and the routes ------------------------------------------------------------------
def resources(sb: Sandbox, request: Request) -> Response:
    base = f"/services/data/v{request.version}/composite"
    return Response(200, {"tree": f"{base}/tree", "batch": f"{base}/batch", "sobjects": f"{base}/sobjects"})


def add_routes(router: Any) -> None:
    """/composite, /composite/batch, /composite/tree/{type} and POST retrieve of sObject
    Collections, under /services/data/vXX.X/."""
    r = router
    r.add("api", "GET", "/composite", resources)
    r.add("api", "POST", "/composite", composite_request)
    r.add("api", "POST", "/composite/batch", batch)
    # a tree's records are written rows: row-level faults apply to it
    r.add("api", "POST", "/composite/tree/{type}", composite_tree.create_tree, composite_write=True)
    r.add("api", "POST", "/composite/sobjects/{type}", composite.retrieve_post)
