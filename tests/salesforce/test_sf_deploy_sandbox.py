"""docs/DEPLOY.md's upgrade step, `sf project deploy start --source-dir salesforce/force-app`,
rehearsed with Salesforce's own CLI against a sandbox org on an earlier package: the org's
admin deploys, and describe shows what the package brings (Account.Working_Days__c,
Lead.Offer_Calendar__c, Routing_Status__c's Fallback and Released); a dry run and a
validation change nothing until the validated request is quick-deployed; a malformed
package fails whole, each broken component named with Salesforce's problem; and a partner
user, who has no Modify Metadata, meets Salesforce's refusal."""
from __future__ import annotations

import copy
import json
import shutil
import subprocess

import pytest

from tests.conftest import salesforce_client
from tests.salesforce.toolchain import SALESFORCE, sf_env

ROOT = SALESFORCE.parent

pytestmark = pytest.mark.e2e

NEW_STATUS = ("Fallback", "Released")


def earlier_package(sb) -> None:
    """The org as this morning's package left it: no Working_Days__c, no Offer_Calendar__c,
    Routing_Status__c without Fallback and Released (a schema of its own: the default one is
    shared by every org of the process)."""
    with sb.org.lock:
        schema = copy.deepcopy(sb.org.schema)
        lead, account = schema.object("Lead"), schema.object("Account")
        del account.fields["Working_Days__c"], lead.fields["Offer_Calendar__c"]
        status = lead.fields["Routing_Status__c"]
        status.picklist_values = [v for v in status.picklist_values if v not in NEW_STATUS]
        lead._reindex()
        account._reindex()
        sb.org.schema = schema


