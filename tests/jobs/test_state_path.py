"""The state path, checked up front through the real CLI (`python -m jobs.cli`).

An unwritable or unopenable path is one plain message and exit 4 from `once` (never a
PermissionError traceback, never "another instance holds the leader lock"), an error
from `validate`; a missing directory needs `--init`; `status` never hangs, never takes
the leader lock and never creates a state file; what we create is 0600.
"""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock

from jobs.leader import lock_for
from jobs.state import Store

ROOT = Path(__file__).resolve().parents[2]
EXIT_STATE = 4


def leadrouter(tmp_path: Path, state: str, *args: str) -> tuple[int, str, float]:
    cfg = tmp_path / "leadrouter.toml"
    rules = ROOT / "rules" / "defaults" / "rules.toml"
    cfg.write_text(f'[state]\nurl = "sqlite:///{state}"\n[routing]\nrules = "{rules}"\n[log]\nformat = "json"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADROUTER_")}
    env["PYTHONPATH"] = str(ROOT)
    command, *rest = args
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "jobs.cli", command, "--config", str(cfg), *rest], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60)
    said = done.stdout + done.stderr
    assert "Traceback" not in said, said
    return done.returncode, said, time.monotonic() - started


@pytest.fixture
def unwritable_dir(tmp_path) -> Path:
    """A directory this process cannot create files in. root ignores permission bits, so
    as root a read-only filesystem stands in (sysfs refuses new files even to root)."""
    if os.geteuid() == 0:
        sysfs = Path("/sys/kernel")
        if not sysfs.is_dir():
            pytest.skip("root, and no read-only filesystem at /sys/kernel")
        yield sysfs
        return
    d = tmp_path / "readonly"
    d.mkdir()
    d.chmod(0o500)
    yield d
    d.chmod(0o700)


def test_validate_reports_an_unwritable_state_directory_with_the_fix(tmp_path, unwritable_dir):
    code, said, _ = leadrouter(tmp_path, f"{unwritable_dir}/leadrouter.sqlite", "validate", "--offline")
    assert code == 1
    assert f"cannot create files in the state directory {unwritable_dir}" in said
    assert "let the user running leadrouter" in said and "ready to run" not in said


def test_once_with_an_unwritable_state_directory_is_a_plain_message_and_exit_4(tmp_path, unwritable_dir):
    code, said, _ = leadrouter(tmp_path, f"{unwritable_dir}/leadrouter.sqlite", "once")
    assert code == EXIT_STATE
    assert "state database problem" in said and "cannot create files in the state directory" in said
    assert "another instance" not in said and "PermissionError" not in said


def test_once_with_an_unopenable_state_path_is_not_taken_for_another_instance(tmp_path):
    (tmp_path / "afile").write_text("not a directory")
    code, said, _ = leadrouter(tmp_path, f"{tmp_path}/afile/state.sqlite", "once")
    assert code == EXIT_STATE and "is not a directory" in said and "another instance" not in said


def test_run_with_an_unwritable_state_directory_exits_4_too(tmp_path, unwritable_dir):
    code, said, _ = leadrouter(tmp_path, f"{unwritable_dir}/leadrouter.sqlite", "run")
    assert code == EXIT_STATE and "cannot create files in the state directory" in said


def test_a_missing_state_directory_is_not_created_without_init(tmp_path):
    missing = tmp_path / "volume" / "state"
    code, said, _ = leadrouter(tmp_path, f"{missing}/leadrouter.sqlite", "once")
    assert code == EXIT_STATE and f"the state directory {missing} does not exist" in said
    assert "--init" in said and "did not mount" in said
    assert not (tmp_path / "volume").exists()


def test_init_creates_a_private_directory_and_database(tmp_path):
    missing = tmp_path / "volume" / "state"
    code, said, _ = leadrouter(tmp_path, f"{missing}/leadrouter.sqlite", "once", "--init")
    assert code == 2 and "no [salesforce] section" in said  # past the state: the next problem is the config
    assert stat.S_IMODE((missing).stat().st_mode) == 0o700
    assert stat.S_IMODE((missing / "leadrouter.sqlite").stat().st_mode) == 0o600
    assert stat.S_IMODE((missing / "leadrouter.sqlite.migrate.lock").stat().st_mode) == 0o600
    assert "created a new, empty one" not in said, "--init says the new state is intended"


def test_a_missing_state_file_is_created_private_and_the_first_run_says_so(tmp_path):
    code, said, _ = leadrouter(tmp_path, f"{tmp_path}/leadrouter.sqlite", "once")
    assert code == 2  # no [salesforce] section: the org is not this test's subject
    assert "created a new, empty one" in said and "--init" in said and "state was lost" in said
    # the start went no further: the file it made is not left for the next start to take
    # for a state that had run (tests/jobs/test_failed_start_state_file.py)
    assert not (tmp_path / "leadrouter.sqlite").exists()


def test_validate_warns_that_the_state_does_not_exist_yet(tmp_path):
    code, said, _ = leadrouter(tmp_path, f"{tmp_path}/leadrouter.sqlite", "validate", "--offline")
    assert code == 0 and f"no state database at {tmp_path}/leadrouter.sqlite yet" in said and "--init" in said
    assert not (tmp_path / "leadrouter.sqlite").exists()


def test_status_on_a_missing_state_says_so_and_creates_nothing(tmp_path):
    code, said, seconds = leadrouter(tmp_path, f"{tmp_path}/leadrouter.sqlite", "status")
    assert code == EXIT_STATE and "no state database at" in said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leadrouter.toml"]


def test_status_answers_at_once_while_the_leader_and_migration_locks_are_held(tmp_path):
    db = tmp_path / "leadrouter.sqlite"
    Store(f"sqlite:///{db}").dispose()
    leader = lock_for(f"sqlite:///{db}")
    assert leader.try_acquire()
    migrating = FileLock(f"{db}.migrate.lock", thread_local=False, is_singleton=False)
    migrating.acquire()  # what made `status` wait 61 s and then print a filelock traceback
    try:
        code, said, seconds = leadrouter(tmp_path, str(db), "status", "--json")
    finally:
        migrating.release()
        leader.release()
    print(f"status with both locks held: {seconds:.1f} s")
    assert code == 0 and '"held": true' in said
    assert seconds < 20  # interpreter start-up; the 61 s wait is gone


def test_status_on_a_file_that_is_not_a_database_is_a_message_not_a_traceback(tmp_path):
    (tmp_path / "leadrouter.sqlite").write_bytes(b"this is not an SQLite database" * 100)
    code, said, _ = leadrouter(tmp_path, f"{tmp_path}/leadrouter.sqlite", "status")
    assert code == EXIT_STATE and "cannot read the state database" in said
