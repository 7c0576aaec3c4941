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
