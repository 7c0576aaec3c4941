"""Every line of a JSON log is JSON: libraries that log through the standard library
(psycopg when the PostgreSQL server drops mid-write, APScheduler) are rendered by the
same structlog processors as our own lines, redaction included."""
from __future__ import annotations

import io
import json
import logging

from jobs.logging import configure, get_logger


def lines_logged(*emit) -> list[dict]:
    buf = io.StringIO()
    configure("json", "info", stream=buf)
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, logging.StreamHandler) and h.stream is buf]
    try:
        for e in emit:
            e()
    finally:
        for h in ours:
            root.removeHandler(h)
    text = buf.getvalue()
    assert text.strip(), "nothing was logged"
    return [json.loads(line) for line in text.splitlines()]  # a plain-text line fails here


def test_psycopgs_warning_when_the_server_drops_mid_write_is_a_json_line_like_ours():
    said = ("error ignored terminating %r: consuming input failed: server closed the connection unexpectedly")
    lines = lines_logged(lambda: logging.getLogger("psycopg").warning(said, "<psycopg.Pipeline [BAD]>"),
                         lambda: get_logger(component="service").warning("heartbeat_failed", error="gone"))
    psycopg = lines[0]
    assert psycopg["logger"] == "psycopg" and psycopg["level"] == "warning", psycopg
    assert psycopg["event"].startswith("error ignored terminating '<psycopg.Pipeline [BAD]>'"), psycopg
    assert psycopg["timestamp"].endswith("Z")
    assert lines[1]["event"] == "heartbeat_failed"


def test_a_library_line_is_redacted_and_its_traceback_stays_inside_the_json_line():
    def crash() -> None:
        try:
            raise ConnectionError("connect to postgresql://u:p@db password=hunter2 failed")
        except ConnectionError:
            logging.getLogger("apscheduler.executors.default").exception("Job raised an exception")

    (line,) = lines_logged(crash)
    assert line["level"] == "error" and line["logger"] == "apscheduler.executors.default"
    assert "ConnectionError" in line["exception"] and "hunter2" not in json.dumps(line)


def test_configured_twice_the_library_lines_are_written_once_to_the_newest_stream():
    first = io.StringIO()
    configure("json", "info", stream=first)
    lines = lines_logged(lambda: logging.getLogger("psycopg").warning("once"))
    assert [line["event"] for line in lines] == ["once"]
    assert first.getvalue() == ""
