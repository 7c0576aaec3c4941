from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jobs.ops.demo import DEFAULT_RULES, write_config

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings" / "defaults"


@pytest.fixture(scope="module")
def seeded_org(tmp_path_factory):
    """One seeded sandbox org per module: the ops tools only read it (dry-run, validate)."""
    import sandbox

    sb = sandbox.start(tmp_path_factory.mktemp("org"), seed="demo", partners=40, leads=300, random_seed=7, autosave=None)
    yield sb
    sb.stop()


@pytest.fixture
def workdir(tmp_path, seeded_org):
    """A config for the seeded org, with copies of the shipped rules and mappings to edit."""
    rules = tmp_path / "rules.toml"
    shutil.copy(DEFAULT_RULES, rules)
    shutil.copytree(MAPPINGS, tmp_path / "mappings")
    config = write_config(tmp_path, seeded_org.connection, rules)
    config.write_text(config.read_text() + '\n[mappings]\ndir = "mappings"\n')
    return tmp_path
