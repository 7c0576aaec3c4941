"""The sandbox's Metadata API deploy, driven by a client written from Salesforce's published
contract alone (the Metadata API WSDL's deploy / checkDeployStatus over SOAP, and the REST
deployRequest resource): a zip with package.xml and components in Metadata API format.
What a real org refuses fails the request, component by component; what it accepts shows in
describe and is usable at once."""
from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from xml.etree import ElementTree as ET

import pytest

from tests.conftest import https_session, salesforce_client

pytestmark = pytest.mark.e2e

MD = "http://soap.sforce.com/2006/04/metadata"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def _zip(files: dict[str, str], types: dict[str, list[str]]) -> bytes:
    package = "".join(f"<types>{''.join(f'<members>{m}</members>' for m in ms)}<name>{t}</name></types>"
                      for t, ms in types.items())  # fmt: skip
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("package.xml", f'<?xml version="1.0"?><Package xmlns="{MD}">{package}<version>62.0</version></Package>')
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


def _object(*fields: str) -> str:
    return f'<?xml version="1.0"?><CustomObject xmlns="{MD}">{"".join(fields)}</CustomObject>'


def _text_field(name: str, length: int = 40, tracked: bool = False) -> str:
    return (f"<fields><fullName>{name}</fullName><label>{name[:-3].replace('_', ' ')}</label><length>{length}</length>"
            f"<type>Text</type><trackHistory>{str(tracked).lower()}</trackHistory></fields>")  # fmt: skip


class Soap:
    def __init__(self, sb, user_id: str):
        self.sb = sb
        self.token = sb.auth.issue(user_id)["access_token"]
        self.http = https_session(sb.connection["ca_file"])

    def call(self, name: str, body: str) -> ET.Element:
        envelope = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{ENV}" xmlns:met="{MD}">'
                    f"<soapenv:Header><met:SessionHeader><met:sessionId>{self.token}</met:sessionId>"
                    f"</met:SessionHeader></soapenv:Header><soapenv:Body><met:{name}>{body}</met:{name}>"
                    "</soapenv:Body></soapenv:Envelope>")  # fmt: skip
        r = self.http.post(f"{self.sb.url}/services/Soap/m/62.0", data=envelope.encode(),
                           headers={"Content-Type": "text/xml", "SOAPAction": '""'}, timeout=30)  # fmt: skip
        root = ET.fromstring(r.content)
        fault = root.find(f".//{{{ENV}}}Fault")
        if fault is not None:
            raise AssertionError(f"{r.status_code} {fault.findtext('faultcode')}: {fault.findtext('faultstring')}")
        assert r.status_code == 200
        return root.find(f".//{{{MD}}}result")

    def deploy(self, zipped: bytes, check_only: bool = False) -> dict:
        started = self.call("deploy", f"<met:ZipFile>{base64.b64encode(zipped).decode()}</met:ZipFile>"
                            f"<met:DeployOptions><met:checkOnly>{str(check_only).lower()}</met:checkOnly>"
                            "<met:rollbackOnError>true</met:rollbackOnError><met:singlePackage>true</met:singlePackage>"
                            "</met:DeployOptions>")  # fmt: skip
        deploy_id = started.findtext(f"{{{MD}}}id")
        assert deploy_id.startswith("0Af") and started.findtext(f"{{{MD}}}done") in ("false", "true")
        status = self.call("checkDeployStatus", f"<met:asyncProcessId>{deploy_id}</met:asyncProcessId>"
                           "<met:includeDetails>true</met:includeDetails>")  # fmt: skip
        q = lambda el, tag: el.findtext(f"{{{MD}}}{tag}")  # noqa: E731
        messages = lambda kind: [{c.tag.split("}")[1]: c.text for c in m}  # noqa: E731
                                 for m in status.iter(f"{{{MD}}}{kind}")]
        return {"id": deploy_id, "done": q(status, "done"), "status": q(status, "status"),
                "success": q(status, "success"), "errors": int(q(status, "numberComponentErrors")),
                "failures": {m["fullName"]: m["problem"] for m in messages("componentFailures")},
                "successes": {m["fullName"]: m for m in messages("componentSuccesses")}}  # fmt: skip


