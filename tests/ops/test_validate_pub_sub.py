"""`validate` says whether `run` will get change events: with [stream] mode auto (the
default) or cdc it asks the Pub/Sub API at pubsub_url for the lead topic. A config for the
sandbox org that kept Salesforce's api.pubsub.salesforce.com was "ready to run", and `run`
then logged salesforce_unavailable and a stream that kept going down."""
from __future__ import annotations

import json
import shutil

import pytest

from jobs.cli import main
from jobs.ops.demo import DEFAULT_RULES, write_config

pytestmark = pytest.mark.e2e


def _validated(sb, tmp_path, capsys, stream: str) -> tuple[int, list[dict], str]:
    rules = tmp_path / "rules.toml"
    shutil.copy(DEFAULT_RULES, rules)
    config = write_config(tmp_path, sb.connection, rules)
    config.write_text(config.read_text().split("[stream]")[0] + stream)
    code = main(["validate", "--config", str(config), "--json"])
    out = capsys.readouterr()
    return code, json.loads(out.out)["findings"], out.err


def _stream(findings: list[dict]) -> list[dict]:
    return [f for f in findings if f["key"].startswith("stream")]


@pytest.mark.parametrize("mode, severity, code", [("auto", "warning", 0), ("cdc", "error", 1)])
def test_a_pub_sub_api_that_does_not_answer_is_named_with_the_fix(sandbox_factory, tmp_path, capsys, mode, severity,
                                                                   code):
    sb = sandbox_factory(seed="demo", partners=5, leads=5, random_seed=3)
    got, findings, err = _validated(sb, tmp_path, capsys, f'[stream]\nmode = "{mode}"\npubsub_url = "127.0.0.1:1"\n')
    [said] = _stream(findings)
    assert (got, said["severity"], said["key"]) == (code, severity, "stream.pubsub_url"), said
    assert "127.0.0.1:1" in said["message"] and "connection.json" in said["fix"], said
    assert "salesforce_unavailable" not in err  # a finding, not a log line beside it


def test_the_sandbox_pub_sub_api_answers_and_nothing_is_said(sandbox_factory, tmp_path, capsys):
    sb = sandbox_factory(seed="demo", partners=5, leads=5, random_seed=3)
    _, findings, _ = _validated(sb, tmp_path, capsys, f'[stream]\npubsub_url = "{sb.connection["pubsub_url"]}"\n')
    assert _stream(findings) == []
    _, findings, _ = _validated(sb, tmp_path, capsys, '[stream]\nmode = "poll"\npubsub_url = "127.0.0.1:1"\n')
    assert _stream(findings) == []  # never subscribes: nothing to check


def test_a_pub_sub_address_that_accepts_and_never_answers_is_named_within_seconds(sandbox_factory, tmp_path, capsys):
    """A blackholed address (here a loopback socket that takes the connection and never
    speaks TLS) held `validate` for the Pub/Sub call's 30-second deadline with no word of
    why; now it is given a few seconds and the finding says it did not answer in them."""
    import socket
    import time

    from jobs.ops.validate import PUBSUB_CHECK_SECONDS

    sb = sandbox_factory(seed="demo", partners=5, leads=5, random_seed=3)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshake; nobody ever answers
    try:
        port = silent.getsockname()[1]
        started = time.monotonic()
        got, findings, err = _validated(sb, tmp_path, capsys, f'[stream]\npubsub_url = "127.0.0.1:{port}"\n')
        took = time.monotonic() - started
    finally:
        silent.close()
    [said] = _stream(findings)
    assert said["key"] == "stream.pubsub_url" and said["severity"] == "warning" and got == 0, said
    assert f"did not answer in {PUBSUB_CHECK_SECONDS:g} s" in said["message"], said
    assert "connection.json" in said["fix"] and "pubsub_url" in said["fix"], said
    assert PUBSUB_CHECK_SECONDS <= 10 and took < PUBSUB_CHECK_SECONDS + 10, f"validate took {took:.1f} s"
