"""Ctrl-C on `leadrouter once` (a person trying it in a terminal, as the README has them do):
the first finishes the batch in flight and starts no other job, exit 0; a second stops at
once, exit 130, saying why a rerun is safe. Never a KeyboardInterrupt traceback."""
from __future__ import annotations

import json
import signal
import time

import pytest

from jobs import cli
from tests.conftest import communicate_or_dump

from .conftest import SECRET_ENV, leadrouter
from .test_crash_e2e import outbox_counts, write_config, writing

pytestmark = [pytest.mark.e2e]


def _events(err: str) -> list[dict]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_ctrl_c_on_once_finishes_the_batch_and_a_second_stops_at_once(sandbox_factory, tmp_path, monkeypatch):
    # enough leads for several write-back batches: each Ctrl-C lands while one is on the wire
    sb = sandbox_factory(seed="demo", partners=20, leads=1500, random_seed=8)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    monkeypatch.setenv("LEADROUTER_LOG_LEVEL", "info")
    cfg = write_config(tmp_path, sb, stream="poll")
    # no writing of the rest before exiting (tests/jobs/test_once_sigterm_e2e.py): the second
    # `once` below needs writes left to be stopped in the middle of
    cfg.write_text(cfg.read_text() + "[schedule]\nstop_flush = 0\n")
    time.sleep(1.1)  # SOQL datetimes are whole seconds: let the seed fall before the run's start

    proc = writing(sb, cfg, "once", batches=1, latency_ms=1500)
    proc.send_signal(signal.SIGINT)
    _, err = communicate_or_dump(proc, 120)  # hung once under a CI run's load: its stacks if again
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    (stopping,) = [e for e in _events(err) if e["event"] == "stopping"]
    assert stopping["signal"] == "SIGINT" and "a second Ctrl-C stops at once" in stopping["note"], stopping
    assert outbox_counts(tmp_path).get("sent", 0) == 0, "the batch in flight was finished, not cut off"

    sb.faults.clear()
    proc = writing(sb, cfg, "once", batches=1, latency_ms=4000)
    time.sleep(1.0)  # the first batch is counted once answered: the next one is on the wire now
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    (said,) = [e for e in _events(err) if e["event"] == "stopped_now"]
    assert "safe to rerun" in said["note"], said
    sb.faults.clear()
    again = leadrouter(cfg, "once")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err[-3000:]
    assert outbox_counts(tmp_path).get("sent", 0) == 0


def test_ctrl_c_in_any_other_command_is_one_line_and_exit_130(monkeypatch, capsys):
    parser = cli.build_parser

    def interrupted_validate():
        p = parser()

        def stop(_args):
            raise KeyboardInterrupt

        p.set_defaults()  # the subcommand's own default is what main reads
        sub = next(a for a in p._actions if a.dest == "command")
        sub.choices["validate"].set_defaults(handler=stop)
        return p

    monkeypatch.setattr(cli, "build_parser", interrupted_validate)
    assert cli.main(["validate"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "leadrouter: interrupted (Ctrl-C); `leadrouter validate` did not finish"
