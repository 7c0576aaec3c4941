"""The change-event threads outlive the state database going away: each topic keeps
trying, and is connected again once the database answers."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import exc

from jobs.stream import Streams

pytestmark = pytest.mark.e2e


def test_a_state_database_outage_does_not_end_the_stream_threads(org, make_loop):
    loop = make_loop(org, settings={"stream": {"pubsub_url": org.connection["pubsub_url"]}})
    loop.cycle()
    store = loop.cx.store
    real_begin, real_connect = store.begin, store.connect
    down = threading.Event()
    down.set()

    def refused(real):
        @contextmanager
        def cm():
            if down.is_set():
                raise exc.OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
            with real() as conn:
                yield conn
        return cm

    store.begin, store.connect = refused(real_begin), refused(real_connect)  # type: ignore[method-assign]
    streams = Streams(loop.cx)
    stop = threading.Event()
    try:
        opened = org.pubsub.service.subscriptions
        streams.make_jobs(stop)
        time.sleep(2.5)  # a few rounds against the database that is away
        topics = [t for t in streams.threads if t.name.startswith("stream/")]
        assert topics and all(t.is_alive() for t in topics), "a topic's thread ended on the outage"
        down.clear()  # the database answers again
        end = time.monotonic() + 30
        while org.pubsub.service.subscriptions < opened + 2:
            assert time.monotonic() < end, "the topics did not subscribe once the database was back"
            time.sleep(0.05)
    finally:
        store.begin, store.connect = real_begin, real_connect  # type: ignore[method-assign]
        stop.set()
        streams.join()
