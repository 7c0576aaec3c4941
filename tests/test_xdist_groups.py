"""`./dev test` runs `pytest -n 4 --dist loadgroup`: the tests of one `xdist_group` run on one
worker, so a module's org is started once there and the reliability suite runs one test at a
time. pytest 9.2 with pytest-xdist 3.8 drops the group without a word (pytest-xdist issue
1386: the group is added to the test's id, which pytest 9.2 no longer reads back) and every
grouped test is dealt out like any other; pyproject.toml keeps pytest below 9.2 for that."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

GROUPED = '''
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("one")


@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    Path(os.environ["WORKERS_SEEN"], f"grouped-{n}").write_text(os.environ["PYTEST_XDIST_WORKER"])
'''

LOOSE = '''
import os
from pathlib import Path

import pytest


@pytest.mark.parametrize("n", range(6))
def test_loose(n):
    Path(os.environ["WORKERS_SEEN"], f"loose-{n}").write_text(os.environ["PYTEST_XDIST_WORKER"])
'''


def test_the_tests_of_one_xdist_group_run_on_one_worker(tmp_path: Path) -> None:
    suite, seen = tmp_path / "suite", tmp_path / "seen"
    suite.mkdir()
    seen.mkdir()
    (suite / "test_a_grouped.py").write_text(GROUPED)
    (suite / "test_b_loose.py").write_text(LOOSE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    # only xdist among the plugins: the others cost seconds to load in each worker and group nothing
    env.update(WORKERS_SEEN=str(seen), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "xdist", "-n", "2", "--dist", "loadgroup",
                           "-p", "no:cacheprovider", "-q", str(suite)], capture_output=True, text=True, timeout=120, cwd=suite, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    grouped = {p.read_text() for p in seen.glob("grouped-*")}
    ran = {p.name for p in seen.iterdir()}
    assert len(ran) == 12, sorted(ran)
    assert len(grouped) == 1, f"the tests of one xdist_group ran on {sorted(grouped)}:\n{done.stdout[-2000:]}"
