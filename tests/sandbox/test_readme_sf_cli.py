"""The README's way to find a lead id with Salesforce's CLI, typed as it is written there:
log in with the access token, then `sf data query --query "…"` with no --target-org."""
from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from tests.salesforce.toolchain import sf_env

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_sf_commands() -> tuple[list[str], list[str]]:
    text = " ".join(README.read_text().split())
    login = re.search(r"`(sf org login access-token [^`]+)`", text).group(1)
    query = re.search(r"`(sf data query [^`]+)`", text).group(1)
    return shlex.split(login), shlex.split(query)


def test_the_readmes_sf_query_for_offered_leads_runs_as_written(sandbox_factory, tmp_path):
    sb = sandbox_factory(seed="demo", partners=3, leads=5)
    lead = next(iter(sb.org.records("Lead")))["Id"]
    sb.org.update("Lead", lead, {"Routing_Status__c": "Offered"}, system=True)
    login, query = _readme_sf_commands()
    env = sf_env(sb.connection, tmp_path / "home")
    login = [sb.connection["instance_url"] if a == "<instance_url>" else a for a in login]
    done = subprocess.run(login, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    done = subprocess.run(query, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, (done.stdout + done.stderr)[-2000:]
    assert lead in done.stdout, done.stdout
