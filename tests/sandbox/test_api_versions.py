"""The REST API versions an org of today serves, as a client written from Salesforce's current
guides meets them. The REST API Developer Guide's examples use v66.0 (Spring '26) to v68.0
(Winter '27); "Versions" (GET /services/data/) lists every version the org serves, each
with its release's label. The sandbox stopped at v64.0 (Summer '25): a client following the
current guide met 404 NOT_FOUND on every call."""
from __future__ import annotations

import pytest

from tests.sandbox.raw import Raw


@pytest.mark.parametrize("version, label", [("65.0", "Winter '26"), ("66.0", "Spring '26"),
                                            ("67.0", "Summer '26"), ("68.0", "Winter '27")])
def test_the_current_releases_versions_are_listed_and_served(sandbox, version, label):
    raw = Raw(sandbox, version=version)
    try:
        listed = raw.get("/services/data/").json()
        assert {"label": label, "url": f"/services/data/v{version}", "version": version} in listed
        r = raw.get("limits")
        assert r.status_code == 200, r.text
        q = raw.get("query", params={"q": "SELECT Id FROM User LIMIT 1"}).json()
        assert q["records"][0]["attributes"]["url"].startswith(f"/services/data/v{version}/sobjects/User/")
    finally:
        raw.close()


def test_a_version_after_the_newest_release_is_404(sandbox):
    raw = Raw(sandbox, version="69.0")
    try:
        r = raw.get("limits")
        assert (r.status_code, r.json()[0]["errorCode"]) == (404, "NOT_FOUND")
    finally:
        raw.close()
