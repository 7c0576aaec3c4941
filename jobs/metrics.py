"""An optional HTTP endpoint for whoever runs the connector: /healthz and /metrics.

Off unless `[metrics] bind = "host:port"` is set. Every figure is read from the state
database at scrape time (read-only), so a standby reports the same offers, decisions
and API budget as the leader, and any instance can be scraped or probed:

- `/healthz` (also `/readyz`): JSON with this instance's role (starting, leader or
  standby), the last successful cycle, whether the state database answers, and
  `problems`: why it is not ready. 200 when ready: the database answers and takes
  writes, and, for a leader, its job runs are not failing in a row (a standby is ready:
  it is the failover); 503 otherwise, and while `run` waits at start for Salesforce or
  the database server. A readiness probe.
- `/livez`: a liveness probe. 200 while the service's main loop ticks; 503 with the
  reason once it has not ticked for max(3 poll intervals, 60 s) (jobs/service.py), since
  a stuck loop is what a restart fixes. Never 503 for a dependency that is down:
  restarting would not bring it back, and would restart the standby too.
- `/metrics`: Prometheus text format (prometheus_client), names under `leadrouter_`.

Every figure carries an `org` label (the `[org] name`): many orgs' workers, each scraped
on its own, add up in one Prometheus without relabelling, and `leadrouter_org_info`
ties the name to the Organization Id the state recorded.

Ages (oldest live offer, watermark lag) are measured on the connector's clock, which
is Salesforce's, never the host's; timestamps are exported as Unix seconds too, so an
alert can compare them with Prometheus' own `time()`.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select, text

from jobs.logging import get_logger
from jobs.state import Store
from jobs.state import offers as of
from jobs.state import outbox as ob
from jobs.state import store as st
from jobs.state.orgs import recorded
from jobs.state.schema import decisions, job_runs, watermarks

log = get_logger(component="metrics")


def parse_bind(bind: str) -> tuple[str, int]:
    """`host:port` (IPv6 as `[::1]:9464`) into what a socket binds to."""
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"{bind!r}: expected host:port, e.g. 127.0.0.1:9464 (0.0.0.0:9464 in a container)")
    if not 0 <= int(port) <= 65535:
        raise ValueError(f"{bind!r}: the port must be between 0 and 65535")
    return host.strip("[]"), int(port)


def _ts(value: datetime | None) -> float | None:
    return value.astimezone(timezone.utc).timestamp() if value else None


def _gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=["org", *labels])


def _counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, labels=["org", *labels])


class StateReader:
    """The figures, read in one short read-only connection per scrape or probe."""

    def __init__(self, store: Store | None, *, now: Callable[[], datetime], role: Callable[[], str], instance: str,
                 org: str | None = None, problems: Callable[[], list[str]] | None = None,
                 stuck: Callable[[], str | None] | None = None) -> None:
        # store: None while `run` waits at start (no state opened yet); set once it is
        self.store, self.now, self.role, self.instance = store, now, role, instance
        self.org = org or (store.org if store is not None else "default")
        self.problems = problems or (lambda: [])
        self.stuck = stuck or (lambda: None)  # why the service's main loop is stuck, if it is

    def _add(self, family: Metric, labels: list[str], value: float) -> None:
        family.add_metric([self.org, *labels], value)  # type: ignore[attr-defined]

    def health(self) -> tuple[int, dict[str, Any]]:
        problems = self.problems()
        body: dict[str, Any] = {"org": self.org, "instance": self.instance, "role": self.role(), "ready": False,
                                "problems": problems}
        if self.store is None:
            if self.role() == "standby" and not problems:
                # an upgrade's standby (jobs/service.py lead_before_migrating): it opens the state
                # when it leads, being the failover meanwhile — a rolling update goes on to stop
                # the earlier release's leader only once this one is ready
                body.update(status="ok", ready=True, state_db=None, last_successful_cycle=None)
                return 200, body
            body.update(status="starting", state_db=None, last_successful_cycle=None)
            return 503, body
        try:
            with self.store.connect() as conn:
                conn.execute(text("SELECT 1"))
                ok_runs = st.last_ok_job_runs(conn)
                body["organization_id"] = (recorded(conn) or (None, None))[1]
        except Exception as e:  # any database failure is the answer, not a crash of the probe
            body.update(status="unavailable", state_db={"ok": False, "error": type(e).__name__},
                        last_successful_cycle=None)
            return 503, body
        finished = [r["finished"] for r in ok_runs if r["finished"]]
        body.update(status="not_ready" if problems else "ok", ready=not problems, state_db={"ok": True},
                    last_successful_cycle=max(finished).astimezone(timezone.utc).isoformat() if finished else None,
                    jobs={r["job"]: r["finished"].astimezone(timezone.utc).isoformat() for r in ok_runs})
        return (503 if problems else 200), body

    def alive(self) -> tuple[int, dict[str, Any]]:
        body = {"org": self.org, "instance": self.instance, "role": self.role(), "status": "alive"}
        reason = self.stuck()
        return (503, {**body, "status": "stuck", "reason": reason}) if reason else (200, body)

    def collect(self) -> Iterator[Metric]:
        """prometheus_client's collector protocol: called on every scrape."""
        role = self.role()
        leader = _gauge("leadrouter_leader", "1 when this instance holds the leader lock", ("instance", "role"))
        self._add(leader, [self.instance, role], 1.0 if role == "leader" else 0.0)
        yield leader
        ready = _gauge("leadrouter_ready", "1 when /healthz answers 200 for this instance (problems: its body)",
                       ("instance",))
        self._add(ready, [self.instance], 0.0 if self.problems() or self.store is None else 1.0)
        yield ready
        if self.store is None:
            return
        up = _gauge("leadrouter_state_db_up", "1 when the state database answered this scrape")
        try:
            with self.store.connect() as conn:
                figures = list(self._figures(conn))
        except Exception as e:  # a scrape must still answer: the alert is on state_db_up
            log.warning("metrics_state_unreadable", error=type(e).__name__)
            self._add(up, [], 0.0)
            yield up
            return
        self._add(up, [], 1.0)
        yield up
        yield from figures

    def _figures(self, conn) -> Iterator[Metric]:
        now = self.now()
        info = _gauge("leadrouter_org_info", "the org this state belongs to: its Organization Id as recorded on "
                      "first connect (empty until then)", ("organization_id",))
        org_id = (recorded(conn) or (None, None))[1]
        self._add(info, [org_id or ""], 1.0)
        yield info

        kinds = _counter("leadrouter_decisions", "routing decisions recorded, by kind", ("kind",))
        for kind, n in conn.execute(select(decisions.c.kind, func.count()).group_by(decisions.c.kind)):
            self._add(kinds, [kind], float(n))
        yield kinds

        counts = of.offer_status_counts(conn)
        by_status = _gauge("leadrouter_offers", "offers in the state database, by status", ("status",))
        for status, n in sorted(counts.items()):
            self._add(by_status, [status], float(n))
        yield by_status
        live = _gauge("leadrouter_live_offers", "offers waiting for a partner's answer")
        self._add(live, [], float(counts.get("live", 0)))
        yield live
        lapses = _counter("leadrouter_lapses", "offers that passed their deadline unanswered")
        self._add(lapses, [], float(counts.get("lapsed", 0)))
        yield lapses
        oldest = of.oldest_live_offer(conn)
        age = _gauge("leadrouter_oldest_live_offer_age_seconds",
                     "how long the longest-waiting live offer has waited (0 when none)")
        self._add(age, [], max(0.0, (now - oldest["offered_at"]).total_seconds()) if oldest else 0.0)
        yield age

        outbox = _gauge("leadrouter_outbox", "decided Lead writes, by status", ("status",))
        for status, n in sorted(ob.status_counts(conn).items()):
            self._add(outbox, [status], float(n))
        yield outbox

        yield from self._budget(conn)
        yield from self._jobs(conn)

        lag = _gauge("leadrouter_watermark_lag_seconds",
                     "how far each incremental read's watermark is behind Salesforce's clock", ("stream",))
        for name, value in conn.execute(select(watermarks.c.name, watermarks.c.value)):
            self._add(lag, [name], max(0.0, (now - value).total_seconds()))
        yield lag

    def _budget(self, conn) -> Iterator[Metric]:
        used = _gauge("leadrouter_api_calls_used", "our API calls in the last 24 hours", ("instance",))
        budget = _gauge("leadrouter_api_calls_budget", "our share of the org's daily API limit", ("instance",))
        org_used = _gauge("leadrouter_org_api_requests_used",
                          "the org's API requests used today, as Salesforce last reported", ("instance",))
        org_max = _gauge("leadrouter_org_api_requests_max", "the org's daily API request limit", ("instance",))
        holding = _gauge("leadrouter_api_holding_back", "1 while non-urgent jobs wait for budget", ("instance",))
        for b in st.api_budgets(conn):
            who = [b["instance"]]
            self._add(used, who, float(b.get("spent_24h") or 0))
            if b.get("allowance_24h") is not None:
                self._add(budget, who, float(b["allowance_24h"]))
            if b.get("org_max"):
                self._add(org_used, who, float(b.get("org_used") or 0))
                self._add(org_max, who, float(b["org_max"]))
            self._add(holding, who, 1.0 if b.get("holding_back") else 0.0)
        yield from (used, budget, org_used, org_max, holding)

    def _jobs(self, conn) -> Iterator[Metric]:
        failures = _counter("leadrouter_job_failures",
                            "failed job runs in the retained history (housekeeping prunes old runs)", ("job",))
        for job, n in conn.execute(select(job_runs.c.job, func.count()).where(job_runs.c.error.is_not(None))
                                   .group_by(job_runs.c.job)):
            self._add(failures, [job], float(n))
        yield failures
        last_failed = _gauge("leadrouter_job_last_run_failed", "1 when a job's latest finished run failed", ("job",))
        # the latest FINISHED run: a run in flight has no error yet, and read as the latest it
        # showed 0 for every scrape that fell while a failing job was retrying
        latest = (select(job_runs.c.job, func.max(job_runs.c.id).label("id"))
                  .where(job_runs.c.finished.is_not(None)).group_by(job_runs.c.job).subquery())
        for job, error in conn.execute(select(job_runs.c.job, job_runs.c.error)
                                       .join(latest, job_runs.c.id == latest.c.id)):
            self._add(last_failed, [job], 1.0 if error else 0.0)
        yield last_failed
        last_ok = _gauge("leadrouter_job_last_success_timestamp_seconds",
                         "when each job last finished without error (Unix seconds)", ("job",))
        for r in st.last_ok_job_runs(conn):
            self._add(last_ok, [r["job"]], _ts(r["finished"]) or 0.0)
        yield last_ok


