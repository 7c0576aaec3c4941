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
