"""Request counts per endpoint, for tests and benchmarks to read and reset.

Endpoints are named by route ("GET query", "PATCH composite/sobjects",
"POST oauth2/token"), so a test can assert "one composite request for 200 leads".
`api_calls` counts what the org's daily API limit counts.

A request is counted once answered (after any latency a fault plan adds). `arrived`
counts it when it reaches the org: a request arrived and not yet counted is still on the
wire, which is what a test stopping the connector "mid batch" must wait for.
"""
from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass

LOG_SIZE = 10_000  # recent requests kept for inspection


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    endpoint: str
    status: int
    elapsed_ms: float
    auto_assign: str | None  # the Sforce-Auto-Assign header as sent (None = absent)
    query_options: str | None  # Sforce-Query-Options as sent
    soql: str | None = None  # a query's SOQL (its first page; a next page is logged without it)
    held_ms: float = 0  # the delay a latency fault added (elapsed_ms also counts the host's own slowness)

    def to_json(self) -> dict:
        return asdict(self)


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._endpoints: Counter[str] = Counter()
        self._arrived: Counter[str] = Counter()  # REST requests that reached the org, answered or not
        self._statuses: Counter[int] = Counter()
        self._api_calls = 0
        self._records_written = 0
        self._log: deque[LoggedRequest] = deque(maxlen=LOG_SIZE)

    def log(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._log.append(entry)

    def requests(self, endpoint: str | None = None) -> list[LoggedRequest]:
        """The most recent requests (up to 10,000), oldest first; optionally one endpoint's."""
        with self._lock:
            return [r for r in self._log if endpoint is None or r.endpoint == endpoint]

    def queries(self, sobject: str) -> list[LoggedRequest]:
        """The queries (their first pages) that read this object, oldest first: what a test
        counts to say "one LeadHistory query per read batch"."""
        wanted = f" from {sobject.lower()} "
        with self._lock:
            return [r for r in self._log if r.soql and wanted in f" {' '.join(r.soql.lower().split())} "]

    def record(self, endpoint: str, status: int, api_call: bool) -> None:
        with self._lock:
            self._endpoints[endpoint] += 1
            self._statuses[status] += 1
            if api_call:
                self._api_calls += 1

    def arrive(self, endpoint: str) -> None:
        with self._lock:
            self._arrived[endpoint] += 1

    def arrived(self, endpoint: str) -> int:
        """Requests to `endpoint` that reached the org, including those still being answered."""
        with self._lock:
            return self._arrived.get(endpoint, 0)

    def add_records_written(self, n: int) -> None:
        with self._lock:
            self._records_written += n

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "endpoints": dict(sorted(self._endpoints.items())),
                "statuses": {str(k): v for k, v in sorted(self._statuses.items())},
                "requests": sum(self._endpoints.values()),
                "api_calls": self._api_calls,
                "records_written": self._records_written,
            }

    def count(self, endpoint: str) -> int:
        with self._lock:
            return self._endpoints.get(endpoint, 0)

    def reset(self) -> None:
        with self._lock:
            self._endpoints.clear()
            self._arrived.clear()
            self._statuses.clear()
            self._api_calls = 0
            self._records_written = 0
            self._log.clear()