@pytest.fixture
def admin(sandbox):
    return Soap(sandbox, sandbox.org.admin_user_id)


def _lead_fields(sb) -> dict:
    sf = salesforce_client(sb)
    try:
        return {f["name"]: f for f in sf.Lead.describe()["fields"]}
    finally:
        sf.session.close()


def test_a_deployed_field_is_described_queried_and_written(admin, sandbox):
    zipped = _zip({"objects/Lead.object": _object(_text_field("Partner_Note__c", 120))},
                  {"CustomField": ["Lead.Partner_Note__c"]})  # fmt: skip
    checked = admin.deploy(zipped, check_only=True)
    assert checked["status"] == "Succeeded" and "Partner_Note__c" not in _lead_fields(sandbox)
    done = admin.deploy(zipped)
    assert (done["done"], done["status"], done["success"], done["errors"]) == ("true", "Succeeded", "true", 0)
    assert done["successes"]["Lead.Partner_Note__c"]["created"] == "true"
    assert done["successes"]["Lead.Partner_Note__c"]["componentType"] == "CustomField"
    field = _lead_fields(sandbox)["Partner_Note__c"]
    assert (field["type"], field["length"], field["custom"]) == ("string", 120, True)
    sf = salesforce_client(sandbox)
    try:
        lead = sf.Lead.create({"LastName": "Deployed", "Company": "Acme", "Partner_Note__c": "from the new field"})["id"]
        rows = sf.query(f"SELECT Partner_Note__c FROM Lead WHERE Id = '{lead}'")["records"]
        assert rows[0]["Partner_Note__c"] == "from the new field"
    finally:
        sf.session.close()


def test_a_new_custom_object_and_its_fields_are_created(admin, sandbox):
    obj = _object("<label>Partner Visit</label><pluralLabel>Partner Visits</pluralLabel>"
                  "<nameField><label>Visit Name</label><type>Text</type></nameField>"
                  "<deploymentStatus>Deployed</deploymentStatus><sharingModel>ReadWrite</sharingModel>",
                  _text_field("Topic__c"))  # fmt: skip
    done = admin.deploy(_zip({"objects/Partner_Visit__c.object": obj},
                             {"CustomObject": ["Partner_Visit__c"], "CustomField": ["Partner_Visit__c.Topic__c"]}))
    assert done["status"] == "Succeeded", done["failures"]
    sf = salesforce_client(sandbox)
    try:
        created = sf.Partner_Visit__c.create({"Name": "Q1", "Topic__c": "Pipeline"})["id"]
        assert sf.Partner_Visit__c.get(created)["Topic__c"] == "Pipeline"
    finally:
        sf.session.close()


