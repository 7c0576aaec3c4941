"""Driving a sandbox from outside (/__sandbox/) and getting the same org back after a restart."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import communicate_or_dump, https_session
from tests.sandbox.raw import Raw


@pytest.fixture
def admin(sandbox):
    session = https_session(sandbox.connection["ca_file"])
    base = sandbox.connection["admin_url"]

    def call(method: str, path: str = "", **kwargs):
        return session.request(method, base + path, timeout=10, **kwargs)

    yield call
    session.close()


def test_connection_json_has_the_six_keys_and_the_conveniences(sandbox):
    written = json.loads((sandbox.data_dir / "connection.json").read_text())
    assert written == sandbox.connection
    for key in ("instance_url", "login_url", "ca_file", "client_id", "client_secret", "api_version"):
        assert written[key]
    assert written["instance_url"].startswith("https://127.0.0.1:")
    assert written["username"] == "integration@leadrouter.sandbox"
    assert Path(written["private_key_file"]).read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert oct((sandbox.data_dir / "connection.json").stat().st_mode & 0o777) == "0o600"


def test_admin_counters_read_and_reset_without_counting_themselves(sandbox, sf, admin):
    sf.limits()
    assert admin("GET", "/counters").json()["endpoints"] == {"GET limits": 1, "POST services/oauth2/token": 1}
    assert admin("POST", "/counters/reset").json()["requests"] == 0
    assert admin("GET", "/counters").json()["requests"] == 0


def test_admin_clock_advance_moves_org_time(sandbox, admin):
    before = sandbox.clock.now()
    assert admin("POST", "/clock/advance", json={"hours": 2}).status_code == 200
    assert (sandbox.clock.now() - before).total_seconds() >= 7200
    assert admin("POST", "/clock/advance", json={"hours": "soon"}).status_code == 400


def test_admin_faults_limits_and_notifications(sandbox, sf, admin):
    assert admin("POST", "/faults", json={"plan": [{"kind": "503", "count": 1}]}).json()["planned"][0]["kind"] == "503"
    raw = Raw(sandbox)
    try:
        assert raw.get("limits").status_code == 503
        assert raw.get("limits").status_code == 200
        r = admin("POST", "/faults", json={"profile": "nope"})
        assert r.status_code == 400 and "unknown fault profile 'nope'" in r.json()[0]["message"]
        admin("POST", "/limits", json={"max": 5, "used": 5})
        assert raw.get("limits").status_code == 403
    finally:
        raw.close()
    assert admin("GET", "/notifications").json() == {"notifications": []}


def test_restarted_sandbox_is_the_same_org_with_the_same_ca_and_credentials(sandbox_factory, sf_for, tmp_path):
    data = tmp_path / "org"
    first = sandbox_factory(data)
    lead_id = sf_for(first).Lead.create({"LastName": "Kept", "Company": "Across restarts"})["id"]
    connection = dict(first.connection)
    first.stop()
    second = sandbox_factory(data)
    for key in ("ca_file", "client_id", "client_secret", "password", "refresh_token", "private_key_file"):
        assert second.connection[key] == connection[key]
    sf = sf_for(second)  # trusts the CA file written by the first run
    assert sf.Lead.get(lead_id)["LastName"] == "Kept"
    assert sf.Lead.create({"LastName": "Next", "Company": "C"})["id"] != lead_id


def test_a_restarted_sandbox_counts_the_calls_of_the_last_24_hours_it_was_running(sandbox_factory, sf_for, tmp_path):
    data = tmp_path / "org"
    first = sandbox_factory(data, token_ttl=3 * 86400)
    sf = sf_for(first)
    sf.limits()
    first.clock.advance(timedelta(hours=20))
    sf.limits()
    first.stop()
    second = sandbox_factory(data, token_ttl=3 * 86400)
    assert second.limit.used == first.limit.used >= 2
    second.clock.advance(timedelta(hours=4, minutes=1))
    assert second.limit.used == first.limit.used - 1  # the call made 24 hours ago no longer counts


def test_sessions_survive_a_restart(sandbox_factory, tmp_path):
    data = tmp_path / "org"
    first = sandbox_factory(data)
    raw = Raw(first)
    token = raw.token
    raw.close()
    first.stop()
    second = sandbox_factory(data)
    raw = Raw(second)
    raw.token = token
    try:
        assert raw.get("limits").status_code == 200
    finally:
        raw.close()


def test_leadrouter_sandbox_serve_writes_connection_json_and_stops_on_sigterm(tmp_path):
    data = tmp_path / "served"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "sandbox", "serve", "--data", str(data), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not (data / "connection.json").exists() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.05)
        connection = json.loads((data / "connection.json").read_text())
        raw_session = https_session(connection["ca_file"])
        assert raw_session.get(connection["instance_url"] + "/services/data", timeout=10).status_code == 200
        raw_session.close()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()
    printed = json.loads(out.decode())
    assert printed["instance_url"] == connection["instance_url"]
    assert printed["client_secret"] != connection["client_secret"]  # secrets stay in the file
    assert b"sandbox ready" in err and b"sandbox stopped" in err
    assert (data / "org.pickle").exists()


def _serve_once(data: Path) -> dict:
    """Start `leadrouter sandbox serve` on DATA until it is ready, then stop it cleanly."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "sandbox", "serve", "--data", str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"},
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    try:
        for line in proc.stderr:  # ends if the process dies
            if b"sandbox ready" in line:
                break
        connection = json.loads((data / "connection.json").read_text())
        proc.send_signal(signal.SIGTERM)
        communicate_or_dump(proc, 20)  # hung once under a CI run's load: its stacks if again
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    return connection


