"""Arguments ops type by hand: an output path that cannot be written, a limit below one.
Each is a one-line message naming the argument, exit 2, and no file half-written."""
from __future__ import annotations

import pytest

from jobs.cli import main


def said_by(args, capsys) -> tuple[int, str]:
    try:
        code = main(args)
    except SystemExit as e:
        code = e.code
    except Exception as crash:  # noqa: BLE001 - the point: a message, not a crash
        pytest.fail(f"`leadrouter {args[0]}` crashed: {type(crash).__name__}: {crash}")
    out = capsys.readouterr()
    return code, out.err + out.out


@pytest.fixture(scope="module")
def with_state(tmp_path_factory, seeded_org):
    """One routed cycle, so `report` has a state database to read."""
    import shutil

    from jobs.ops.demo import DEFAULT_RULES, write_config

    directory = tmp_path_factory.mktemp("hostile-args")
    shutil.copy(DEFAULT_RULES, directory / "rules.toml")
    config = write_config(directory, seeded_org.connection, directory / "rules.toml")
    assert main(["once", "--init", "--config", str(config)]) == 0
    return config


@pytest.mark.parametrize("command", [["dry-run", "--format", "csv"], ["report"]])
@pytest.mark.parametrize("where", ["missing-dir/out.txt", "."])
def test_an_output_path_that_cannot_be_written_is_named(with_state, tmp_path, capsys, command, where):
    target = tmp_path / where
    code, said = said_by([*command, "--out", str(target), "--config", str(with_state)], capsys)
    assert code == 2, said
    assert str(target) in said and "--out" in said, said
    assert not (tmp_path / "missing-dir").exists()


@pytest.mark.parametrize("limit", ["0", "-1", "ten"])
def test_a_limit_below_one_is_refused_before_anything_is_read(with_state, capsys, limit):
    code, said = said_by(["dry-run", "--limit", limit, "--config", str(with_state)], capsys)
    assert code == 2 and "--limit" in said and "MALFORMED_QUERY" not in said, said


@pytest.mark.parametrize("args, named", [
    (["--faults", "nope"], "--faults"), (["--step-minutes", "0"], "--step-minutes"), (["--days", "0"], "--days"),
    (["--days", "-1"], "--days"), (["--partners", "0"], "--partners"), (["--leads", "-3"], "--leads"),
    (["--report", "missing-dir/report.html"], "--report"),
])
def test_a_demo_option_that_cannot_work_is_named_before_the_demo_runs(tmp_path, capsys, monkeypatch, args, named):
    """Each of these was a traceback — at once (ZeroDivisionError, ValueError) or, for
    --report, after the whole simulated run (FileNotFoundError)."""
    import sandbox

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sandbox, "start", lambda *a, **k: pytest.fail("the demo started"))
    code, said = said_by(["demo", *args], capsys)
    assert code == 2 and named in said and "Traceback" not in said, said


@pytest.mark.parametrize("wait", ["-1", "1e12", "nan", "soon"])
def test_a_wait_for_the_leader_that_is_no_span_of_seconds_is_refused_before_anything_runs(wait, capsys):
    code, said = said_by(["once", "--wait-for-leader", wait], capsys)
    assert code == 2 and "--wait-for-leader" in said and "seconds" in said, said
