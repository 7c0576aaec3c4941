"""Ops on a copy of their org: `leadrouter sandbox add-leads N` adds leads to a kept org
(served or only saved) and prints their ids; `leadrouter sandbox serve --import DIR` fills
a new org from a Salesforce Data Export."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs.cli import main
from sandbox.bootstrap import BOOTSTRAP_QUEUES
from sandbox.remote import RemoteSandbox
from sandbox.seed import add_leads

EXPORT = Path(__file__).parent / "data" / "export_small"


def _inside_sales(org) -> str:
    assert "Inside_Sales" in BOOTSTRAP_QUEUES
    return org.queue_ids["Inside_Sales"]


def test_added_leads_look_like_new_leads_from_people(sandbox):
    org = sandbox.org
    created = add_leads(org, 25, random_seed=3)
    assert len(created) == len(set(created)) == 25
    rows = [org.get("Lead", i) for i in created]
    assert {r["OwnerId"] for r in rows} == {_inside_sales(org)}
    assert {r["CreatedById"] for r in rows} == {org.admin_user_id}  # not the connector's own writes
    assert all(r["Routing_Status__c"] is None and r["Company"] for r in rows)
    assert all(r["CreatedDate"] <= sandbox.clock.now() for r in rows)


def test_a_second_batch_brings_other_leads(sandbox):
    first = [sandbox.org.get("Lead", i)["Company"] for i in add_leads(sandbox.org, 10, random_seed=1)]
    second = [sandbox.org.get("Lead", i)["Company"] for i in add_leads(sandbox.org, 10, random_seed=1)]
    assert first != second


def test_add_leads_refuses_nothing_to_add(sandbox):
    with pytest.raises(ValueError, match="1 or more"):
        add_leads(sandbox.org, 0)


def test_cli_adds_leads_to_a_running_org_through_its_admin_endpoint(sandbox_factory, tmp_path, capsys):
    sb = sandbox_factory(tmp_path / "org", seed="demo", partners=3, leads=5)
    before = sum(1 for _ in sb.org.records("Lead"))
    assert main(["sandbox", "add-leads", "7", "--data", str(tmp_path / "org"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["via"] == f"the running org at {sb.url}"
    assert len(out["ids"]) == 7 and all(sb.org.get("Lead", i) is not None for i in out["ids"])
    assert sum(1 for _ in sb.org.records("Lead")) == before + 7


def test_cli_adds_leads_to_a_saved_org_nobody_serves(sandbox_factory, tmp_path, capsys):
    data = tmp_path / "org"
    sandbox_factory(data).stop()
    assert main(["sandbox", "add-leads", "4", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"added 4 leads to the saved org in {data.resolve()}")
    ids = [line.strip() for line in out.splitlines() if line.startswith("  00Q")]
    assert len(ids) == 4
    assert f"leadrouter explain {ids[0]}" in out
    reopened = sandbox_factory(data)
    assert all(reopened.org.get("Lead", i)["OwnerId"] == _inside_sales(reopened.org) for i in ids)


def test_cli_add_leads_names_a_folder_without_an_org(tmp_path, capsys):
    assert main(["sandbox", "add-leads", "3", "--data", str(tmp_path / "none")]) == 1
    assert "no sandbox org in" in capsys.readouterr().err


def test_remote_sandbox_adds_leads(sandbox):
    remote = RemoteSandbox(sandbox.connection)
    try:
        ids = remote.add_leads(2, random_seed=9)
    finally:
        remote.close()
    assert [sandbox.org.get("Lead", i)["Id"] for i in ids] == ids


def test_serve_import_fills_a_new_org_from_a_data_export(tmp_path, sandbox_factory):
    data = tmp_path / "copy"
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "sandbox", "serve", "--data", str(data), "--import", str(EXPORT)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    err_lines = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            err_lines.append(line)
            if line.startswith("sandbox ready"):
                break
        assert any(line.startswith("sandbox ready") for line in err_lines), "".join(err_lines)
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=30)[1]
    err = "".join(err_lines) + rest
    assert proc.returncode == 0, err
    assert "imported from" in err and "4 Lead" in err
    assert "error: Lead.csv:7 column Company: REQUIRED_FIELD_MISSING" in err
    org = sandbox_factory(data).org
    companies = {r["Company"] for r in org.records("Lead")}
    assert len(companies) == 4 and "" not in companies


def test_serve_import_refuses_a_missing_folder_and_seed_with_import(tmp_path, capsys):
    assert main(["sandbox", "serve", "--data", str(tmp_path / "o"), "--import", str(tmp_path / "nope")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["sandbox", "serve", "--data", str(tmp_path / "o"), "--import", str(EXPORT), "--seed", "demo"]) == 2
    assert "give one of them" in capsys.readouterr().err


def test_a_second_serve_of_an_org_being_served_is_refused_naming_the_first(tmp_path):
    """A second terminal's `sandbox serve --data` of the same org started another server on a
    new port, rewrote connection.json to it, and on Ctrl-C saved its copy over the first's."""
    data = tmp_path / "org"
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "sandbox", "serve", "--data", str(data), "--seed", "demo",
         "--partners", "3", "--leads", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not proc.stderr.readline().startswith("sandbox ready"):
            pass
        first = json.loads((data / "connection.json").read_text())["instance_url"]
        second = subprocess.run(
            [sys.executable, "-m", "jobs.cli", "sandbox", "serve", "--data", str(data)],
            capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2],
        )  # fmt: skip
        assert second.returncode == 2, second.stderr
        assert "already being served" in second.stderr and first in second.stderr, second.stderr
        assert json.loads((data / "connection.json").read_text())["instance_url"] == first
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