def test_a_reopened_org_is_served_on_its_previous_port_so_configs_keep_working(tmp_path):
    data = tmp_path / "kept"
    first = _serve_once(data)
    again = _serve_once(data)
    assert again["instance_url"] == first["instance_url"]
    # Change Data Capture too: `leadrouter run` with the demo's config finds the Pub/Sub API again
    assert again["pubsub_url"] == first["pubsub_url"]


def test_the_demo_config_names_the_sandbox_pub_sub_api(tmp_path):
    from jobs.config import load
    from jobs.ops.demo import DEFAULT_RULES, write_config

    data = tmp_path / "kept"
    connection = _serve_once(data)
    loaded = load(write_config(tmp_path, connection, DEFAULT_RULES))
    assert loaded.settings.stream.pubsub_url == connection["pubsub_url"]


def test_unknown_seed_is_refused_with_the_known_ones(tmp_path):
    import sandbox as sandbox_pkg

    with pytest.raises(ValueError, match="unknown seed 'huge'; the sandbox knows: demo"):
        sandbox_pkg.start(tmp_path / "org", seed="huge", autosave=None)


def test_a_taken_port_fails_the_start_and_a_corrupt_save_names_the_file(sandbox, tmp_path):
    import sandbox as sandbox_pkg

    with pytest.raises(OSError):
        sandbox_pkg.start(tmp_path / "other", port=sandbox.port, autosave=None)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "org.pickle").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="org.pickle: cannot read the saved sandbox org .* delete the file"):
        sandbox_pkg.start(broken, autosave=None)


def _served_clock(data: Path, *extra: str) -> datetime:
    """The org's now as a reopened `sandbox serve` reports it."""
    import requests

    proc = subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "sandbox", "serve", "--data", str(data), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    try:
        for line in proc.stderr:
            if b"sandbox ready" in line:
                break
        connection = json.loads((data / "connection.json").read_text())
        with requests.Session() as s:
            s.verify, s.trust_env = connection["ca_file"], False
            now = s.get(connection["admin_url"] + "/clock", timeout=10).json()["now"]
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return datetime.fromisoformat(now.replace("Z", "+00:00").replace("+0000", "+00:00"))


def test_a_kept_org_reopens_at_real_time_but_its_clock_never_goes_back(tmp_path):
    """A demo moves the org's clock days ahead; reopened, the org keeps that lead (its clients'
    read watermarks are there: leads created at real time would be stamped before them and never
    read), while an org behind real time runs on real time again unless told to keep its clock."""
    import sandbox as sandbox_pkg

    host = datetime.now(timezone.utc)  # the property under test is "the host's real time"
    ahead_dir = tmp_path / "ahead"
    sb = sandbox_pkg.start(ahead_dir, autosave=None)
    sb.save()
    sb.clock.advance(timedelta(days=2))  # no record changes after the last save: the clock alone
    ahead = sb.clock.now()
    sb.stop()
    assert _served_clock(ahead_dir) >= ahead
    assert abs(_served_clock(ahead_dir, "--keep-clock") - ahead) < timedelta(minutes=5)

    behind_dir = tmp_path / "behind"
    sandbox_pkg.start(behind_dir, autosave=None, clock_offset=timedelta(days=-3)).stop()
    assert _served_clock(behind_dir, "--keep-clock") < host - timedelta(days=2)
    assert abs(_served_clock(behind_dir) - host) < timedelta(minutes=5)