class MetricsServer:
    """The endpoint on its own daemon threads; `stop()` closes the socket."""

    def __init__(self, reader: StateReader, bind: str) -> None:
        self.reader = reader
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(reader)
        host, port = parse_bind(bind)
        self.httpd = ThreadingHTTPServer((host, port), _handler(self))
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="metrics", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}"

    def start(self) -> MetricsServer:
        self._thread.start()
        log.info("metrics_listening", url=self.url)
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


def _handler(server: MetricsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(server.registry))
            elif path in ("/healthz", "/readyz", "/livez"):
                code, body = server.reader.alive() if path == "/livez" else server.reader.health()
                self._send(code, "application/json", json.dumps(body).encode())
            else:
                self._send(404, "text/plain; charset=utf-8", b"not found: try /healthz, /livez or /metrics\n")

        def _send(self, code: int, content_type: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # scrapes every few seconds are not worth a log line

    return Handler


def serve(bind: str, store: Store | None, *, now: Callable[[], datetime], role: Callable[[], str],
          instance: str, org: str | None = None, problems: Callable[[], list[str]] | None = None,
          stuck: Callable[[], str | None] | None = None) -> MetricsServer:
    """Start the endpoint: what `leadrouter run` calls when `[metrics] bind` is set."""
    reader = StateReader(store, now=now, role=role, instance=instance, org=org, problems=problems, stuck=stuck)
    return MetricsServer(reader, bind).start()
