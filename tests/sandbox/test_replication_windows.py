"""sObject Get Updated / Get Deleted as a data-replication client calls them over HTTPS:
the windows Salesforce accepts and what earliestDateAvailable promises.

Sources: REST API Developer Guide, "sObject Get Deleted" (results for no more than 15
days previous to the day of the call) and "sObject Get Updated" (30 days; the seconds of
start and end ignored); SOAP API Developer Guide, getDeleted()/getUpdated() Rules and
Guidelines (a startDate the same as, or later than, the endDate is INVALID_REPLICATION_DATE)
and GetDeletedResult (earliestDateAvailable: the last physically deleted object's time —
what the delete log can no longer answer for)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.sandbox.raw import Raw


@pytest.fixture
def raw(sandbox):
    client = Raw(sandbox)
    yield client
    client.close()


def _window(start, end) -> dict:
    return {"start": start.isoformat(), "end": end.isoformat()}


def test_get_deleted_looks_back_15_days_get_updated_30(sandbox, raw):
    """A replicator asked for the deletions of the last 20 days and got 200 with an empty
    list, as if nothing had been deleted; Salesforce keeps deletions 15 days."""
    now = sandbox.clock.now()
    window = _window(now - timedelta(days=20), now)
    r = raw.get("sobjects/Lead/deleted/", params=window)
    assert r.status_code == 400, r.text
    assert r.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    assert "15 days" in r.json()[0]["message"]
    assert raw.get("sobjects/Lead/updated/", params=window).status_code == 200
    ok = raw.get("sobjects/Lead/deleted/", params=_window(now - timedelta(days=14), now))
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("resource", ["updated", "deleted"])
def test_start_and_end_in_the_same_minute_is_an_invalid_window(sandbox, raw, resource):
    """The seconds are ignored, so 10:30:10 to 10:30:50 is a window from 10:30 to 10:30: a
    start the same as the end is INVALID_REPLICATION_DATE, not an empty 200."""
    minute = (sandbox.clock.now() - timedelta(hours=1)).replace(second=0, microsecond=0)
    r = raw.get(f"sobjects/Lead/{resource}/",
                params=_window(minute.replace(second=10), minute.replace(second=50)))  # fmt: skip
    assert r.status_code == 400, r.text
    assert r.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    later = raw.get(f"sobjects/Lead/{resource}/", params=_window(minute, minute + timedelta(minutes=1)))
    assert later.status_code == 200, later.text


def test_earliest_date_available_does_not_claim_the_log_was_purged(sandbox, raw):
    """Nothing the sandbox deleted has left the recycle bin, so the delete log is whole for
    any window Salesforce accepts: earliestDateAvailable is no later than the window's start.
    It was the first deletion's minute, so a replicator whose last run predates the first
    deletion read it as "the log was purged since, resync everything"."""
    sandbox.clock.set(sandbox.clock.now().replace(second=30, microsecond=0))
    start = sandbox.clock.now() - timedelta(hours=1)
    gone = sandbox.org.create("Lead", {"LastName": "G", "Company": "C"})
    sandbox.org.delete("Lead", gone)
    sandbox.clock.advance(timedelta(minutes=2))
    body = raw.get("sobjects/Lead/deleted/", params=_window(start, sandbox.clock.now())).json()
    assert [d["id"] for d in body["deletedRecords"]] == [gone]
    earliest = body["earliestDateAvailable"]
    assert earliest <= start.strftime("%Y-%m-%dT%H:%M:%S.000+0000"), body
    assert earliest.endswith(":00.000+0000")
