"""Salesforce's own CLI (`sf`, Node 22) runs an admin's GROUP BY query and a SOSL search
against the sandbox, as JSON and as the human table (which asks `columns=true`)."""
from __future__ import annotations

import json
import subprocess

import pytest

from tests.salesforce.toolchain import sf_env

pytestmark = pytest.mark.e2e


@pytest.fixture
def sf_cli(sandbox_factory, tmp_path):
    sb = sandbox_factory()
    env = sf_env(sb.connection, tmp_path / "home")

    def run(*args: str, as_json: bool = True):
        argv = ["sf", *args, "--target-org", "sandbox"] + (["--json"] if as_json else [])
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert done.returncode == 0, f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        return json.loads(done.stdout)["result"] if as_json else done.stdout

    login = ["sf", "org", "login", "access-token", "--instance-url", sb.url, "--no-prompt", "--alias", "sandbox"]
    done = subprocess.run(login, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    run.sb = sb  # type: ignore[attr-defined]
    return run


def test_sf_data_query_with_group_by_and_sf_data_search(sf_cli):
    sb = sf_cli.sb
    for i, status in enumerate(["Offered", "Offered", "Accepted", "Offered", None]):
        sb.org.create("Lead", {"LastName": f"L{i}", "Company": "Acme Corp" if i < 2 else "Globex", "Routing_Status__c": status})  # fmt: skip

    soql = "SELECT Routing_Status__c, COUNT(Id) n FROM Lead GROUP BY Routing_Status__c"
    result = sf_cli("data", "query", "--query", soql)
    assert result["totalSize"] == 3
    counts = {r["Routing_Status__c"]: r["n"] for r in result["records"]}
    assert counts == {"Offered": 3, "Accepted": 1, None: 1}
    assert all(r["attributes"]["type"] == "AggregateResult" for r in result["records"])
    table = sf_cli("data", "query", "--query", "SELECT Routing_Status__c, COUNT(Id) FROM Lead GROUP BY Routing_Status__c",
                   as_json=False)  # fmt: skip
    assert "COUNT(ID)" in table  # the header is columns=true's displayName, upper-cased by sf
    assert any("Offered" in line and " 3 " in line for line in table.splitlines()), table

    found = sf_cli("data", "search", "--query", "FIND {Acme} IN ALL FIELDS RETURNING Lead(Id)")
    assert sorted(r["Id"] for r in found["searchRecords"]) == sorted(
        r["Id"] for r in sb.org.records("Lead") if r["Company"] == "Acme Corp"
    )
    human = sf_cli("data", "search", "--query", "FIND {Globex} RETURNING Lead(Id, Company)", as_json=False)
    assert "Globex" in human and "Lead" in human

    unknown = [(e.method, e.path) for e in sb.counters.requests("(no such resource)")]
    assert unknown == [], f"sf asked for paths the sandbox does not emulate: {unknown}"


def test_sf_data_query_and_export_tree_follow_a_child_relationship(sf_cli, tmp_path):
    """`sf data query` prints a subquery's rows as CONTACTS.LASTNAME (from columns=true), and
    `sf data export tree --plan` turns the nested Contacts into Contact records whose AccountId
    refers to their account, by finding the relationship in describe's childRelationships."""
    org = sf_cli.sb.org
    acme = org.create("Account", {"Name": "Acme"})
    org.create("Account", {"Name": "Bare"})
    for name in ("Amy", "Zed"):
        org.create("Contact", {"LastName": name, "AccountId": acme})
    soql = "SELECT Id, Name, (SELECT Id, LastName FROM Contacts ORDER BY LastName) FROM Account ORDER BY Name"

    result = sf_cli("data", "query", "--query", soql)
    acme_row, bare_row = result["records"]
    assert [c["LastName"] for c in acme_row["Contacts"]["records"]] == ["Amy", "Zed"]
    assert bare_row["Contacts"] is None
    table = sf_cli("data", "query", "--query", soql, as_json=False)
    assert "CONTACTS.LASTNAME" in table and "Zed" in table, table

    out = tmp_path / "export"
    sf_cli("data", "export", "tree", "--query", "SELECT Id, Name, (SELECT Id, LastName FROM Contacts) FROM Account",
           "--plan", "--output-dir", str(out))  # fmt: skip
    accounts = json.loads((out / "Account.json").read_text())["records"]
    contacts = json.loads((out / "Contact.json").read_text())["records"]
    acme_ref = next(a["attributes"]["referenceId"] for a in accounts if a["Name"] == "Acme")
    assert sorted((c["LastName"], c["AccountId"]) for c in contacts) == [("Amy", f"@{acme_ref}"), ("Zed", f"@{acme_ref}")]
    plan = json.loads(next(out.glob("*plan.json")).read_text())
    assert [p["sobject"] for p in plan] == ["Account", "Contact"]
