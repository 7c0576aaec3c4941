"""One expired session, one login: calls on several threads share the refresh.

The jobs share one client across scheduler threads. When Salesforce ends the session
(an admin revokes it, its timeout passes), every call in flight meets 401 INVALID_SESSION_ID
at once. Each used to log in again on its own: N calls, N token requests, N new sessions
(each ending the last under a one-session-per-user policy, and costing a login each toward
the org's limits). Now the first logs in; the others find a newer session than the one
they used and carry on with it."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.e2e

THREADS = 4


def test_calls_whose_session_expired_together_log_in_once(org, connect):
    client = connect()
    org.org.create("Lead", {"LastName": "Shared", "Company": "Shared Co"})
    assert client.count("SELECT COUNT() FROM Lead WHERE Company = 'Shared Co'") == 1
    logins = client.token_calls
    org.auth.expire()  # every session ends: each call in flight meets 401
    # a login slow enough that every thread's 401 comes back while it is under way
    org.faults.plan("latency", count=THREADS * 2, endpoint="oauth2/token", latency_ms=600)
    ready = threading.Barrier(THREADS)

    def count(_):
        ready.wait()
        return client.count("SELECT COUNT() FROM Lead WHERE Company = 'Shared Co'")

    with ThreadPoolExecutor(THREADS) as pool:
        counts = list(pool.map(count, range(THREADS)))
    assert counts == [1] * THREADS
    assert client.token_calls - logins == 1, f"{client.token_calls - logins} logins for one expired session"
    assert client.count("SELECT COUNT() FROM Lead WHERE Company = 'Shared Co'") == 1  # the shared session works


def test_the_event_stream_takes_the_session_a_rest_call_renewed_without_logging_in_again(org, client):
    """The change event stream and the jobs share the client's session: when it ends, the
    first to meet the expiry logs in, and the other carries on with that session."""
    from pathlib import Path

    from connector.pubsub import PubSubConfig, Subscriber, credentials_from

    from .test_pubsub import _collect, _earliest, _lead

    sub = Subscriber(PubSubConfig(url=org.connection["pubsub_url"], ca_bundle=Path(org.connection["ca_file"]),
                                  batch_size=10), credentials_from(client), client.policy)
    try:
        first = _lead(org)
        logins = client.token_calls
        seen = []

        def expire_then_a_job_calls(batch) -> None:
            if batch.events and not seen:
                seen.append(1)
                org.auth.expire()  # every session ends, as when an admin revokes them
                assert client.count("SELECT COUNT() FROM Lead") >= 1  # a job meets it first, and logs in
                _lead(org, Company="After expiry")

        events, _, _ = _collect(sub, _earliest(org), 2, keep=expire_then_a_job_calls)
        assert events[0].record_ids == (first,) and events[1].values["Company"] == "After expiry"
        assert sub.refreshes == 1
        assert client.token_calls - logins == 1, f"{client.token_calls - logins} logins for one expired session"
    finally:
        sub.close()
