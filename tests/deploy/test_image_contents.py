"""The image's build stage copies every package the wheel is built from: a package
pyproject.toml lists but the Containerfile leaves out is silently missing from the image
(eventbus, the Pub/Sub API stubs: `leadrouter run` could not subscribe to Change Data
Capture in a container while every test outside one passed)."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_build_stage_copies_every_package_pyproject_builds():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    text = (ROOT / "deploy" / "Containerfile").read_text()
    build = text.split("FROM ", 2)[1]  # the first stage: where the wheels are made
    copied = {Path(src).name for src in re.findall(r"(?m)^COPY (?!--from)(\S+) \./\S*$", build)}
    assert packages <= copied, f"not copied into the image's build stage: {sorted(packages - copied)}"
    for name in packages:
        assert (ROOT / name / "__init__.py").exists(), name


def test_the_image_readme_and_project_file_are_copied():
    build = (ROOT / "deploy" / "Containerfile").read_text().split("FROM ", 2)[1]
    assert re.search(r"(?m)^COPY pyproject\.toml README\.md \./$", build)