@pytest.fixture
def admin_sf(sandbox_factory, tmp_path):
    sb = sandbox_factory(seed="demo", partners=5, leads=10)
    earlier_package(sb)
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(SALESFORCE / "sfdx-project.json", project / "sfdx-project.json")
    shutil.copy(SALESFORCE / ".forceignore", project / ".forceignore")
    shutil.copytree(SALESFORCE / "force-app", project / "force-app")
    envs = {}
    with sb.org.lock:
        rep = next(u["Id"] for u in sb.org.records("User") if u["UserType"] == "PowerPartner" and u["IsActive"])
    for who, user in (("admin", sb.org.admin_user_id), ("integration", sb.org.integration_user_id), ("rep", rep)):
        env = sf_env(sb.connection, tmp_path / f"home-{who}")
        env["SF_ACCESS_TOKEN"] = sb.auth.issue(user)["access_token"]
        envs[who] = env

    logged_in: set[str] = set()

    def run(*args: str, who: str = "admin", rest: bool = False, cwd=project) -> dict:
        if who not in logged_in:
            # each user logs in when a test first acts as them (each `sf` start costs seconds)
            logged_in.add(who)
            login = run("org", "login", "access-token", "--instance-url", sb.url, "--no-prompt", "--alias", "sandbox",
                        who=who)  # fmt: skip
            assert login["status"] == 0, login
        env = {**envs[who], "SF_ORG_METADATA_REST_DEPLOY": "true"} if rest else envs[who]
        done = subprocess.run(["sf", *args, "--json"], env=env, capture_output=True, text=True, timeout=240,
                              cwd=cwd)  # fmt: skip
        try:
            return json.loads(done.stdout)
        except ValueError:
            raise AssertionError(f"sf {' '.join(args)} printed no JSON ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    run.sb = sb  # type: ignore[attr-defined]
    run.project = project  # type: ignore[attr-defined]
    return run


def _described(sb) -> dict:
    sf = salesforce_client(sb)
    try:
        lead = {f["name"]: f for f in sf.Lead.describe()["fields"]}
        account = {f["name"]: f for f in sf.Account.describe()["fields"]}
    finally:
        sf.session.close()
    return {"Working_Days__c": "Working_Days__c" in account, "Offer_Calendar__c": "Offer_Calendar__c" in lead,
            "status": [v["value"] for v in lead["Routing_Status__c"]["picklistValues"]]}  # fmt: skip


def _unknown(sb) -> list:
    return [(e.method, e.path) for e in sb.counters.requests("(no such resource)")]


def test_the_upgrade_deploy_brings_the_new_fields_and_values_into_describe(admin_sf):
    sb = admin_sf.sb
    before = _described(sb)
    assert before["Working_Days__c"] is False and before["Offer_Calendar__c"] is False
    assert not set(NEW_STATUS) & set(before["status"])

    dry = admin_sf("project", "deploy", "start", "--source-dir", "force-app", "--target-org", "sandbox",
                   "--dry-run", "--wait", "2")  # fmt: skip
    assert dry["status"] == 0, dry
    assert dry["result"]["checkOnly"] is True and dry["result"]["success"] is True
    assert _described(sb) == before, "a dry run changed the org"

    done = admin_sf("project", "deploy", "start", "--source-dir", "force-app", "--target-org", "sandbox", "--wait", "2")
    assert done["status"] == 0, done
    result = done["result"]
    assert result["status"] == "Succeeded" and result["numberComponentErrors"] == 0
    files = {(f["type"], f["fullName"]): f for f in result["files"]}
    assert files[("CustomField", "Account.Working_Days__c")]["state"] == "Created"
    assert files[("CustomField", "Lead.Offer_Calendar__c")]["state"] == "Created"
    assert files[("CustomField", "Lead.Routing_Status__c")]["state"] == "Changed"
    assert files[("CustomField", "Lead.Routing_Reason__c")]["state"] == "Unchanged"
    assert ("PermissionSet", "LeadRouter_Integration") in files
    assert ("LightningComponentBundle", "leadOfferResponse") in files

    after = _described(sb)
    assert after["Working_Days__c"] and after["Offer_Calendar__c"]
    assert set(NEW_STATUS) <= set(after["status"])
    # the new field is there for records too: SOQL selects it, an update writes it
    sf = salesforce_client(sb)
    try:
        partner = sf.query("SELECT Id, Working_Days__c FROM Account WHERE IsPartner = true LIMIT 1")["records"][0]
        assert partner["Working_Days__c"] is None
        sf.Account.update(partner["Id"], {"Working_Days__c": "Sunday;Monday"})
        assert sf.Account.get(partner["Id"])["Working_Days__c"] == "Sunday;Monday"
    finally:
        sf.session.close()
    assert _unknown(sb) == [], f"sf asked for paths the sandbox does not answer: {_unknown(sb)}"


def test_the_documented_command_works_from_the_checkouts_root(admin_sf, tmp_path):
    """README.md, salesforce/README.md, docs/DEPLOY.md and the connector's own fix messages
    (mappings/validate.py, connector/errors.py) all say `sf project deploy start --source-dir
    salesforce/force-app`, from the repository's root: sf looks for sfdx-project.json there
    (and up), and refused with InvalidProjectWorkspaceError when only salesforce/ had one."""
    checkout = tmp_path / "checkout"
    (checkout / "salesforce").mkdir(parents=True)
    for name in (".forceignore", "sfdx-project.json"):  # what sf reads of the root, if the repo has it
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, checkout / name)
    for name in (".forceignore", "sfdx-project.json"):
        shutil.copy(SALESFORCE / name, checkout / "salesforce" / name)
    shutil.copytree(SALESFORCE / "force-app", checkout / "salesforce/force-app")
    done = admin_sf("project", "deploy", "start", "--source-dir", "salesforce/force-app", "--target-org", "sandbox",
                    "--wait", "2", cwd=checkout)  # fmt: skip
    assert done["status"] == 0, done.get("message", done)
    deployed = {(f["type"], f["fullName"]) for f in done["result"]["files"]}
    assert ("CustomField", "Account.Working_Days__c") in deployed and ("PermissionSet", "LeadRouter_Integration") in deployed
    assert not any("__tests__" in (f.get("filePath") or "") for f in done["result"]["files"]), "the Jest tests went along"
    assert _described(admin_sf.sb)["Working_Days__c"] is True


def test_a_deploy_by_the_generated_manifest_brings_the_same(admin_sf):
    """`sf project generate manifest`, then `sf project deploy start --manifest package.xml`."""
    made = admin_sf("project", "generate", "manifest", "--source-dir", "force-app", "--output-dir", ".")
    assert made["status"] == 0, made
    done = admin_sf("project", "deploy", "start", "--manifest", "package.xml", "--target-org", "sandbox", "--wait", "2")
    assert done["status"] == 0, done
    after = _described(admin_sf.sb)
    assert after["Working_Days__c"] and after["Offer_Calendar__c"] and set(NEW_STATUS) <= set(after["status"])


