"""Clients that are not simple-salesforce: curl and the standard library's urllib."""
from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.conftest import client_credentials_token


def test_urllib_logs_in_queries_and_updates(sandbox):
    c = sandbox.connection
    context = ssl.create_default_context(cafile=c["ca_file"])
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": c["client_id"],
                                   "client_secret": c["client_secret"]}).encode()  # fmt: skip
    with urllib.request.urlopen(c["login_url"] + "/services/oauth2/token", data=form, context=context) as r:
        token = json.load(r)["access_token"]
    lead_id = sandbox.org.create("Lead", {"LastName": "Url", "Company": "Lib"})
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Sforce-Auto-Assign": "FALSE"}
    q = urllib.parse.quote("SELECT Id, Company FROM Lead")
    with urllib.request.urlopen(urllib.request.Request(f"{c['instance_url']}/services/data/v60.0/query?q={q}",
                                                       headers=auth), context=context) as r:  # fmt: skip
        assert json.load(r)["records"][0]["Company"] == "Lib"
        assert r.headers["Sforce-Limit-Info"].startswith("api-usage=")
    patch = urllib.request.Request(f"{c['instance_url']}/services/data/v60.0/sobjects/Lead/{lead_id}",
                                   data=b'{"Rating": "Warm"}', headers=auth, method="PATCH")  # fmt: skip
    with urllib.request.urlopen(patch, context=context) as r:
        assert r.status == 204
    assert sandbox.org.get("Lead", lead_id)["Rating"] == "Warm"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_logs_in_and_reads_limits(sandbox):
    c = sandbox.connection

    def curl(*args: str) -> dict | list:
        out = subprocess.run(["curl", "-sS", "--fail-with-body", "--cacert", c["ca_file"], *args],
                             capture_output=True, text=True, timeout=30, check=True)  # fmt: skip
        return json.loads(out.stdout)

    token = curl(c["login_url"] + "/services/oauth2/token", "-d", "grant_type=client_credentials",
                 "-d", f"client_id={c['client_id']}", "-d", f"client_secret={c['client_secret']}")["access_token"]  # fmt: skip
    limits = curl(c["instance_url"] + "/services/data/v62.0/limits", "-H", f"Authorization: Bearer {token}")
    assert limits["DailyApiRequests"]["Max"] == sandbox.limit.maximum
    big = {"LastName": "Curl", "Company": "x" * 200, "Description": "y" * 5000}  # curl sends Expect: 100-continue
    created = curl(c["instance_url"] + "/services/data/v62.0/sobjects/Lead", "-H", f"Authorization: Bearer {token}",
                   "-H", "Content-Type: application/json", "-d", json.dumps(big))  # fmt: skip
    assert created["success"] is True


def test_a_cometd_handshake_is_denied_with_advice_not_to_retry(sandbox):
    """The Streaming API (CometD: jsforce's conn.streaming, older CDC clients) is not in the
    sandbox: a handshake gets Bayeux's own refusal, naming the Pub/Sub API, with advice
    `reconnect: none` — not a 404 a Bayeux client retries forever without saying why."""
    import requests

    c = sandbox.connection
    token = client_credentials_token(c)
    with requests.Session() as http:
        http.verify, http.trust_env = c["ca_file"], False
        r = http.post(f"{c['instance_url']}/cometd/62.0/handshake", headers={"Authorization": f"Bearer {token}"},
                      json=[{"channel": "/meta/handshake", "version": "1.0", "id": "1",
                             "supportedConnectionTypes": ["long-polling"]}], timeout=10)  # fmt: skip
    assert r.status_code == 200, r.text
    (answer,) = r.json()
    assert (answer["channel"], answer["id"], answer["successful"]) == ("/meta/handshake", "1", False)
    assert answer["error"].startswith("403::") and "Pub/Sub API" in answer["error"]
    assert answer["advice"] == {"reconnect": "none"}


def test_soap_login_on_the_enterprise_endpoint_and_its_fault(sandbox):
    """login() as the enterprise WSDL sends it: its namespace and serverUrl come back, the
    session works over REST; a wrong password is the INVALID_LOGIN fault with HTTP 500."""
    c = sandbox.connection
    context = ssl.create_default_context(cafile=c["ca_file"])

    def login(password: str) -> tuple[int, str]:
        envelope = ('<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" '
                    'xmlns:urn="urn:enterprise.soap.sforce.com"><env:Body><urn:login>'
                    f"<urn:username>{c['username']}</urn:username><urn:password>{password}</urn:password>"
                    "</urn:login></env:Body></env:Envelope>")  # fmt: skip
        request = urllib.request.Request(c["login_url"] + "/services/Soap/c/62.0", data=envelope.encode(),
                                         headers={"Content-Type": "text/xml", "SOAPAction": "login"})  # fmt: skip
        try:
            with urllib.request.urlopen(request, context=context) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    status, body = login(c["password"])
    assert status == 200 and 'xmlns="urn:enterprise.soap.sforce.com"' in body
    assert f"{c['instance_url']}/services/Soap/c/62.0/" in body
    session = body.split("<sessionId>", 1)[1].split("</sessionId>", 1)[0]
    limits = urllib.request.Request(c["instance_url"] + "/services/data/v62.0/limits",
                                    headers={"Authorization": f"Bearer {session}"})  # fmt: skip
    with urllib.request.urlopen(limits, context=context) as r:
        assert r.status == 200
    status, body = login("wrong")
    assert status == 500 and "<faultcode>sf:INVALID_LOGIN</faultcode>" in body
