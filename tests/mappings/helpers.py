"""Small mapping files for tests: each test writes only the section it is about;
everything else comes from the shipped defaults, as it does for ops."""
from __future__ import annotations

import textwrap
from pathlib import Path

from mappings import MappingError, MappingSet, Problem, load_mappings

LEAD = """
[lead]
sobject = "Lead"

[lead.fields]
id = "Id"
"""


def write(directory: Path, text: str, name: str = "lead.toml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def load(directory: Path, text: str, name: str = "lead.toml") -> MappingSet:
    write(directory, text, name)
    return load_mappings(directory)


def problems(directory: Path, text: str, name: str = "lead.toml") -> list[Problem]:
    write(directory, text, name)
    try:
        load_mappings(directory)
    except MappingError as exc:
        return exc.problems
    raise AssertionError("the mapping loaded, but a problem was expected")


def lead_with(directory: Path, lines: str) -> MappingSet:
    """The minimal lead mapping plus `lines` under [lead.fields]/[lead.extra] as written."""
    return load(directory, LEAD + textwrap.dedent(lines))


LEAD_ID = "00Q5g0000000001EAA"
