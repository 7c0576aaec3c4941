"""Every logger in the product writes through the configured pipeline — level filter,
renderer, and above all the redaction processor — however early its module was imported.

A logger bound when its module is imported keeps structlog's configuration of that
moment: in a process that imports the module before `jobs.logging.configure()` (a test,
an ops script, anything using the package as a library) it prints to stdout in the
default format, unredacted, at every level. Checked in a fresh process so the import
order is exactly that.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FAKE_TOKEN = "00D000000000001!AQ0AQFakeTokenForTheProbe0123456789abcdefghij"

PROBE = f"""
import importlib, io, pkgutil, sys
import connector, jobs, mappings
found = []
for pkg in (connector, jobs, mappings):
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if type(value).__module__.startswith("structlog") and callable(getattr(value, "warning", None)):
                found.append((info.name + "." + name, value))
from jobs.logging import configure
buf = io.StringIO()
configure("json", "warning", stream=buf)
for where, logger in found:
    logger.warning("probe", where=where, detail="Authorization: Bearer {FAKE_TOKEN}")
    logger.debug("probe_debug", where=where)
print("=====")
print(buf.getvalue())
print("=====")
print(repr([w for w, _ in found]))
"""


def test_module_level_loggers_write_through_the_configured_pipeline():
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    before, configured, names = done.stdout.split("=====\n")
    loggers = eval(names)  # noqa: S307 - our own repr() of a list of strings
    seen = {json.loads(line)["where"] for line in configured.splitlines() if line.startswith("{")}
    astray = sorted(set(loggers) - seen)
    assert astray == [], f"these loggers bypass the configured pipeline (and its redaction): {astray}"
    assert FAKE_TOKEN.split("!")[1] not in done.stdout + done.stderr, "a token reached the output unredacted"
    assert "probe_debug" not in done.stdout + done.stderr, "the configured level is not respected"


def test_a_long_value_is_redacted_in_linear_time():
    """The email pattern tried every position of a run of letters or digits to its end: a
    60,000-character value (a long text field, an error echoing a record) held the logging
    thread ~10 s, quadratically more for longer ones. Values as long still lose their emails."""
    import io
    import time

    from jobs.logging import configure, get_logger

    buf = io.StringIO()
    configure("json", "info", stream=buf)
    started = time.monotonic()
    get_logger().info("probe", letters="a" * 60_000, digits="1" * 60_000, dotted="a." * 30_000,
                      mail="x" * 60_000 + " write to jane.doe@example.com")
    took = time.monotonic() - started
    line = json.loads(buf.getvalue().splitlines()[-1])
    assert "jane.doe@example.com" not in line["mail"] and "[email]" in line["mail"]
    assert took < 1.0, f"{took:.1f} s to log one line"