def test_what_a_real_org_refuses_fails_the_whole_request_component_by_component(admin, sandbox):
    tracked = [_text_field(f"Tracked_{n}__c", tracked=True) for n in range(15)]  # Lead already tracks 8
    permset = (f'<?xml version="1.0"?><PermissionSet xmlns="{MD}"><label>Broken</label>'
               "<objectPermissions><allowCreate>false</allowCreate><allowDelete>false</allowDelete>"
               "<allowEdit>true</allowEdit><allowRead>true</allowRead><modifyAllRecords>true</modifyAllRecords>"
               "<object>Lead</object><viewAllRecords>true</viewAllRecords></objectPermissions></PermissionSet>")
    lwc_meta = (f'<?xml version="1.0"?><LightningComponentBundle xmlns="{MD}"><apiVersion>99.0</apiVersion>'
                "<isExposed>true</isExposed><targets><target>lightning__RecordPage</target></targets>"
                "</LightningComponentBundle>")  # fmt: skip
    lwc_js = "import F from '@salesforce/schema/Lead.No_Such_Field__c';\nexport default class X {}\n"
    files = {"objects/Lead.object": _object(*tracked, "<fields><fullName>Too_Long__c</fullName><label>Too long"
                                            "</label><length>256</length><type>Text</type></fields>",
                                            "<fields><fullName>Typo__c</fullName><label>Typo</label>"
                                            "<type>Texty</type></fields>"),
             "permissionsets/Broken.permissionset": permset,
             "lwc/broken/broken.js": lwc_js, "lwc/broken/broken.js-meta.xml": lwc_meta}  # fmt: skip
    types = {"CustomField": [f"Lead.Tracked_{n}__c" for n in range(15)] + ["Lead.Too_Long__c", "Lead.Missing__c",
                                                                          "Lead.Typo__c"],
             "PermissionSet": ["Broken"], "LightningComponentBundle": ["broken"]}  # fmt: skip
    before = _lead_fields(sandbox)
    done = admin.deploy(_zip(files, types))
    assert (done["status"], done["success"]) == ("Failed", "false")
    failures = done["failures"]
    assert "length is 1-255" in failures["Lead.Too_Long__c"]
    assert "exceeded the allowed number of fields to track" in failures["Lead.Tracked_0__c"]
    assert failures["Broken"] == "Permission Modify All Lead depends on permission(s): Delete Lead"
    assert failures["broken"].startswith("Invalid apiVersion 99.0: a bundle's apiVersion is 45.0 to the org's ")
    assert failures["broken"].endswith("; Invalid reference Lead.No_Such_Field__c of type sobjectField in file broken.js")
    assert "named in package.xml, but was not found in zipped directory" in failures["Lead.Missing__c"]
    assert failures["Lead.Typo__c"] == "Error parsing file: 'Texty' is not a valid value for the enum 'FieldType'"
    assert done["errors"] == len(failures) == 15 + 5
    assert _lead_fields(sandbox).keys() == before.keys(), "a failed deploy changed the org"


def test_the_rest_deploy_request_resource_answers_as_the_soap_calls_do(sandbox):
    zipped = _zip({"objects/Lead.object": _object(_text_field("Rest_Note__c"))}, {"CustomField": ["Lead.Rest_Note__c"]})
    http = https_session(sandbox.connection["ca_file"])
    token = sandbox.auth.issue(sandbox.org.admin_user_id)["access_token"]
    base = f"{sandbox.url}/services/data/v62.0/metadata/deployRequest"
    r = http.post(base, headers={"Authorization": f"Bearer {token}"}, timeout=30, files={
        "json": (None, json.dumps({"deployOptions": {"checkOnly": False, "singlePackage": True}}), "application/json"),
        "file": ("deploy.zip", zipped, "application/zip")})  # fmt: skip
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["id"].startswith("0Af") and created["deployResult"]["done"] is False
    got = http.get(f"{base}/{created['id']}", params={"includeDetails": "true"},
                   headers={"Authorization": f"Bearer {token}"}, timeout=30).json()  # fmt: skip
    result = got["deployResult"]
    assert (result["done"], result["status"], result["success"]) == (True, "Succeeded", True)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", result["completedDate"]), result  # REST's dateTime
    assert [m["fullName"] for m in result["details"]["componentSuccesses"] if m["componentType"]] == ["Lead.Rest_Note__c"]
    assert "Rest_Note__c" in _lead_fields(sandbox)


