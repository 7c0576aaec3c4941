"""`leadrouter once | status`: exit codes and output an operator can act on."""
from __future__ import annotations

import json

import pytest

from jobs.cli import main
from jobs.leader import lock_for


def config(tmp_path, extra: str = "") -> str:
    p = tmp_path / "leadrouter.toml"
    p.write_text(f'[state]\nurl = "sqlite:///{tmp_path}/state.sqlite"\n[log]\nformat = "json"\n{extra}')
    return str(p)


def test_status_json_reports_an_empty_state(tmp_path, capsys):
    from jobs.state import Store

    Store(f"sqlite:///{tmp_path}/state.sqlite").dispose()  # as the first `once --init` leaves it
    assert main(["status", "--json", "--config", config(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["schema_version"] >= 1
    assert report["offers"] == {} and report["outbox"] == {} and report["jobs"] == []


def test_status_names_the_org_and_an_unsettled_bulk_job(tmp_path, capsys):
    from datetime import datetime, timezone

    from jobs.state import Store
    from jobs.state import orgs
    from jobs.state.schema import bulk_jobs

    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    at = datetime(2026, 3, 31, 23, 30, tzinfo=timezone.utc)
    with store.begin() as conn:
        orgs.claim(conn, "default", "00D5g00000ABCDEFGH", "the test")
        conn.execute(bulk_jobs.insert().values(upload="u-1", job_id="7505g00000XYZ12AAA", sobject="Lead",
                                               state="running", entries=[1, 2, 3], created_at=at, updated_at=at))
        conn.execute(bulk_jobs.insert().values(upload="u-0", job_id="7505g00000XYZ11AAA", sobject="Lead",
                                               state="settled", entries=[4], created_at=at, updated_at=at))
    store.dispose()
    assert main(["status", "--json", "--config", config(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["org"]["organization_id"] == "00D5g00000ABCDEFGH"
    assert [(b["job_id"], b["state"], b["entries"]) for b in report["bulk_jobs"]] == [("7505g00000XYZ12AAA", "running", 3)]
    assert main(["status", "--config", config(tmp_path)]) == 0
    text = " ".join(capsys.readouterr().out.split())  # (lines wrap at 80 columns)
    assert "Org default; Organization Id 00D5g00000ABCDEFGH" in text
    assert "Bulk job 7505g00000XYZ12AAA (Lead, 3 leads): running since 2026-03-31 23:30 UTC" in text
    assert "XYZ11" not in text  # a settled job is history, not status


def test_once_does_nothing_while_another_instance_leads(tmp_path, capsys):
    cfg = config(tmp_path)
    leader = lock_for(f"sqlite:///{tmp_path}/state.sqlite")
    assert leader.try_acquire()
    try:
        assert main(["once", "--config", cfg]) == 3
    finally:
        leader.release()


def test_a_config_typo_exits_2_naming_the_line(tmp_path, capsys):
    cfg = config(tmp_path, "[offers]\nreminder_hours = 2\n")
    with pytest.raises(SystemExit) as e:
        main(["status", "--config", cfg])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"{cfg}:6" in err and "did you mean 'offers.reminder_before_hours'" in err


def test_once_without_a_salesforce_section_says_what_to_add(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["once", "--config", config(tmp_path)])
    assert e.value.code == 2
    assert "no [salesforce] section" in capsys.readouterr().err


def test_salesforce_not_answering_exits_1_to_run_again_and_a_wrong_login_exits_2(sandbox_factory, tmp_path, capsys):
    """An outage is not a mistake in the file: a scheduler runs `once` again on exit 1;
    exit 2 is for what a person must fix (here: a user the org does not know)."""
    from jobs.ops.demo import DEFAULT_RULES, write_config

    sb = sandbox_factory(seed="demo", partners=5, leads=5, random_seed=1)
    cfg = write_config(tmp_path, sb.connection, DEFAULT_RULES)
    text = cfg.read_text()
    wrong_user = tmp_path / "wrong-user.toml"
    wrong_user.write_text(text.replace(f'username = "{sb.connection["username"]}"', 'username = "nobody@example.com"'))
    with pytest.raises(SystemExit) as e:
        main(["once", "--config", str(wrong_user)])
    assert e.value.code == 2
    assert "configuration problem" in capsys.readouterr().err

    sb.stop()  # nothing listens on the org's port any more
    with pytest.raises(SystemExit) as e:
        main(["once", "--config", str(cfg)])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert "Salesforce did not answer" in err and sb.connection["login_url"] in err and "Traceback" not in err


def test_once_with_its_postgresql_state_unreachable_says_so_and_exits_4_not_3(tmp_path, capsys):
    """A database that does not answer is not "another instance holds the lock"."""
    p = tmp_path / "leadrouter.toml"
    p.write_text('[state]\nurl = "postgresql+psycopg://postgres:s3cret@127.0.0.1:9/leadrouter"\n[log]\nformat = "json"\n')
    assert main(["once", "--config", str(p)]) == 4
    said = capsys.readouterr()
    assert "cannot reach the state database" in said.err and "127.0.0.1:9" in said.err
    assert "s3cret" not in said.err + said.out and "not_leader" not in said.out + said.err


def test_report_and_undo_tell_an_unreachable_state_from_a_missing_one(tmp_path, capsys):
    down = tmp_path / "down.toml"
    down.write_text('[state]\nurl = "postgresql+psycopg://postgres@127.0.0.1:9/leadrouter"\n')
    missing = tmp_path / "missing.toml"
    missing.write_text(f'[state]\nurl = "sqlite:///{tmp_path}/none.sqlite"\n')
    assert main(["report", "--config", str(down), "--out", str(tmp_path / "r.html")]) == 4
    err = capsys.readouterr().err
    assert "cannot reach the state database" in err and "no state database" not in err
    assert main(["report", "--config", str(missing), "--out", str(tmp_path / "r.html")]) == 4
    assert "no state database at" in capsys.readouterr().err
    assert main(["undo", "--run", "r1", "--config", str(down)]) == 4
    assert "cannot reach the state database" in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite").exists(), "asking why creates nothing"


@pytest.mark.parametrize("command", [["status"], ["report", "--out", "r.html"], ["undo", "--run", "r1"]])
def test_before_the_first_run_every_command_reading_the_state_exits_4_naming_the_first_run(tmp_path, command, capsys,
                                                                                           monkeypatch):
    """`status` exited 4 before the first run, `report` 1 and `undo` 2 for the same missing
    state: a wrapper script could not tell "nothing yet" from a failed job or a typo."""
    from jobs.commands import EXIT_STATE

    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "missing.toml"
    missing.write_text(f'[state]\nurl = "sqlite:///{tmp_path}/none.sqlite"\n[log]\nformat = "json"\n')
    assert main([*command, "--config", str(missing)]) == EXIT_STATE
    err = capsys.readouterr().err
    assert f"no state database at {tmp_path}/none.sqlite" in err and "--init" in err, err
    assert not (tmp_path / "none.sqlite").exists()


@pytest.mark.parametrize("command", [["status"], ["report", "--out", "r.html"], ["undo", "--run", "r1"]])
def test_every_command_reading_the_state_exits_4_when_its_server_does_not_answer(tmp_path, command, capsys,
                                                                                 monkeypatch):
    from jobs.commands import EXIT_STATE

    monkeypatch.chdir(tmp_path)
    down = tmp_path / "down.toml"
    down.write_text('[state]\nurl = "postgresql+psycopg://postgres@127.0.0.1:9/leadrouter"\n[log]\nformat = "json"\n')
    assert main([*command, "--config", str(down)]) == EXIT_STATE
    err = capsys.readouterr().err
    assert "127.0.0.1:9" in err and "Traceback" not in err, err


def test_the_readme_lists_every_exit_code_the_cli_uses():
    """The codes a cron wrapper or a CI step acts on are documented in one table, each with
    what it means and what to do."""
    import re
    from pathlib import Path

    from jobs import commands, extras, service

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("### Exit codes", 1)[1].split("\n\n", 2)[1]
    documented = {int(m) for m in re.findall(r"^\| `?(\d+)`? \|", table, re.M)}
    used = {0, commands.EXIT_JOB_FAILED, commands.EXIT_CONFIG, commands.EXIT_NOT_LEADER, commands.EXIT_STATE,
            extras.EXIT_MISSING_EXTRA, service.EXIT_INTERRUPTED}
    assert documented == used, (documented, used)


def test_once_tells_the_person_running_it_what_the_run_did_on_stdout(sandbox_factory, tmp_path, capsys):
    """`once` by hand printed nothing on stdout: the log (stderr) was all there was. A short
    summary says what the run did; `--json` gives it as one object, as `status --json` does;
    the log stays on stderr and the exit code is the run's, as before."""
    from jobs.ops.demo import DEFAULT_RULES, write_config

    sb = sandbox_factory(seed="demo", partners=5, leads=20, random_seed=1)
    cfg = write_config(tmp_path, sb.connection, DEFAULT_RULES)
    cfg.write_text(cfg.read_text().replace('level = "warning"', 'level = "info"\nformat = "json"')
                   .replace('pubsub_url = ', 'mode = "poll"\npubsub_url = '))
    assert main(["once", "--init", "--config", str(cfg)]) == 0
    said = capsys.readouterr()
    text = " ".join(said.out.split())
    [line] = [x for x in said.out.splitlines() if "new leads routed" in x]
    routed = {k: int(v) for v, k in __import__("re").findall(r"(\d+) (offered|pooled|escalated)", line)}
    assert sum(routed.values()) == 20 and routed["offered"] > 0, said.out  # every seeded lead, by how
    assert "leads read 20" in text and "API calls" in text and "errors none" in text, said.out
    assert "reminders" in text and "answers read" in text, said.out
    assert '"event": "job_run"' in said.err and "job_run" not in said.out  # the log stays on stderr

    from datetime import timedelta

    from sandbox.seed import add_leads

    add_leads(sb.org, 1, random_seed=2)  # as a web form brings one
    sb.clock.advance(timedelta(minutes=5))
    assert main(["once", "--json", "--config", str(cfg)]) == 0
    said = capsys.readouterr()
    [line] = said.out.splitlines()  # one record for a log pipeline, as the CronJob runs it
    report = json.loads(line)
    assert report["leads_read"] >= 1 and report["api_calls"] > 0 and report["errors"] == [], report
    assert sum(report["routed"].values()) == 1, report
    assert {j["job"] for j in report["jobs"]} >= {"leads", "expire", "remind", "outbox"}, report


SUMMARY_KEYS = {"jobs_run", "leads_read", "routed", "left_alone", "moved_on", "answers", "lapsed", "reminders",
                "writes_confirmed", "writes_refused", "api_calls", "seconds", "errors", "jobs"}


def test_once_says_how_many_leads_read_were_only_its_own_writes_read_back(sandbox_factory, tmp_path, capsys):
    """The lead stream reads back what the connector wrote (every write moves SystemModstamp):
    the next `once` counted those echoes as leads read, as if the org had been busy. It says
    how many of the leads read were its own writes read back; `--json` keeps its keys
    (`leads_read` still counts every lead read) and adds `own_writes_read`."""
    from datetime import timedelta

    from jobs.ops.demo import DEFAULT_RULES, write_config
    from sandbox.seed import add_leads

    sb = sandbox_factory(seed="demo", partners=5, leads=20, random_seed=1)
    cfg = write_config(tmp_path, sb.connection, DEFAULT_RULES)
    cfg.write_text(cfg.read_text().replace('pubsub_url = ', 'mode = "poll"\npubsub_url = '))
    assert main(["once", "--init", "--json", "--config", str(cfg)]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["leads_read"] == 20 and first["own_writes_read"] == 0, first
    written = first["writes_confirmed"]
    assert written >= 20, first

    add_leads(sb.org, 1, random_seed=2)  # as a web form brings one
    sb.clock.advance(timedelta(minutes=5))
    assert main(["once", "--json", "--config", str(cfg)]) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[0])
    assert SUMMARY_KEYS <= set(report), SUMMARY_KEYS - set(report)
    assert report["own_writes_read"] == 20, report  # the first run's writes, each lead once
    assert report["leads_read"] == 21, report  # and the new lead: every lead read, as before
    assert sum(report["routed"].values()) == 1, report

    sb.clock.advance(timedelta(minutes=5))
    assert main(["once", "--config", str(cfg)]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "leads read 1 (1 of them our own writes read back)" in text, text
