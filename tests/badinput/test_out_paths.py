"""`--out` paths that are not a plain new file: a symlink to the real report, a named pipe a
dashboard reads, a directory nobody may write a temporary file in (/proc).

The report is written through a temporary file renamed over the path, so a reader never
sees half of it; renamed over a symlink that replaced the link with a file, and over a pipe
or a device (`--out /dev/stdout` in a container, `/dev/null` run as root) it replaced the
device node itself. Neither test may ever name a real device: a regression would remove it.
"""
from __future__ import annotations

import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from jobs.cli import main

from .harness import ROOMY, config_text
from .lead_cases import BASE

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("test_out_paths")]


@pytest.fixture(scope="module")
def routed(tmp_path_factory) -> Any:
    """One routed cycle (a state database for `report`), one unrouted lead for `dry-run`."""
    import sandbox

    directory = tmp_path_factory.mktemp("out-paths")
    sb = sandbox.start(directory / "org", seed="demo", partners=10, leads=0, autosave=None)
    try:
        for account in sb.org.records("Account"):
            if account.get("IsPartner"):
                sb.org.update("Account", account["Id"], ROOMY)
        sb.org.create("Lead", {**BASE}, as_user=sb.org.admin_user_id)
        config = directory / "leadrouter.toml"
        config.write_text(config_text(sb.connection), encoding="utf-8")
        assert main(["once", "--init", "--config", str(config)]) == 0
        sb.org.create("Lead", {**BASE, "LastName": "Unrouted"}, as_user=sb.org.admin_user_id)
        yield config
    finally:
        sb.stop()


def _said(args: list[str], capsys) -> tuple[Any, str]:
    try:
        code = main(args)
    except SystemExit as e:
        code = e.code
    except Exception as crash:  # noqa: BLE001 - the point: a message, not a crash
        pytest.fail(f"`leadrouter {args[0]}` crashed: {type(crash).__name__}: {crash}")
    out = capsys.readouterr()
    return code, out.err + out.out


@pytest.mark.parametrize("command", [["report"], ["dry-run", "--format", "csv"]])
def test_out_through_a_symlink_writes_the_file_it_points_to(routed, tmp_path, capsys, command):
    target = tmp_path / "reports" / "latest.out"
    target.parent.mkdir()
    target.write_text("last week's\n")
    link = tmp_path / "current.out"
    link.symlink_to(target)
    code, said = _said([*command, "--out", str(link), "--config", str(routed)], capsys)
    assert code == 0, said
    assert link.is_symlink(), "the link stays a link"
    assert target.read_text() != "last week's\n" and target.stat().st_size > 100


@pytest.mark.parametrize("command", [["report"], ["dry-run", "--format", "csv"]])
def test_out_to_a_named_pipe_writes_into_the_pipe(routed, tmp_path, capsys, command):
    fifo = tmp_path / "feed"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as f:  # blocks until the writer opens it
            got.append(f.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        code, said = _said([*command, "--out", str(fifo), "--config", str(routed)], capsys)
    finally:
        reader.join(5)  # a reader that met the end of what was written finishes by itself
        if reader.is_alive():  # nothing opened the pipe: let the reader go
            try:  # never blocking: a reader gone in the meantime would leave a plain open waiting for ever
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        reader.join(10)
    assert code == 0, said
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the pipe is still a pipe"
    assert got and len(got[0]) > 100


@pytest.mark.parametrize("command", [["report"], ["dry-run"]])
def test_out_where_no_file_can_be_created_is_a_message_not_a_crash(routed, capsys, command):
    code, said = _said([*command, "--out", "/proc/leadrouter-out", "--config", str(routed)], capsys)
    assert code not in (0, None) and "Traceback" not in said, said[-1500:]
    assert "/proc/leadrouter-out" in said and "cannot be written" in said, said[-1500:]
    assert not Path("/proc/leadrouter-out").exists()
