"""The reliability suite's figures: printed where CI shows them, and kept as JSON.

Each test hands its measured figures to `figures.record(name, {...})`. They are
- written to `reliability-figures.json` (in pytest's base temp dir, or the path in
  $LEADROUTER_FIGURES), merged test by test;
- printed at once to stderr with capture suspended: under `pytest -n 3` the workers'
  stderr reaches the terminal, their stdout does not;
- attached to the test report, and printed again as one table at the end of the run
  when this conftest is loaded by the process that writes the summary.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

FIGURES_ENV = "LEADROUTER_FIGURES"
PROPERTY = "reliability_figures"


def figures_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get(FIGURES_ENV)
    if wanted:
        return Path(wanted)
    # the base temp dir of the whole run (the parent of a worker's own one under xdist)
    base = tmp_path_factory.getbasetemp()
    return (base.parent if base.name.startswith("popen-gw") else base) / "reliability-figures.json"


def _line(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_line(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def render(name: str, values: dict[str, Any]) -> str:
    width = max((len(k) for k in values), default=0)
    rows = [f"  {k:<{width}}  {_line(v)}" for k, v in values.items()]
    return f"reliability figures — {name}\n" + "\n".join(rows)


class Figures:
    def __init__(self, path: Path, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]):
        self.path = path
        self.request = request
        self.capsys = capsys

    def record(self, name: str, values: dict[str, Any]) -> None:
        values = {**values, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            merged = json.loads(self.path.read_text()) if self.path.exists() else {}
        except json.JSONDecodeError:
            merged = {}
        merged[name] = values
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(merged, indent=2, default=str) + "\n")
        tmp.replace(self.path)
        self.request.node.user_properties.append((PROPERTY, json.dumps({name: values}, default=str)))
        with self.capsys.disabled():
            sys.stderr.write("\n" + render(name, values) + f"\n  (all figures: {self.path})\n")
            sys.stderr.flush()


@pytest.fixture
def figures(tmp_path_factory, request, capsys) -> Figures:
    return Figures(figures_path(tmp_path_factory), request, capsys)


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ANN001
    tables = []
    reports = [r for outcome in ("passed", "failed", "xfailed", "xpassed") for r in terminalreporter.stats.get(outcome, [])]
    for report in reports:
        for key, value in getattr(report, "user_properties", ()):
            if key == PROPERTY:
                for name, values in json.loads(value).items():
                    tables.append(render(name, values))
    if tables:
        terminalreporter.section("reliability figures")
        for t in tables:
            terminalreporter.write_line(t)
