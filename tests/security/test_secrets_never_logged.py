"""No secret reaches any output: every log line (structlog and stdlib, debug included) and
everything written to the process's stdout/stderr during end-to-end runs of the loop.

Each auth method runs two cycles with notifications on, partner answers in between,
and an expired session in the middle (so the connector logs in again). The run's
access tokens, the client secret, refresh token, password and the private key — as
PEM or as any run of 24 characters of its base64 body — must appear nowhere.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest

from tests.badinput.harness import LogCapture

from .rig import METHODS, private_key_body, secret_env, write_config

# one worker runs the whole module: its org is started once
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("test_secrets_never_logged")]

KEY_RUN = 24  # this many consecutive characters of the key's base64 body count as a leak


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    import sandbox

    sb = sandbox.start(tmp_path_factory.mktemp("secrets") / "org", seed="demo", partners=12, leads=40,
                       autosave=None)
    yield sb
    sb.stop()


def leaks(text: str, sb, tokens: set[str]) -> list[str]:
    """What of the org's secrets `text` contains, described without repeating them."""
    found = []
    c = sb.connection
    for name in ("client_secret", "refresh_token", "password"):
        if c[name] and c[name] in text:
            found.append(name)
    for token in tokens:
        if token in text or token.split("!", 1)[-1] in text:
            found.append(f"access token {token[:6]}…")
    if "PRIVATE KEY-----" in text:
        found.append("PEM private key armour")
    body = private_key_body(c)
    for start in range(0, len(body) - KEY_RUN + 1):
        if body[start:start + KEY_RUN] in text:
            found.append(f"private key material (offset {start})")
            break
    if re.search(r"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}", text):
        found.append("a signed JWT (the login assertion)")
    return found


def _tokens(sb) -> set[str]:
    return set(sb.auth.sessions())


@pytest.mark.parametrize("method", METHODS)
def test_an_end_to_end_run_logs_no_secret(org, method, tmp_path, monkeypatch, capfd):
    from jobs.app import Connector
    from jobs.config import load
    from jobs.timeutil import CallableClock

    for var, value in secret_env(org.connection).items():
        monkeypatch.setenv(var, value)
    config = write_config(tmp_path, org, method)
    logs = LogCapture().start("debug")
    tokens: set[str] = set()
    try:
        cx = Connector.from_config(load(config), clock=CallableClock(org.clock.now))
        try:
            cx.run_cycle(raise_errors=False)
            tokens |= _tokens(org)
            org.simulator.step(org.clock.now() + timedelta(hours=2))
            org.clock.advance(timedelta(hours=2))
            org.auth.expire()  # the next call meets 401 and the connector logs in again
            cx.run_cycle(raise_errors=False)
            tokens |= _tokens(org) | {cx.client.sf.session_id}
        finally:
            cx.client.close()
            cx.store.dispose()
    finally:
        logs.stop()
    captured = capfd.readouterr()
    everything = logs.text + captured.out + captured.err
    assert "salesforce login ok" in logs.text, "the run really logged in (and logged about it)"
    assert len(tokens) >= 2, "two sessions: the first, and the one after expiry"
    assert leaks(everything, org, tokens) == []


def test_a_wrong_client_secret_is_reported_without_repeating_it(org, tmp_path, monkeypatch, capfd):
    from jobs.cli import main

    wrong = "Wrong-Secret-0123456789abcdef"
    monkeypatch.setenv("LR_SEC_CLIENT_SECRET", wrong)
    config = write_config(tmp_path, org, "client_credentials", notify=False)
    monkeypatch.chdir(tmp_path)
    try:
        code = main(["once", "--config", str(config)])
    except SystemExit as exit_:
        code = exit_.code
    captured = capfd.readouterr()
    said = captured.out + captured.err
    assert code not in (0, None)
    assert "invalid_client" in said or "client" in said.lower(), said
    assert wrong not in said and org.connection["client_secret"] not in said


def test_the_cli_prints_no_secret_in_a_whole_run(sandbox_factory, tmp_path):
    """`leadrouter once` as a separate process: its stdout and stderr, byte for byte."""
    org = sandbox_factory(seed="demo", partners=12, leads=40)
    config = write_config(tmp_path, org, "password", level="debug")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADROUTER_")}
    env.update(secret_env(org.connection))
    before = _tokens(org)
    done = subprocess.run([sys.executable, "-m", "jobs.cli", "once", "--config", str(config)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    tokens = _tokens(org) - before
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert '"job": "leads"' in output and "salesforce update" in output, "the run routed and wrote leads"
    assert tokens, "the run obtained a session"
    assert leaks(output, org, tokens) == []


def test_the_leak_detector_sees_every_kind_of_secret(org):
    """The checks above are only as good as this: each secret shape is caught."""
    c = org.connection
    body = private_key_body(c)
    token = "00D000000000001!" + "A" * 60
    samples = {
        "client_secret": f"login failed secret={c['client_secret']}",
        "refresh_token": f"refresh {c['refresh_token']}",
        "password": f"pw {c['password']}",
        "access token": f"Authorization: Bearer {token.split('!')[1]}",
        "PEM private key armour": "-----BEGIN PRIVATE KEY-----",
        "private key material": "key=" + body[100:130],
        "a signed JWT": "assertion=eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4eHh4eHh4eCJ9.c2lnbmF0dXJlc2lnbmF0dXJl",
    }
    for kind, text in samples.items():
        assert any(found.startswith(kind) for found in leaks(text, org, {token})), kind
    assert leaks("nothing secret here: 2026-11-23T18:00:00Z lead 00Q5g0000000001EAA", org, {token}) == []
