"""The partner SOAP API's logout() (SOAP API Developer Guide, "logout()": ends the session
named by the SessionHeader's sessionId; void back; a failure means the session had already
ended). jsforce's `conn.logout()` sends it for a session that `conn.login(user, password)`
opened over SOAP; the sandbox answered it with a fault, so jsforce threw and the session
stayed live."""
from __future__ import annotations

import json
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest

from tests.salesforce.toolchain import SALESFORCE, require

ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def _soap(sb, body: str, header: str = "") -> tuple[int, str]:
    c = sb.connection
    envelope = (f'<?xml version="1.0" encoding="utf-8"?><se:Envelope xmlns:se="{ENV}"><se:Header>{header}'
                f"</se:Header><se:Body>{body}</se:Body></se:Envelope>")  # fmt: skip
    request = urllib.request.Request(c["instance_url"] + "/services/Soap/u/62.0", data=envelope.encode(),
                                     headers={"Content-Type": "text/xml", "SOAPAction": '""'})  # fmt: skip
    try:
        with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=c["ca_file"])) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _limits_status(sb, session: str) -> int:
    c = sb.connection
    request = urllib.request.Request(c["instance_url"] + "/services/data/v62.0/limits",
                                     headers={"Authorization": f"Bearer {session}"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=c["ca_file"])) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def _session_header(session: str) -> str:
    return f'<SessionHeader xmlns="urn:partner.soap.sforce.com"><sessionId>{session}</sessionId></SessionHeader>'


def test_logout_ends_the_session_and_a_second_logout_is_a_fault(sandbox):
    c = sandbox.connection
    status, body = _soap(sandbox, f'<login xmlns="urn:partner.soap.sforce.com"><username>{c["username"]}</username>'
                                  f'<password>{c["password"]}</password></login>')  # fmt: skip
    assert status == 200, body
    session = body.split("<sessionId>", 1)[1].split("</sessionId>", 1)[0]
    logout = '<logout xmlns="urn:partner.soap.sforce.com"/>'
    status, body = _soap(sandbox, logout, _session_header(session))
    assert status == 200, body
    assert "logoutResponse" in body
    assert _limits_status(sandbox, session) == 401
    status, body = _soap(sandbox, logout, _session_header(session))
    assert status == 500 and "<faultcode>sf:INVALID_SESSION_ID</faultcode>" in body, body


@pytest.mark.e2e
def test_jsforce_login_then_logout(sandbox, tmp_path):
    env = require()
    jsforce_dir = SALESFORCE / "node_modules" / "@jsforce" / "jsforce-node"
    if not (jsforce_dir / "package.json").exists():
        pytest.skip(f"jsforce is not installed in {jsforce_dir}")
    c = sandbox.connection
    script = tmp_path / "logout.js"
    script.write_text(r"""
    const jsforce = require(process.env.JSFORCE_DIR);
    (async () => {
      const conn = new jsforce.Connection({loginUrl: process.env.SF_LOGIN_URL, version: '62.0'});
      await conn.login(process.env.SF_USERNAME, process.env.SF_PASSWORD);
      const session = conn.accessToken;
      const out = {session};
      try { await conn.logout(); out.logout = 'ok'; } catch (e) { out.logout = String(e.message); }
      console.log(JSON.stringify(out));
    })().catch((e) => { console.error(String(e)); process.exit(1); });
    """)
    done = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=120,
                          env={**env, "JSFORCE_DIR": str(jsforce_dir), "SF_LOGIN_URL": c["login_url"],
                               "SF_USERNAME": c["username"], "SF_PASSWORD": c["password"],
                               "NODE_EXTRA_CA_CERTS": c["ca_file"]})  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["logout"] == "ok", out
    assert _limits_status(sandbox, out["session"]) == 401
