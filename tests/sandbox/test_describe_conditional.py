"""If-Unmodified-Since on Describe Global and sObject Describe over HTTPS. REST API
Developer Guide, "Describe Global" and "sObject Describe": "You can use the
If-Modified-Since or If-Unmodified-Since header with this resource"; the latter returns the
metadata only if it has not been modified after that date (HTTP's 412 Precondition Failed
otherwise, as sObject Rows answers it). The sandbox's metadata changes when it starts and when
a test changes the org's setup."""
from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import pytest

from tests.sandbox.raw import Raw


@pytest.fixture
def raw(sandbox):
    client = Raw(sandbox)
    yield client
    client.close()


@pytest.mark.parametrize("path", ["sobjects", "sobjects/Lead/describe"])
def test_if_unmodified_since_before_a_setup_change_is_412(sandbox, raw, path):
    """A client caching describe asked "only if unchanged since my copy" and got the new
    metadata with a 200, as if nothing had changed since it cached."""
    cached_at = sandbox.clock.now()
    sandbox.clock.advance(timedelta(minutes=5))
    sandbox.org.set_history_tracking("Lead", {"Status": False})  # a setup change after the copy
    r = raw.get(path, headers={"If-Unmodified-Since": format_datetime(cached_at, usegmt=True)})
    assert r.status_code == 412, r.text[:200]
    assert r.json()[0]["errorCode"] == "PRECONDITION_FAILED"
    later = format_datetime(sandbox.clock.now() + timedelta(minutes=1), usegmt=True)
    ok = raw.get(path, headers={"If-Unmodified-Since": later})
    assert ok.status_code == 200, ok.text[:200]


def test_if_unmodified_since_that_is_no_date_is_400(raw):
    r = raw.get("sobjects/Lead/describe", headers={"If-Unmodified-Since": "yesterday"})
    assert r.status_code == 400
    assert r.json()[0]["errorCode"] == "INVALID_HEADER_TYPE"
