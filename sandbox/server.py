"""A running sandbox org: the HTTPS server plus everything a test or the demo drives.

`start(data_dir, ...)` returns a `Sandbox` (the SandboxHandle of docs/CONTRACTS.md §5):
`.connection`, `.org`, `.clock`, `.counters`, `.faults`, `.notifications`, `.limit`,
`.auth`, `.simulator`, `.stop()`; it is a context manager.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sandbox import actions, admin, bulk, composite, identity, listviews, other_apis, persist, relationships, rest, ui_api, upsert
from sandbox import composite_request  # /composite, /composite/batch, /composite/tree
from sandbox.app import Router, handle
from sandbox.auth import Auth, OAuthError
from sandbox.clock import Clock
from sandbox.bootstrap import INTEGRATION_USERNAME
from sandbox.counters import Counters
from sandbox.credentials import load_or_create
from sandbox.cursors import Cursors
from sandbox.faults import Faults
from sandbox.https_server import HttpsServer, Request, Response
from sandbox.limits import DEFAULT_DAILY_LIMIT, ApiLimit
from sandbox.notifications import Notifications
from sandbox.store import Org
from sandbox.tls import ensure_certificates, server_context

API_VERSION = "62.0"
AUTOSAVE_SECONDS = 10.0
# connection.json keys every client needs; the rest are conveniences for tests and the demo
REQUIRED_KEYS = ("instance_url", "login_url", "ca_file", "client_id", "client_secret", "api_version")
SECRET_KEYS = ("client_secret", "password", "refresh_token")


def _token(sb: Sandbox, request: Request) -> Response:
    try:
        body = sb.auth.token(request.body, request.header("Authorization"))
    except OAuthError as exc:
        return Response(400, {"error": exc.error, "error_description": exc.description})
    return Response(200, body, {"Cache-Control": "no-cache, no-store", "Pragma": "no-cache"})


def _revoke(sb: Sandbox, request: Request) -> Response:
    """A form POST of `token`, or the "blind GET" with `token` in the URL (Salesforce Help,
    "Revoke OAuth Tokens Programmatically"): 200, or 400 with an OAuth error."""
    from urllib.parse import parse_qs

    token = (parse_qs(request.body.decode()).get("token") or [request.query.get("token", "")])[-1]
    try:
        sb.auth.revoke(token.strip())
    except OAuthError as exc:
        return Response(400, {"error": exc.error, "error_description": exc.description})
    return Response(200)


def build_router() -> Router:
    r = Router()
    r.add("other", "POST", "/services/oauth2/token", _token)
    r.add("other", "POST", "/services/oauth2/revoke", _revoke)
    r.add("other", "GET", "/services/oauth2/revoke", _revoke)
    r.add("other", "GET", "/services/oauth2/userinfo", identity.userinfo)
    r.add("other", "GET", "/id/{org}/{user}", identity.identity)
    r.add("other", "GET", "/services/data", rest.versions)
    r.add("other", "GET", "/__sandbox", admin.status)
    r.add("other", "GET", "/__sandbox/counters", admin.counters)
    r.add("other", "POST", "/__sandbox/counters/reset", admin.reset_counters)
    r.add("other", "GET", "/__sandbox/requests", admin.requests_log)
    r.add("other", "GET", "/__sandbox/clock", admin.clock)
    r.add("other", "POST", "/__sandbox/clock/advance", admin.advance_clock)
    r.add("other", "GET", "/__sandbox/faults", admin.faults)
    r.add("other", "POST", "/__sandbox/faults", admin.faults)
    r.add("other", "GET", "/__sandbox/notifications", admin.notifications)
    r.add("other", "POST", "/__sandbox/notifications/clear", admin.clear_notifications)
    r.add("other", "POST", "/__sandbox/limits", admin.set_limits)
    r.add("other", "POST", "/__sandbox/sessions/expire", admin.expire_sessions)
    r.add("other", "POST", "/__sandbox/save", admin.save)
    r.add("other", "POST", "/__sandbox/leads", admin.add_leads)
    r.add("api", "GET", "/", rest.resources)
    r.add("api", "GET", "/sobjects", rest.describe_global)
    r.add("api", "GET", "/sobjects/{type}", rest.sobject_info)
    r.add("api", "POST", "/sobjects/{type}", rest.create_record)
    r.add("api", "GET", "/sobjects/{type}/describe", rest.describe_sobject)
    r.add("api", "GET", "/sobjects/{type}/updated", rest.updated)
    r.add("api", "GET", "/sobjects/{type}/deleted", rest.deleted)
    listviews.add_routes(r)
    r.add("api", "GET", "/sobjects/{type}/{id}", rest.get_record)
    r.add("api", "PATCH", "/sobjects/{type}/{id}", rest.update_record)
    r.add("api", "DELETE", "/sobjects/{type}/{id}", rest.delete_record)
    # by external id: the Id or a custom field (only those can be external ids); other paths
    # of this shape (quickActions/…, …) stay unknown resources
    r.add("api", "POST", "/sobjects/{type}/{field:(?i:id)}", upsert.create_by_id)
    r.add("api", "GET", "/sobjects/{type}/{field:(?i:id|[^/]+__c)}/{value}", upsert.get_by_external_id)
    r.add("api", "PATCH", "/sobjects/{type}/{field:(?i:id|[^/]+__c)}/{value}", upsert.upsert_by_external_id)
    r.add("api", "DELETE", "/sobjects/{type}/{field:(?i:id|[^/]+__c)}/{value}", upsert.delete_by_external_id)
    # friendly URLs: a record id (15 or 18 characters), then a relationship name
    r.add("api", "GET", "/sobjects/{type}/{id}/{relationship}", relationships.get_related,
          patterns={"id": "[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?"})
    r.add("api", "GET", "/query", rest.query)
    r.add("api", "GET", "/query/{locator}", rest.query_more)
    r.add("api", "GET", "/queryAll", rest.query_all)
    r.add("api", "GET", "/queryAll/{locator}", rest.query_more)
    r.add("api", "GET", "/search", rest.search)
    r.add("api", "POST", "/composite/sobjects", composite.create, composite_write=True)
    r.add("api", "PATCH", "/composite/sobjects", composite.update, composite_write=True)
    r.add("api", "DELETE", "/composite/sobjects", composite.delete, composite_write=True)
    r.add("api", "PATCH", "/composite/sobjects/{type}/{field}", composite.upsert, composite_write=True)
    r.add("api", "GET", "/composite/sobjects/{type}", composite.retrieve)
    r.add("api", "GET", "/limits", rest.limits)
    r.add("api", "GET", "/limits/recordCount", rest.record_count)
    r.add("api", "GET", "/recent", rest.recent)
    r.add("api", "GET", "/actions/standard", actions.list_actions)
    r.add("api", "POST", "/actions/standard/{action}", actions.invoke)
    bulk.add_routes(r)
    composite_request.add_routes(r)
    other_apis.add_routes(r)
    ui_api.add_routes(r)
    return r


class Sandbox:
    def __init__(
        self,
        data_dir: str | os.PathLike,
        *,
        seed: str | None = None,
        partners: int = 100,
        leads: int = 2000,
        faults: str | None = None,
        random_seed: int = 0,
        port: int = 0,
        token_ttl: float = 7200,
        api_limit: int = DEFAULT_DAILY_LIMIT,
        autosave: float | None = AUTOSAVE_SECONDS,
        clock_offset: timedelta | None = None,
        start_at: datetime | None = None,
        history_untracked: tuple[str, ...] = (),
    ):
        self._autosave_interval = autosave
        self._stopped = True  # until the server runs: stop() has nothing to do
        self.data_dir = Path(data_dir).resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.errors: list[str] = []
        # clock_offset: the org's time minus the host's, from the first record on (a test
        # of a connector whose host clock is wrong, or of a fixed weekday, starts here).
        # start_at: the org's "now" at its first record (a test that needs a Friday afternoon
        # starts there, whatever day it runs on); it runs on from there like a live org.
        clock = Clock(clock_offset or timedelta(0))
        if start_at is not None:
            clock.set(start_at)
        self.org = Org(clock=clock)
        saved = persist.load(self.data_dir)
        if saved is not None:
            self.org.restore(saved["org"])
        if history_untracked:  # before the seed: its leads' history is what this org records
            self.org.set_history_tracking("Lead", {name: False for name in history_untracked})
        self.clock = self.org.clock
        self.counters = Counters()
        self.faults = Faults(faults, seed=random_seed)
        self.limit = ApiLimit(self.clock, api_limit)
        self.notifications = Notifications()
        self.cursors = Cursors()
        self.bulk = bulk.BulkJobs()  # Bulk API 2.0 jobs (in memory, like cursors)
        self.router = build_router()
        self.creds = load_or_create(self.data_dir, INTEGRATION_USERNAME)
        ca_file, server_pem = ensure_certificates(self.data_dir)
        if saved is None and seed is not None:
            self._seed(seed, partners, leads, random_seed)  # before binding: a failed seed leaves no socket
        self.simulator = self._make_simulator(random_seed) if seed is not None else None
        self._server = HttpsServer(port, server_context(server_pem), self._app, clock=self.clock.now)
        try:
            self._finish_start(saved, ca_file, token_ttl)
        except BaseException:
            self._server.server_close()
            raise

    def _previous_pubsub_port(self) -> int:
        """The Pub/Sub port a reopened org had (its connection.json names it), or 0."""
        try:
            url = json.loads((self.data_dir / "connection.json").read_text())["pubsub_url"]
            return int(str(url).rpartition(":")[2])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def _finish_start(self, saved: dict | None, ca_file: Path, token_ttl: float) -> None:
        self.port = self._server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.auth = Auth(self.org, self.creds, token_ttl, self.url)
        if saved is not None:
            self.auth.restore(saved.get("sessions", {}))
            if "api_calls" in saved:
                self.limit.restore(saved["api_calls"])
            else:  # saved by an earlier sandbox: its count, as of now
                self.limit.set(used=saved.get("api_used", 0))
        from sandbox.pubsub import PubSubServer  # Change Data Capture over gRPC, same CA

        self.pubsub = PubSubServer(self, (self.data_dir / "tls" / "server.pem").read_bytes(),
                                   port=self._previous_pubsub_port() if saved is not None else 0)
        self.connection: dict[str, Any] = {
            "instance_url": self.url,
            "login_url": self.url,
            "ca_file": str(ca_file),
            "client_id": self.creds.client_id,
            "client_secret": self.creds.client_secret,
            "api_version": API_VERSION,
            "username": self.creds.username,
            "password": self.creds.password,
            "private_key_file": self.creds.private_key_file,
            "certificate_file": self.creds.certificate_file,
            "refresh_token": self.creds.refresh_token,
            "admin_url": self.url + "/__sandbox",
            "pubsub_url": self.pubsub.url,
        }
        self._write_connection()
        self._saved_version = self.org.version if saved is not None else -1
        self._saved_offset = self.clock.offset
        self._save_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sandbox-https-{self.port}", daemon=True)  # fmt: skip
        self._thread.start()
        self._autosaver: threading.Thread | None = None
        if self._autosave_interval:
            self._autosaver = threading.Thread(target=self._autosave, args=(self._autosave_interval,), name="sandbox-autosave", daemon=True)  # fmt: skip
            self._autosaver.start()
        self._stopped = False

    # ---- life cycle ------------------------------------------------------------------
    def _seed(self, seed: str, partners: int, leads: int, random_seed: int) -> None:
        if seed != "demo":
            raise ValueError(f"unknown seed {seed!r}; the sandbox knows: demo")
        from sandbox.seed import build_demo_org  # the seed data is its own module

        build_demo_org(self.org, partners=partners, leads=leads, random_seed=random_seed)

    def _make_simulator(self, random_seed: int) -> Any:
        try:
            from sandbox.simulator import PartnerSimulator
        except ImportError:
            return None
        return PartnerSimulator(self.org, random_seed=random_seed)

    def _write_connection(self) -> None:
        path = self.data_dir / "connection.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.connection, indent=2) + "\n")
        os.chmod(tmp, 0o600)
        tmp.replace(path)

    def _autosave(self, interval: float) -> None:
        wait = interval
        while not self._stopping.wait(wait):
            if self._unsaved():
                began = time.monotonic()
                try:
                    self.save()
                except Exception as exc:  # keep serving; report it
                    self.errors.append(f"autosave failed: {exc}")
                # a big org takes seconds to write: save it less often rather than all the time
                wait = max(interval, 20 * (time.monotonic() - began))

    def _unsaved(self) -> bool:
        # A clock moved ahead is a change too: a reopened org must not run behind the time
        # its clients already saw (their watermarks), even when no record changed after.
        return self.org.version != self._saved_version or self.clock.offset != self._saved_offset

    def save(self) -> Path:
        with self._save_lock:
            with self.org.lock:
                version, offset = self.org.version, self.clock.offset
                state = {"org": self.org.snapshot(), "sessions": self.auth.sessions(), "api_used": self.limit.used,
                         "api_calls": self.limit.snapshot()}
            path = persist.save(self.data_dir, state)  # pickling happens outside the org lock
            self._saved_version, self._saved_offset = version, offset
            return path

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        stop_sim = getattr(self.simulator, "stop", None)
        if callable(stop_sim):
            stop_sim()
        self._server.shutdown()
        self._server.close_all()
        self._server.server_close()
        self._thread.join(timeout=5)
        self.pubsub.stop()
        if self._autosaver is not None:
            self._autosaver.join(timeout=5)
        if self._unsaved():
            self.save()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---- serving -----------------------------------------------------------------------
    def _app(self, request: Request) -> Response:
        return handle(self, request)

    def log_error(self, request: Request, exc: BaseException) -> None:
        text = f"{request.method} {request.path}: " + "".join(traceback.format_exception(exc))
        self.errors.append(text)
        print(f"sandbox: internal error on {request.method} {request.path}: {exc!r}", file=sys.stderr)

    # ---- conveniences ------------------------------------------------------------------
    def token(self) -> str:
        """A fresh access token for the integration user (what client_credentials returns)."""
        return self.auth._issue(self.org.integration_user_id)["access_token"]

    def requests_session(self):
        """A requests.Session that trusts this sandbox's CA and ignores proxy settings."""
        import requests

        session = requests.Session()
        session.verify = self.connection["ca_file"]
        session.trust_env = False
        return session

    def wait_ready(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)


SandboxHandle = Sandbox


def start(data_dir: str | os.PathLike, **kwargs: Any) -> Sandbox:
    return Sandbox(data_dir, **kwargs)