@pytest.mark.parametrize("rest", [False, True], ids=["soap", "rest"])
def test_a_validation_changes_nothing_until_it_is_quick_deployed(admin_sf, rest):
    """Over SOAP (sf's default) and over the REST deployRequest resource
    (SF_ORG_METADATA_REST_DEPLOY=true, `sf config set org-metadata-rest-deploy`)."""
    sb = admin_sf.sb
    before = _described(sb)
    validated = admin_sf("project", "deploy", "validate", "--source-dir", "force-app", "--target-org", "sandbox",
                         "--wait", "2", rest=rest)  # fmt: skip
    assert validated["status"] == 0, validated
    assert _described(sb) == before
    quick = admin_sf("project", "deploy", "quick", "--job-id", validated["result"]["id"], "--target-org", "sandbox",
                     "--wait", "2", rest=rest)  # fmt: skip
    assert quick["status"] == 0, quick
    assert _described(sb)["Working_Days__c"] is True
    again = admin_sf("project", "deploy", "quick", "--job-id", validated["result"]["id"], "--target-org", "sandbox",
                     "--wait", "2", rest=rest)  # fmt: skip
    assert again["status"] != 0, "a validation was quick-deployed twice"
    assert bool(sb.counters.requests("POST metadata/deployRequest")) is rest
    assert _unknown(sb) == [], f"sf asked for paths the sandbox does not answer: {_unknown(sb)}"


def test_a_malformed_package_fails_whole_naming_each_broken_component(admin_sf):
    sb = admin_sf.sb
    fields = admin_sf.project / "force-app/main/default/objects/Lead/fields"
    calendar = fields / "Offer_Calendar__c.field-meta.xml"
    calendar.write_text(calendar.read_text().replace("<length>80</length>", "<length>300</length>"))
    permset = admin_sf.project / "force-app/main/default/permissionsets/LeadRouter_Integration.permissionset-meta.xml"
    permset.write_text(permset.read_text().replace("<field>Lead.Routing_Rule__c</field>", "<field>Lead.Routing_Rul__c</field>"))
    before = _described(sb)

    out = admin_sf("project", "deploy", "start", "--source-dir", "force-app", "--target-org", "sandbox", "--wait", "2")
    assert out["status"] != 0, out
    failures = {(f["type"], f["fullName"]): f["error"] for f in out["result"]["files"] if f["state"] == "Failed"}
    # as Salesforce reports it: a set granting the field that failed fails with it
    assert set(failures) == {("CustomField", "Lead.Offer_Calendar__c"), ("PermissionSet", "LeadRouter_Integration"),
                             ("PermissionSet", "LeadRouter_Partner_Rep")}, failures
    assert "length is 1-255" in failures[("CustomField", "Lead.Offer_Calendar__c")]
    assert "no CustomField named Lead.Routing_Rul__c found" in failures[("PermissionSet", "LeadRouter_Integration")]
    assert "no CustomField named Lead.Offer_Calendar__c found" in failures[("PermissionSet", "LeadRouter_Partner_Rep")]
    assert out["result"]["numberComponentErrors"] == 3
    assert _described(sb) == before, "a failed deploy changed the org (rollbackOnError)"


def test_the_integration_user_deploys_and_a_partner_user_is_refused(admin_sf):
    """The sandbox models no internal user's profile: the integration user of connection.json
    (what sf_env logs in as) deploys like the admin. A partner user has no Modify Metadata
    in any org: Salesforce's INSUFFICIENT_ACCESS fault, naming who may deploy."""
    out = admin_sf("project", "deploy", "start", "--source-dir", "force-app", "--target-org", "sandbox",
                   "--wait", "1", who="rep")  # fmt: skip
    assert out["status"] != 0
    assert "INSUFFICIENT_ACCESS" in out["message"] and "admin@leadrouter.sandbox" in out["message"], out["message"]
    assert _described(admin_sf.sb)["Working_Days__c"] is False
    done = admin_sf("project", "deploy", "start", "--source-dir", "force-app", "--target-org", "sandbox",
                    "--wait", "2", who="integration")  # fmt: skip
    assert done["status"] == 0, done
    assert _described(admin_sf.sb)["Working_Days__c"] is True
