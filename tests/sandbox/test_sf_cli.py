"""Salesforce's own CLI (`sf`, Node 22) works against the sandbox, as an admin would use it
on their org: log in with an access token, query leads (JSON and the human table, which
asks `query?columns=true`), update a record, describe Lead. And sf asks for nothing
the sandbox does not know: no request lands on an unknown path."""
from __future__ import annotations

import json
import subprocess

import pytest

from tests.salesforce.toolchain import sf_env

pytestmark = pytest.mark.e2e


@pytest.fixture
def sf_cli(sandbox_factory, tmp_path):
    sb = sandbox_factory(seed="demo", partners=5, leads=12)
    env = sf_env(sb.connection, tmp_path / "home")

    def run(*args: str, as_json: bool = True):
        argv = ["sf", *args] + (["--json"] if as_json else [])
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert done.returncode == 0, f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        return json.loads(done.stdout)["result"] if as_json else done.stdout

    run.sb = sb  # type: ignore[attr-defined]
    return run


def test_sf_logs_in_queries_updates_and_describes_against_the_sandbox(sf_cli):
    sb = sf_cli.sb
    login = sf_cli("org", "login", "access-token", "--instance-url", sb.url, "--no-prompt", "--alias", "sandbox")
    assert login["username"] == sb.connection["username"]
    assert login["orgId"].startswith("00D")

    soql = "SELECT Id, Company, Routing_Status__c FROM Lead LIMIT 5"
    rows = sf_cli("data", "query", "--query", soql, "--target-org", "sandbox")["records"]
    assert len(rows) == 5 and all(r["Id"].startswith("00Q") for r in rows)
    table = sf_cli("data", "query", "--query", soql, "--target-org", "sandbox", as_json=False)
    assert "ROUTING_STATUS__C" in table and rows[0]["Company"] in table  # the columns came from columns=true

    lead_id = rows[0]["Id"]
    sf_cli("data", "update", "record", "--sobject", "Lead", "--record-id", lead_id,
           "--values", "Company='Renamed by sf GmbH'", "--target-org", "sandbox")  # fmt: skip
    assert sb.org.get("Lead", lead_id)["Company"] == "Renamed by sf GmbH"

    described = sf_cli("sobject", "describe", "--sobject", "Lead", "--target-org", "sandbox")
    names = {f["name"] for f in described["fields"]}
    assert {"Routing_Status__c", "Partner_Response__c", "Rejection_Reason_Code__c"} <= names

    unknown = [(e.method, e.path) for e in sb.counters.requests("(no such resource)")]
    assert unknown == [], f"sf asked for paths the sandbox does not emulate: {unknown}"


def test_sf_lists_record_counts(sf_cli):
    """`sf org list sobject record-counts` reads the Record Count resource
    (limits/recordCount?sObjects=…): live records of each object named, an object the org
    does not have left out, all objects when none is named. It answered 404."""
    sb = sf_cli.sb
    sf_cli("org", "login", "access-token", "--instance-url", sb.url, "--no-prompt", "--alias", "sandbox")
    gone = sb.org.create("Lead", {"LastName": "Gone", "Company": "Deleted"})
    sb.org.delete("Lead", gone)
    counts = sf_cli("org", "list", "sobject", "record-counts", "--sobject", "Lead", "--sobject", "Account",
                    "--sobject", "Nope__c", "--target-org", "sandbox")
    live = {name: sum(1 for _ in sb.org.records(name)) for name in ("Lead", "Account")}
    assert {c["name"]: c["count"] for c in counts} == live
    every = {c["name"] for c in sf_cli("org", "list", "sobject", "record-counts", "--target-org", "sandbox")}
    assert {"Lead", "Account", "User", "LeadRouter_Lease__c"} <= every and "LeadHistory" not in every
