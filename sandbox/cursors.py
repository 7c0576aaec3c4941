"""Server-side query cursors: the first page now, the rest through nextRecordsUrl.

The query runs once; the cursor keeps its result (references to the stored rows, not
rendered JSON) and each page renders only its own rows, so a million-row result costs
a list of references, not a million JSON objects. Cursors idle for 15 minutes expire,
and a user keeps at most `MAX_OPEN` (the oldest goes), as Salesforce does.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sandbox import ids
from sandbox.errors import SalesforceError

IDLE_SECONDS = 15 * 60
MAX_OPEN = 50
DEFAULT_BATCH = 2000
MIN_BATCH, MAX_BATCH = 200, 2000


@dataclass
class Cursor:
    locator: str
    result: Any  # sandbox.soql QueryResult
    batch: int
    endpoint: str  # "query" or "queryAll"
    touched: float


def batch_size(options: str | None) -> int:
    """batchSize from `Sforce-Query-Options: batchSize=N`, held to Salesforce's 200..2000."""
    if not options:
        return DEFAULT_BATCH
    for part in options.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "batchsize":
            try:
                n = int(value.strip())
            except ValueError:
                raise SalesforceError(
                    400, "INVALID_QUERY_OPTIONS", f"Sforce-Query-Options batchSize must be a number, got {value!r}"
                ) from None
            return min(MAX_BATCH, max(MIN_BATCH, n))
    return DEFAULT_BATCH


class Cursors:
    def __init__(self) -> None:
        self._open: OrderedDict[str, Cursor] = OrderedDict()
        self._lock = threading.Lock()
        self._serial = 0

    def open(self, result: Any, batch: int, endpoint: str) -> Cursor:
        with self._lock:
            self._expire()
            self._serial += 1
            cursor = Cursor(ids.make_id("01g", self._serial), result, batch, endpoint, time.monotonic())
            self._open[cursor.locator] = cursor
            while len(self._open) > MAX_OPEN:
                self._open.popitem(last=False)
            return cursor

    def get(self, locator: str) -> Cursor:
        with self._lock:
            self._expire()
            cursor = self._open.get(locator)
            if cursor is None:
                raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            cursor.touched = time.monotonic()
            self._open.move_to_end(locator)
            return cursor

    def close(self, locator: str) -> None:
        with self._lock:
            self._open.pop(locator, None)

    def _expire(self) -> None:
        cutoff = time.monotonic() - IDLE_SECONDS
        for locator in [k for k, c in self._open.items() if c.touched < cutoff]:
            del self._open[locator]

    def __len__(self) -> int:
        return len(self._open)