def test_a_partner_user_may_not_deploy(sandbox_factory):
    sandbox = sandbox_factory(seed="demo", partners=3, leads=5)
    with sandbox.org.lock:
        rep = next(u["Id"] for u in sandbox.org.records("User") if u["UserType"] == "PowerPartner" and u["IsActive"])
    with pytest.raises(AssertionError, match="INSUFFICIENT_ACCESS.*admin@leadrouter.sandbox"):
        Soap(sandbox, rep).deploy(_zip({}, {}))
    http = https_session(sandbox.connection["ca_file"])
    token = sandbox.auth.issue(rep)["access_token"]
    r = http.get(f"{sandbox.url}/services/data/v62.0/metadata/deployRequest/0Af5g0000000001AAA",
                 headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
    assert r.status_code == 403 and r.json()[0]["errorCode"] == "INSUFFICIENT_ACCESS"
    assert Soap(sandbox, sandbox.org.integration_user_id).deploy(_zip({}, {}))["status"] == "Succeeded"


def test_a_kept_org_keeps_what_was_deployed_to_it_across_a_restart(sandbox_factory, tmp_path):
    """An org keeps its deployed metadata: a sandbox reopened from its data directory has
    the deployed field, with the values written to it, not salesforce/'s schema alone."""
    data = tmp_path / "kept"
    sb = sandbox_factory(data, seed="demo", partners=3, leads=5)
    assert Soap(sb, sb.org.admin_user_id).deploy(_zip({"objects/Lead.object": _object(_text_field("Kept_Note__c"))},
                                                      {"CustomField": ["Lead.Kept_Note__c"]}))["status"] == "Succeeded"
    sf = salesforce_client(sb)
    try:
        lead = sf.query("SELECT Id FROM Lead LIMIT 1")["records"][0]["Id"]
        sf.Lead.update(lead, {"Kept_Note__c": "still here"})
    finally:
        sf.session.close()
    sb.stop()
    again = sandbox_factory(data)
    assert "Kept_Note__c" in _lead_fields(again)
    sf = salesforce_client(again)
    try:
        assert sf.Lead.get(lead)["Kept_Note__c"] == "still here"
    finally:
        sf.session.close()


def test_a_standard_object_named_whole_in_package_xml_deploys_its_fields(admin, sandbox):
    """A manifest from `sf project generate manifest --metadata CustomObject:Lead` (or a
    hand-written one) names Lead as a CustomObject beside, or instead of, its fields: the
    objects/Lead.object file is that component, not a member missing from the zip."""
    done = admin.deploy(_zip({"objects/Lead.object": _object(_text_field("Whole_Note__c"))},
                             {"CustomObject": ["Lead"]}))  # fmt: skip
    assert done["status"] == "Succeeded", done["failures"]
    assert "Whole_Note__c" in _lead_fields(sandbox)


def _formula_field(name: str, formula: str) -> str:
    return (f"<fields><fullName>{name}</fullName><label>{name[:-3].replace('_', ' ')}</label>"
            f"<formula>{formula}</formula><formulaTreatBlanksAs>BlankAsBlank</formulaTreatBlanksAs>"
            "<precision>18</precision><scale>0</scale><type>Number</type></fields>")  # fmt: skip


def test_a_formula_field_deploys_read_only_and_other_formulas_are_refused_by_name(admin, sandbox):
    """The sandbox evaluates one formula shape, (<DateTime field> - NOW()) * <number>: a deploy of
    it is described calculated and read-only; one naming a field the object lacks fails as
    Salesforce's formula check does; any other formula fails naming the shape it does evaluate,
    rather than deploy a field the sandbox would answer wrongly."""
    ok = _zip({"objects/Lead.object": _object(_formula_field("Minutes_Left__c", "(Offer_Deadline__c - NOW()) * 1440"))},
              {"CustomField": ["Lead.Minutes_Left__c"]})  # fmt: skip
    done = admin.deploy(ok)
    assert (done["status"], done["errors"]) == ("Succeeded", 0), done["failures"]
    field = _lead_fields(sandbox)["Minutes_Left__c"]
    assert (field["type"], field["calculated"], field["createable"], field["updateable"]) == ("double", True, False, False)
    assert field["calculatedFormula"] == "(Offer_Deadline__c - NOW()) * 1440"

    bad = _zip({"objects/Lead.object": _object(_formula_field("Typo_Left__c", "(Offer_Dedline__c - NOW()) * 1440"),
                                               _formula_field("Other_Left__c", "IF(ISBLANK(Company), 1, 0)"))},
               {"CustomField": ["Lead.Typo_Left__c", "Lead.Other_Left__c"]})  # fmt: skip
    failed = admin.deploy(bad)
    assert failed["status"] == "Failed"
    assert "Field Offer_Dedline__c does not exist. Check spelling." in failed["failures"]["Lead.Typo_Left__c"]
    assert "(<DateTime field> - NOW()) * <number>" in failed["failures"]["Lead.Other_Left__c"]
    assert not {"Typo_Left__c", "Other_Left__c"} & set(_lead_fields(sandbox))
