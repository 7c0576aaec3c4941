"""What an admin meets running Salesforce's CLI commands whose APIs the sandbox does not
model (the Metadata API's retrieve behind `sf project retrieve`, the Tooling API behind
`--use-tooling-api`): Salesforce's own refusal, not a 404 of the sandbox's making — and
never a request on a path the sandbox does not know."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.salesforce.toolchain import SALESFORCE, sf_env

pytestmark = pytest.mark.e2e


@pytest.fixture
def sf(sandbox, tmp_path):
    env = sf_env(sandbox.connection, tmp_path / "home")
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(SALESFORCE / "sfdx-project.json", project / "sfdx-project.json")
    shutil.copytree(SALESFORCE / "force-app", project / "force-app")

    def run(*args: str) -> dict:
        done = subprocess.run(["sf", *args, "--json"], env=env, capture_output=True, text=True, timeout=180, cwd=project)
        return json.loads(done.stdout)

    login = run("org", "login", "access-token", "--instance-url", sandbox.url, "--no-prompt", "--alias", "sandbox")
    assert login["status"] == 0, login
    return run


def test_deploy_is_served_and_retrieve_is_refused_saying_what_is_served(sf, sandbox):
    """The Metadata API's deploy is served (sandbox/metadata_deploy.py,
    tests/salesforce/test_sf_deploy_sandbox.py); retrieve is not: a SOAP fault naming the calls
    the sandbox serves, never a request on an unknown path."""
    deploy = sf("project", "deploy", "start", "--source-dir", "force-app/main/default/objects/Lead/fields",
                "--target-org", "sandbox", "--wait", "1")  # fmt: skip
    assert deploy["status"] == 0, deploy
    retrieve = sf("project", "retrieve", "start", "--metadata", "CustomField:Lead.Routing_Status__c",
                  "--target-org", "sandbox", "--wait", "1")  # fmt: skip
    assert retrieve["status"] != 0
    assert "INVALID_OPERATION" in retrieve["message"] and "deploy()" in retrieve["message"], retrieve["message"]
    unknown = [(e.method, e.path) for e in sandbox.counters.requests("(no such resource)")]
    assert unknown == [], f"sf asked for paths the sandbox does not answer: {unknown}"


def test_a_tooling_api_query_is_refused_with_salesforces_error_shape(sf, sandbox):
    out = sf("data", "query", "--query", "SELECT Id, Name FROM ApexClass", "--use-tooling-api", "--target-org", "sandbox")
    assert out["status"] != 0
    assert "Tooling API" in out["message"], out
    assert out.get("name") == "INSUFFICIENT_ACCESS" or "INSUFFICIENT_ACCESS" in json.dumps(out), out
    unknown = [(e.method, e.path) for e in sandbox.counters.requests("(no such resource)")]
    assert unknown == [], f"sf asked for paths the sandbox does not answer: {unknown}"


def test_anonymous_apex_is_refused_with_a_soap_fault_that_says_why(sf, sandbox, tmp_path):
    script = tmp_path / "hello.apex"
    script.write_text("System.debug('hello');\n")
    out = sf("apex", "run", "--file", str(script), "--target-org", "sandbox")
    assert out["status"] != 0
    assert "INSUFFICIENT_ACCESS" in out["message"] and "Apex" in out["message"], out["message"]
    unknown = [(e.method, e.path) for e in sandbox.counters.requests("(no such resource)")]
    assert unknown == [], f"sf asked for paths the sandbox does not answer: {unknown}"
