"""`leadrouter run` as an operator meets it: a real subprocess, the sandbox org over
HTTPS, real HTTP to /healthz, /livez and /metrics, while what it depends on goes away
and comes back.

- Salesforce down at start: `run` waits (not ready, alive) instead of exiting 1, and
  leads once the org answers; `once` still exits 1.
- Salesforce gone while leading: /healthz 503 naming the failing runs, /livez 200, back
  to 200 by itself when the org answers again; SIGTERM exits 0 and frees the lock.
- PostgreSQL unreachable (a TCP proxy in front of the server, closed): the standby stays
  up (it exited 4), an instance started meanwhile waits (it exited 4), /livez stays 200,
  and one of them leads again by itself when the server answers.
"""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.jobs.conftest import SECRET_ENV
from tests.jobs.pg import temp_database
from tests.jobs.test_crash_e2e import leadrouter, write_config

pytestmark = [pytest.mark.reliability, pytest.mark.e2e, pytest.mark.xdist_group("reliability")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_config(tmp_path: Path, sb, port: int, state_url: str | None = None) -> Path:
    cfg = write_config(tmp_path, sb)
    text = cfg.read_text()
    if state_url:
        text = text.replace(f'url = "sqlite:///{tmp_path}/state.sqlite"', f'url = "{state_url}"')
        assert state_url in text
    cfg.write_text(text + f'\n[metrics]\nbind = "127.0.0.1:{port}"\n[stream]\nmode = "poll"\n'
                          "[schedule]\nleads = 1\noffers = 1\noutbox = 1\nmisfire_grace = 5\n")
    return cfg


def get(port: int, path: str) -> tuple[int, dict]:
    try:
        r = requests.get(f"http://127.0.0.1:{port}{path}", timeout=5)
    except requests.ConnectionError:
        return 0, {}
    if r.headers.get("Content-Type") == "application/json":
        return r.status_code, r.json()
    return r.status_code, {"text": r.text}


def until(what: str, predicate, proc: subprocess.Popen | None = None, timeout: float = 60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"leadrouter run exited {proc.returncode} while waiting for {what}:\n{err[-3000:]}")
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def stop(proc: subprocess.Popen, timeout: float = 60) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def sample(text: str, name: str, **labels: str) -> float | None:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


def test_run_waits_for_salesforce_and_says_so_then_leads_and_goes_unready_while_it_is_gone(
        sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(seed="demo", partners=20, leads=40, random_seed=7)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    org_dir, sf_port, port = sb.data_dir, sb.port, free_port()
    cfg = service_config(tmp_path, sb, port)
    sb.stop()  # Salesforce is down before the service starts

    once = leadrouter(cfg, "once", "--init")
    _, err = once.communicate(timeout=120)
    assert once.returncode == 1 and "Salesforce did not answer" in err, err  # cron runs it again

    run = leadrouter(cfg, "run", "--init")
    code, body = until("/healthz to say what it waits for",
                       lambda: (lambda r: r if "waiting" in str(r[1].get("problems")) else None)(get(port, "/healthz")),
                       run)
    assert code == 503 and body["status"] == "starting" and body["ready"] is False, body
    assert any(p.startswith("waiting for salesforce") for p in body["problems"]), body
    assert get(port, "/livez")[0] == 200  # a liveness probe must not restart a service that waits
    time.sleep(6)  # past the first retry: still waiting, not exited
    assert run.poll() is None
    assert sample(get(port, "/metrics")[1]["text"], "leadrouter_ready") == 0.0

    sb = sandbox_factory(org_dir, port=sf_port)  # the org answers again, on the same address
    back = time.monotonic()
    until("the service to lead and be ready",
          lambda: (lambda r: r[0] == 200 and r[1]["role"] == "leader")(get(port, "/healthz")), run, timeout=60)
    code, body = get(port, "/healthz")
    assert body["role"] == "leader" and body["problems"] == [], body
    waited = time.monotonic() - back

    sb.stop()  # Salesforce goes away under a running leader
    code, body = until("/healthz to say the leader's runs fail",
                       lambda: (lambda r: r if r[0] == 503 else None)(get(port, "/healthz")), run, timeout=60)
    assert body["role"] == "leader" and body["state_db"] == {"ok": True}, body
    assert "job runs failed" in body["problems"][0], body
    assert get(port, "/livez")[0] == 200
    text = get(port, "/metrics")[1]["text"]
    assert sample(text, "leadrouter_ready") == 0.0
    failing = [line for line in text.splitlines() if line.startswith("leadrouter_job_last_run_failed")]
    assert any(line.endswith(" 1.0") for line in failing), failing

    sb = sandbox_factory(org_dir, port=sf_port)
    back = time.monotonic()
    until("the leader to be ready again by itself", lambda: get(port, "/healthz")[0] == 200, run, timeout=60)
    recovered = time.monotonic() - back

    code, err = stop(run)
    assert code == 0, err
    (tmp_path / "run.err").write_text(err)
    assert "Traceback" not in err, f"see {tmp_path / 'run.err'}"
    # the lock is free: a `once` now leads (3 would be "another instance holds the lock")
    after = leadrouter(cfg, "once")
    after.communicate(timeout=120)
    assert after.returncode == 0
    print(json.dumps({"ready_after_salesforce_came_back_s": round(waited, 2),
                      "ready_again_after_outage_s": round(recovered, 2)}), file=sys.stderr)


def test_a_standby_that_takes_over_while_salesforce_is_down_routes_once_it_is_back(
        sandbox_factory, tmp_path, monkeypatch):
    """Failover in the middle of a Salesforce outage: the new leader's first jobs fail, it
    says so (leader, not ready), and it routes once the org answers. (Before, its /healthz
    said 200 "ok" throughout. A failed long-interval job now comes again after one poll
    interval: tests/jobs/test_service_retry.py.)"""
    sb = sandbox_factory(seed="demo", partners=20, leads=40, random_seed=9)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    org_dir, sf_port = sb.data_dir, sb.port
    ports = [free_port(), free_port()]
    cfgs = []
    for i, port in enumerate(ports):
        (tmp_path / f"i{i}").mkdir()
        cfgs.append(service_config(tmp_path / f"i{i}", sb, port, state_url=f"sqlite:///{tmp_path}/state.sqlite"))
    a = leadrouter(cfgs[0], "run")
    until("a to lead", lambda: get(ports[0], "/healthz")[1].get("role") == "leader", a)
    b = leadrouter(cfgs[1], "run")
    until("b to stand by", lambda: get(ports[1], "/healthz")[1].get("role") == "standby", b)

    sb.stop()
    code, err = stop(a)  # the leader goes away during the outage: b takes over without Salesforce
    assert code == 0, err[-3000:]
    until("b to lead, not ready", lambda: (lambda r: r[0] == 503 and r[1]["role"] == "leader")(
        get(ports[1], "/healthz")), b)

    sb = sandbox_factory(org_dir, port=sf_port)
    back = time.monotonic()
    until("b to route again", lambda: get(ports[1], "/healthz")[0] == 200, b, timeout=60)
    print(json.dumps({"ready_after_failover_in_outage_s": round(time.monotonic() - back, 2)}), file=sys.stderr)
    code, err = stop(b)
    assert code == 0, err[-3000:]


@pytest.mark.postgres
def test_a_database_server_that_refuses_the_configured_database_is_not_waited_for(sandbox_factory, tmp_path,
                                                                                  monkeypatch):
    """Waiting is for a server that does not answer; one that answers "no such database"
    (or role, or password) is a configuration to fix: exit 4 at once, as `once` does."""
    sb = sandbox_factory(seed="demo", partners=5, leads=5, random_seed=10)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg = service_config(tmp_path, sb, free_port(),
                         state_url="postgresql+psycopg://postgres@127.0.0.1:5432/lr_test_no_such_database")
    run = leadrouter(cfg, "run")
    try:
        _, err = run.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        run.kill()
        _, err = run.communicate()
        raise AssertionError("`run` waited for a database the server says does not exist:\n" + err[-2000:])
    assert run.returncode == 4 and "does not exist" in err, err[-2000:]


def test_sigterm_as_the_leader_starts_runs_no_queued_job_and_frees_the_lock(sandbox_factory, tmp_path, monkeypatch):
    """SIGTERM while the new leader settles the outbox: it used to start the scheduler
    anyway, and every job due at start (all of them) ran after the signal, API calls and
    all, before the process exited. Now only what was in flight finishes."""
    from sqlalchemy import create_engine, text

    sb = sandbox_factory(seed="demo", partners=20, leads=200, random_seed=11)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    port = free_port()
    cfg = service_config(tmp_path, sb, port)
    run = leadrouter(cfg, "run", "--init")
    until("the leader", lambda: get(port, "/healthz")[1].get("role") == "leader", run, timeout=90)
    code, err = stop(run)
    assert code == 0, err[-3000:]
    engine = create_engine(f"sqlite:///{tmp_path}/state.sqlite")
    with engine.connect() as conn:
        jobs = [r[0] for r in conn.execute(text("SELECT job FROM job_runs ORDER BY id"))]
    engine.dispose()
    assert jobs == ["outbox", "sync_partners"][:len(jobs)], jobs  # the leader's settling, nothing queued after
    after = leadrouter(cfg, "once")  # the lock is free
    after.communicate(timeout=120)
    assert after.returncode == 0


@pytest.mark.postgres
def test_a_database_that_answers_but_takes_no_write_is_not_ready(sandbox_factory, tmp_path, monkeypatch):
    """`SELECT 1` answering is not enough: with the database read-only nobody can lead,
    and /healthz said 200 "ok" (the heartbeat's failure went to the log only)."""
    from sqlalchemy import create_engine, text

    sb = sandbox_factory(seed="demo", partners=5, leads=5, random_seed=12)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    with temp_database() as url:
        port = free_port()
        run = leadrouter(service_config(tmp_path, sb, port, state_url=url), "run")
        until("the leader, ready", lambda: (lambda r: r[0] == 200 and r[1]["role"] == "leader")(
            get(port, "/healthz")), run, timeout=90)
        name = url.rsplit("/", 1)[1]
        admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"), {"d": name})
        admin.dispose()
        code, body = until("/healthz to say the database takes no write", lambda: (
            lambda r: r if r[0] == 503 else None)(get(port, "/healthz")), run, timeout=60)
        assert body["state_db"] == {"ok": True}, body  # it answers reads
        assert any("refused a write" in p for p in body["problems"]), body
        assert get(port, "/livez")[0] == 200
        code, err = stop(run)
        assert code == 0, err[-3000:]


class Proxy:
    """127.0.0.1:<port> -> PostgreSQL; `close()` cuts every connection, as a server
    going away (or a network partition) does; `open()` listens again on the same port."""

    def __init__(self, target: int, port: int) -> None:
        self.target, self.port = target, port
        self.conns: list[socket.socket] = []
        self.srv: socket.socket | None = None

    def open(self) -> None:
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(64)
        self.srv = srv
        threading.Thread(target=self._accept, args=(srv,), daemon=True).start()

    def _accept(self, srv: socket.socket) -> None:
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                c.close()
                continue
            self.conns += [c, u]
            threading.Thread(target=self._pipe, args=(c, u), daemon=True).start()
            threading.Thread(target=self._pipe, args=(u, c), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        if self.srv is not None:
            self.srv.close()
            self.srv = None
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.conns = []


@pytest.mark.postgres
def test_the_database_server_going_away_is_waited_out_by_leader_standby_and_a_new_start(
        sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(seed="demo", partners=20, leads=40, random_seed=8)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    with temp_database() as url:
        proxy = Proxy(5432, free_port())
        proxy.open()
        via = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        ports = [free_port() for _ in range(3)]
        cfgs = []
        for i, port in enumerate(ports):
            (tmp_path / f"i{i}").mkdir()
            cfgs.append(service_config(tmp_path / f"i{i}", sb, port, state_url=via))
        a = leadrouter(cfgs[0], "run")
        until("a to lead", lambda: get(ports[0], "/healthz")[1].get("role") == "leader", a)
        b = leadrouter(cfgs[1], "run")
        until("b to stand by, ready", lambda: (lambda r: r[0] == 200 and r[1]["role"] == "standby")(
            get(ports[1], "/healthz")), b)

        proxy.close()  # the database server goes away
        cut = time.monotonic()
        for port, proc in zip(ports[:2], (a, b)):
            until("/healthz 503 while the database is away", lambda: get(port, "/healthz")[0] == 503, proc)
        time.sleep(12)  # several standby rounds, on a pooled connection the server dropped (exit 4 came in 5-14 s)
        for port, proc in zip(ports[:2], (a, b)):
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert get(port, "/livez")[0] == 200  # nothing for a liveness probe to restart
        c = leadrouter(cfgs[2], "run")  # an instance starting meanwhile waits too
        code, body = until("c to wait for the database",
                           lambda: (lambda r: r if "waiting" in str(r[1].get("problems")) else None)(get(ports[2], "/healthz")),
                           c)
        assert code == 503 and body["problems"][0].startswith("waiting for state database"), body
        assert get(ports[2], "/livez")[0] == 200

        proxy.open()
        back = time.monotonic()
        until("one leader again", lambda: sum(get(p, "/healthz")[1].get("role") == "leader" for p in ports) == 1,
              timeout=90)
        until("all three ready", lambda: all(get(p, "/healthz")[0] == 200 for p in ports), timeout=90)
        recovered = time.monotonic() - back
        roles = sorted(get(p, "/healthz")[1]["role"] for p in ports)
        assert roles == ["leader", "standby", "standby"], roles

        # SIGTERM the leader: exit 0, and a standby takes over
        leader = next(proc for p, proc in zip(ports, (a, b, c)) if get(p, "/healthz")[1]["role"] == "leader")
        code, err = stop(leader)
        assert code == 0, err[-3000:]
        # a job the outage cut short is one JSON line, not the scheduler's plain-text traceback
        assert "Traceback" not in err and "raised an exception" not in err, err[max(0, err.find("Traceback") - 1500):][:6000]
        rest = [(p, proc) for p, proc in zip(ports, (a, b, c)) if proc is not leader]
        until("a standby to take over", lambda: any(get(p, "/healthz")[1].get("role") == "leader" for p, _ in rest),
              timeout=30)
        for _, proc in rest:
            code, err = stop(proc)
            assert code == 0, err
        proxy.close()
        print(json.dumps({"outage_s": round(back - cut, 2), "ready_again_s": round(recovered, 2)}), file=sys.stderr)
