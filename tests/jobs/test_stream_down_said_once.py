"""A Pub/Sub API that does not answer is said once per topic, not at every retry. A config
for the sandbox that kept Salesforce's pubsub_url logged `stream_down_polling_meanwhile`
as a warning at each try, a dozen lines in the first minute and one every 5 minutes per
topic after, beside `salesforce_unavailable`; DEPLOY.md promises what every run meets alike
is said once, then hourly. The retries are info lines; a connection makes it news again."""
from __future__ import annotations

import threading
import time

import pytest
import structlog

from jobs.stream import LEADS, Streams

pytestmark = pytest.mark.e2e


def test_a_pub_sub_api_that_does_not_answer_is_warned_of_once_per_topic(org, make_loop):
    loop = make_loop(org, settings={"stream": {"pubsub_url": "127.0.0.1:1"}})  # nothing listens there
    streams = Streams(loop.cx)
    logs = _run_topic_until(streams, lambda logs: sum(e["event"] == "stream_down_polling_meanwhile" for e in logs) >= 3,
                            "the topic did not try three times")
    down = [e for e in logs if e["event"] == "stream_down_polling_meanwhile"]
    assert [e["log_level"] for e in down][:3] == ["warning", "info", "info"], down
    assert "pubsub_url" in down[0]["fix"]
    # the stream, not Salesforce: the REST API answers throughout, and /healthz and `status`
    # must not say Salesforce is unavailable
    said = [e["event"] for e in logs]
    assert not [e for e in said if e.startswith("salesforce_")], said
    assert "pubsub_unreachable" in said and not loop.cx.client.policy.unavailable, said


def test_a_clean_stop_ends_the_stream_without_a_warning(org, make_loop):
    """SIGTERM to `leadrouter run` logged `stream_disconnected` as a warning for each topic,
    why "stopped": a stop asked for is no trouble, and an alert on warnings fired at each deploy."""
    loop = make_loop(org, settings={"stream": {"pubsub_url": org.connection["pubsub_url"]}})
    loop.cycle()
    streams = Streams(loop.cx)
    logs = _run_topic_until(streams, lambda _logs: streams.connected[LEADS] is not None, "the topic did not connect")
    [gone] = [e for e in logs if e["event"] == "stream_disconnected"]
    assert (gone["log_level"], gone["why"]) == ("info", "stopped"), gone


def _run_topic_until(streams, done, what: str) -> list[dict]:
    """Run the lead topic's loop on its own thread until `done(logs)`, then stop it as a
    SIGTERM does; the log events it wrote."""
    stop = threading.Event()
    with structlog.testing.capture_logs() as logs:
        thread = threading.Thread(target=streams._run_topic, args=(LEADS, stop), daemon=True)
        thread.start()
        end = time.monotonic() + 30
        while not done(logs):
            assert time.monotonic() < end, what
            time.sleep(0.05)
        stop.set()
        thread.join(10)
    return logs
