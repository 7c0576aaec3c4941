"""A second `leadrouter run` on the same state file while one runs, then Ctrl-C and SIGTERM:
each says what happened and what to do. The second names the instance that leads and says it
only waits as its standby (stop it if that was not meant); a stop says whether anything was
in flight and how it exits; the last line says the process stopped and what comes next."""
from __future__ import annotations

import json
import signal
import threading
import time

import pytest

from .conftest import SECRET_ENV, leadrouter
from .test_crash_e2e import write_config

pytestmark = [pytest.mark.e2e]


class Lines:
    """A process's JSON log lines as they come (stderr), read on a thread."""

    def __init__(self, proc) -> None:
        self.proc, self.lines, self.raw = proc, [], []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.raw.append(line)
            if line.startswith("{"):
                self.lines.append(json.loads(line))

    def wait_for(self, event: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [x for x in self.lines if x.get("event") == event]
            if found:
                return found[0]
            assert self.proc.poll() is None or self.lines, "".join(self.raw)[-3000:]
            time.sleep(0.05)
        raise AssertionError(f"no {event!r} line in time:\n" + "".join(self.raw)[-3000:])


def test_a_second_run_on_the_same_state_names_the_leader_and_each_stop_says_what_happens(
        sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(seed="demo", partners=5, leads=20, random_seed=3)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg = write_config(tmp_path, sb, stream="poll")
    monkeypatch.setenv("LEADROUTER_LOG_LEVEL", "info")  # the config says warning; these lines are info
    first = leadrouter(cfg, "run")
    a = Lines(first)
    a.wait_for("leader")
    a.wait_for("job_run")  # its heartbeat row is written before its first job runs
    second = leadrouter(cfg, "run")
    b = Lines(second)
    try:
        standby = b.wait_for("standby")
        assert f"pid {first.pid} on " in standby["leader"], standby
        assert "takes over if that one stops" in standby["note"] and "stop this one" in standby["note"], standby

        second.send_signal(signal.SIGINT)  # Ctrl-C on the one that only waits
        assert second.wait(timeout=30) == 0, "".join(b.raw)[-3000:]
        stopping = b.wait_for("stopping")
        assert stopping["role"] == "standby" and "nothing is in flight" in stopping["note"], stopping
        assert "`leadrouter run` starts it again" in b.wait_for("stopped")["note"]

        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 0, "".join(a.raw)[-3000:]
        stopping = a.wait_for("stopping")
        assert stopping["signal"] == "SIGTERM" and stopping["role"] == "leader", stopping
        assert "finishes its current batch" in stopping["note"] and "Ctrl-C" not in stopping["note"], stopping
        stopped = a.wait_for("stopped")
        assert stopped["exit_code"] == 0 and "a standby takes over" in stopped["note"], stopped
        assert not any("Traceback" in line for line in a.raw + b.raw)
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
