"""What the sandbox advertises, it serves: every URL in the version list, the Resources
by Version list and the identity URLs (userinfo and the token's identity URL) answers a
GET with something other than 404. A client that discovers resources by following these
(Salesforce's CLI, Workbench-like tools) must not be sent to a resource that is not there.

An answer other than 404 is enough here: /query without `q` is Salesforce's 400
MALFORMED_QUERY, not a missing resource."""
from __future__ import annotations

import pytest

from sandbox import rest
from tests.conftest import client_credentials_grant, https_session
from tests.sandbox.raw import Raw


@pytest.fixture
def raw(sandbox):
    client = Raw(sandbox)
    yield client
    client.close()


def _answers(raw: Raw, url: str) -> int:
    return raw.get(url.removeprefix(raw.base) or "/").status_code


def test_every_version_in_the_version_list_answers(raw):
    listed = raw.get("/services/data").json()
    assert listed
    for v in listed:
        assert _answers(raw, v["url"]) == 200, v


def test_every_resource_in_the_resource_list_answers(raw):
    listed = raw.get("").json()
    assert {"sobjects", "query", "limits"} <= set(listed)
    missing = {name: url for name, url in listed.items() if _answers(raw, url) == 404}
    assert not missing, f"advertised, not served: {missing}"


def test_resources_not_served_are_not_advertised(raw, sandbox):
    """Every resource the org serves is listed, and only those. The Tooling API is listed, as
    a real org lists it, and answers as a real org answers a user who may not use it
    (sandbox/other_apis.py); recently viewed items answer the empty list an API user has."""
    listed = raw.get("").json()
    assert "recent" in listed and "tooling" in listed
    assert raw.get(listed["tooling"]).status_code == 403
    for name in rest.RESOURCES:
        assert (name in listed) == rest.served(sandbox, f"/services/data/v62.0/{name}"), name


@pytest.mark.parametrize("version", ["62.0", "50.0"])
def test_every_url_in_userinfo_answers(raw, version):
    urls = raw.get("/services/oauth2/userinfo").json()["urls"]
    assert {"rest", "sobjects", "query"} <= set(urls)
    missing = {k: u for k, u in urls.items() if _answers(raw, u.replace("{version}", version)) == 404}
    assert not missing, f"advertised, not served: {missing}"
    assert "recent" in urls and "tooling_rest" in urls


def test_every_url_of_the_tokens_identity_answers(sandbox):
    c = sandbox.connection
    token = client_credentials_grant(c)
    with https_session(c["ca_file"]) as session:
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        urls = session.get(token["id"], headers=auth, timeout=10).json()["urls"]
        assert urls
        answers = {k: session.get(u.replace("{version}", "62.0"), headers=auth, timeout=10).status_code
                   for k, u in urls.items()}
    assert not {k: s for k, s in answers.items() if s == 404}, answers


@pytest.mark.parametrize("path", ["sobjects", "sobjects/Lead", "sobjects/Lead/describe"])
def test_every_url_a_describe_names_answers(raw, sandbox, path):
    """describeGlobal, sObject Basic Information and describe name each object's `urls`
    (jsforce's compactLayouts(), listviews() … follow them): each answers, `{ID}` standing
    for a record; Lead names its list views, which the org has."""
    lead = sandbox.org.create("Lead", {"LastName": "Url", "Company": "Url Co"})
    body = raw.get(path).json()
    summaries = body["sobjects"] if "sobjects" in body else [body.get("objectDescribe", body)]
    for summary in summaries:
        # a record url is tried on Lead, where the test has a record
        urls = {k: u.replace("{ID}", lead) for k, u in summary["urls"].items()
                if "{ID}" not in u or summary["name"] == "Lead"}  # fmt: skip
        missing = {k: u for k, u in urls.items() if _answers(raw, u) == 404}
        assert not missing, f"{summary['name']}: advertised, not served: {missing}"
    lead_urls = next(s for s in summaries if s["name"] == "Lead")["urls"]
    assert lead_urls["listviews"].endswith("/sobjects/Lead/listviews")
