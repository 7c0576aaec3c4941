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


@pytest.fixture
def other_org(tmp_path, sandbox_factory, monkeypatch):
    """Another company's org (tests/ops/other_org.py), fresh per test, with the config,
    mappings and rules an ops person wrote for it from the docs: (sandbox, ids, config)."""
    from sandbox import schema as schema_module

    from .other_org import build, other_sfdx, write_workdir

    monkeypatch.setattr(schema_module, "_default_schema", schema_module.load_schema(other_sfdx(tmp_path / "sfdx")))
    sb = sandbox_factory()
    ids = build(sb.org)
    work = tmp_path / "ops"
    work.mkdir()
    return sb, ids, write_workdir(work, sb.connection)
