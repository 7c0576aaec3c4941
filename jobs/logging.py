"""structlog set-up: JSON lines for machines, pretty for people, secrets never.

`configure()` is called once by the CLI. Every event passes through `redact` before it
is rendered, so a token that slips into an exception message or a record dump is
masked no matter which module logged it.

Libraries that log through the standard library (psycopg's "error ignored terminating
Pipeline" when the server drops mid-write, APScheduler, urllib3) go through the same
processors and renderer: every line of a JSON log is JSON, and redacted.

Two times on every line: `timestamp` is the host's clock (UTC, ISO 8601: what log
tooling sorts and ships by), and `org_time` Salesforce's, as the connector estimates it
from the `Date` header of the org's last response and the time since
(connector/servertime.py), in the same form. The org's time is the one its audit fields
(CreatedDate, SystemModstamp, LeadHistory) and the Lead's deadlines are in: an admin
matches a line to a record by `org_time`. Before the first answer from Salesforce (the
login) it is not known, and the line has no `org_time`.
"""
from __future__ import annotations

import logging
import re
import sys
from datetime import timezone
from typing import Any, TextIO

import structlog

from connector.servertime import org_now

# Keys whose values are secrets whatever they contain.
_SECRET_KEY = re.compile(
    r"(pass(word)?|secret|token|authorization|api[_-]?key|private[_-]?key|session[_-]?id|cookie)",
    re.I,
)
# Values that look secret or personal wherever they appear.
_PATTERNS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"(Bearer\s+)[A-Za-z0-9!._\-~+/=]+"), r"\1[redacted]"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S), "[redacted key]"),
    # Salesforce session ids: org id, '!', then a long opaque token.
    (re.compile(r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]{20,}"), "[redacted session]"),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"), "[redacted jwt]"),
    (re.compile(r"((?:access_token|refresh_token|client_secret|password)=)[^&\s]+", re.I), r"\1[redacted]"),
    # starting only where a run of such characters starts: the same leftmost matches, but a
    # long run with no "@" is scanned once, not once from each of its positions (quadratic)
    (re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"), "[email]"),
    (re.compile(r"(?<![\w.:+-])\+?\(?\d[\d ()\-.]{7,}\d(?![\w.:])"), lambda m: _phone(m.group(0))),
]
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _phone(text: str) -> str:
    """Nine or more digits written like a phone number (a leading + or some punctuation),
    and not a date. A bare run of digits is a count or an id far more often than a phone."""
    digits = sum(ch.isdigit() for ch in text)
    looks_dialled = text.startswith("+") or not text.isdigit()
    return "[phone]" if digits >= 9 and looks_dialled and not _DATE.search(text) else text


def redact_text(text: str) -> str:
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def _redact_value(key: str, value: Any) -> Any:
    if isinstance(key, str) and _SECRET_KEY.search(key) and value not in (None, "", 0):
        return "[redacted]"
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value("", v) for v in value)
    return value


def add_org_time(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: `org_time`, Salesforce's time, beside the host's `timestamp`
    (same ISO form, UTC) once an answer from the org has told it."""
    now = org_now()
    if now is not None:
        event_dict.setdefault("org_time", now.astimezone(timezone.utc).replace(tzinfo=None).isoformat() + "Z")
    return event_dict


def redact(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: mask secrets by key name, and tokens/emails/phones by shape."""
    return {k: _redact_value(k, v) for k, v in event_dict.items()}


class _Stderr:
    """sys.stderr looked up at every write: a test runner (or a daemon manager) may swap
    it after logging is configured, and a captured stream may be closed by then."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure(format: str = "auto", level: str = "info", stream: TextIO | None = None) -> None:
    stream = _Stderr() if stream is None or stream is sys.stderr else stream
    pretty = format == "pretty" or (format == "auto" and stream.isatty())
    renderer: Any = structlog.dev.ConsoleRenderer(colors=stream.isatty()) if pretty else structlog.processors.JSONRenderer()
    stamp = [structlog.processors.add_log_level, structlog.processors.TimeStamper(fmt="iso", utc=True), add_org_time]
    last = [
        structlog.processors.format_exc_info,
        redact,  # last before rendering: exception text is redacted too
        renderer,
    ]
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, *stamp, *last],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    # APScheduler, psycopg and friends log through stdlib logging: their warnings stay
    # visible, rendered as ours (a plain "WARNING:psycopg:…" line broke the JSON log).
    handler = logging.StreamHandler(stream)  # type: ignore[arg-type]
    handler.set_name(_STDLIB_HANDLER)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.contextvars.merge_contextvars, structlog.stdlib.add_logger_name, *stamp],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *last],
    ))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _STDLIB_HANDLER]:
        root.removeHandler(old)  # configured again (tests, a second command): one handler, the newest stream
    # the handler's own level too: pytest (or an embedding app) may lower the root's, and our
    # stream must still show only warnings and above from libraries (urllib3's debug lines
    # name URLs with record ids)
    threshold = max(logging.WARNING, getattr(logging, level.upper()))
    handler.setLevel(threshold)
    root.addHandler(handler)
    root.setLevel(threshold)


_STDLIB_HANDLER = "leadrouter-json"


def get_logger(**bound: Any) -> Any:
    """A lazy logger: it takes the configuration current when it logs, not when it was
    made, so module-level loggers follow a later `configure()`."""
    return structlog.get_logger("leadrouter", **bound)
