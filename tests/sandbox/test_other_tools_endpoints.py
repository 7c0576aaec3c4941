"""What Salesforce's own CLI (and Workbench-like tools) ask an org before anything else:
who the token is (userinfo, the identity URL), the Organization row, the columns of a
query. And a path the sandbox does not know is logged with its method and path."""
from __future__ import annotations

import pytest

from tests.conftest import client_credentials_grant, https_session
from tests.sandbox.raw import Raw


@pytest.fixture
def raw(sandbox):
    client = Raw(sandbox)
    yield client
    client.close()


def test_userinfo_names_the_tokens_user_and_org(raw, sandbox):
    r = raw.get("/services/oauth2/userinfo")
    assert r.status_code == 200
    body = r.json()
    assert body["preferred_username"] == sandbox.connection["username"]
    assert body["user_id"] == sandbox.org.integration_user_id
    assert body["organization_id"].startswith("00D")
    assert body["sub"] == f"{sandbox.url}/id/{body['organization_id']}/{body['user_id']}"
    assert body["urls"]["rest"] == sandbox.url + "/services/data/v{version}/"


def test_identity_url_from_the_token_response_answers_with_the_username(sandbox):
    c = sandbox.connection
    token = client_credentials_grant(c)
    with https_session(c["ca_file"]) as session:
        r = session.get(token["id"], headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == token["id"]
    assert (body["username"], body["user_id"]) == (c["username"], sandbox.org.integration_user_id)


def test_identity_and_userinfo_refuse_a_bad_token_like_salesforce(raw, sandbox):
    raw.token = "00D000000000001!not-a-session"
    assert (raw.get("/services/oauth2/userinfo").status_code, raw.get("/services/oauth2/userinfo").text) == (
        403, "Bad_OAuth_Token")  # fmt: skip


def test_identity_url_of_another_user_is_refused(raw, sandbox):
    org_id = raw.get("/services/oauth2/userinfo").json()["organization_id"]
    assert raw.get(f"/id/{org_id}/{sandbox.org.admin_user_id}").status_code == 403


def test_organization_is_one_read_only_row_whose_id_is_the_tokens_org(sf, sandbox):
    userinfo_org = Raw(sandbox).get("/services/oauth2/userinfo").json()["organization_id"]
    rows = sf.query("SELECT Id, Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, "
                    "OrganizationType FROM Organization")["records"]  # fmt: skip
    assert len(rows) == 1
    assert rows[0]["Id"] == userinfo_org
    assert (rows[0]["IsSandbox"], rows[0]["OrganizationType"], rows[0]["NamespacePrefix"]) == (
        True, "Developer Edition", None)  # fmt: skip
    assert sf.Organization.describe()["updateable"] is False


def test_query_with_columns_true_answers_the_selected_columns_not_rows(raw):
    r = raw.get("query", params={"q": "SELECT Id, Company, Owner.Name, Routing_Status__c FROM Lead LIMIT 5",
                                 "columns": "true"})  # fmt: skip
    assert r.status_code == 200
    body = r.json()
    assert "records" not in body
    assert (body["entityName"], body["keyPrefix"], body["idSelected"], body["groupBy"]) == ("Lead", "00Q", True, False)
    columns = body["columnMetadata"]
    assert [c["columnName"] for c in columns] == ["Id", "Company", "Owner", "Routing_Status__c"]
    owner = columns[2]
    assert [(j["columnName"], j["displayName"]) for j in owner["joinColumns"]] == [("Name", "Owner.Name")]
    status = columns[3]
    assert (status["custom"], status["textType"], status["updatable"], status["joinColumns"]) == (True, True, True, [])
    assert columns[0]["apexType"] == "Id" and columns[0]["updatable"] is False


def test_columns_of_a_bad_query_are_refused_like_the_query(raw):
    r = raw.get("query", params={"q": "SELECT Nope__c FROM Lead", "columns": "true"})
    assert r.status_code == 400
    assert r.json()[0]["errorCode"] == "INVALID_FIELD"


def test_an_unknown_path_is_logged_with_method_and_path(raw, sandbox, capsys):
    assert raw.get("/services/oauth2/nothing-here").status_code == 404
    assert raw.post("sobjects/Lead/quickActions/Nope", json={}).status_code == 404
    logged = [(e.method, e.path, e.status) for e in sandbox.counters.requests("(no such resource)")]
    assert ("GET", "/services/oauth2/nothing-here", 404) in logged
    assert ("POST", "/services/data/v62.0/sobjects/Lead/quickActions/Nope", 404) in logged
    err = capsys.readouterr().err
    assert "no such resource: GET /services/oauth2/nothing-here" in err
    assert "no such resource: POST /services/data/v62.0/sobjects/Lead/quickActions/Nope" in err
