"""One loaded object mapping (lead, partner, …): its kind, spec, source and compiled
attributes. Its own module, below the loader, so that the mapping set, validation and
write-back can name it without importing the loader (which builds the mapping set).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules.tomllines import TomlLines

from .compile import CompiledAttribute
from .errors import Problem
from .kinds import Kind
from .spec import ObjectSpec


@dataclass
class Source:
    file: str
    lines: TomlLines
    raw: dict


@dataclass
class ObjectMapping:
    kind: Kind
    spec: ObjectSpec
    source: Source
    attrs: dict[str, CompiledAttribute] = field(default_factory=dict)
    extras: dict[str, CompiledAttribute] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return self.source.file

    def line(self, *path: Any) -> int | None:
        return self.source.lines.line((self.kind.name, *path))

    def problem(self, path: tuple, message: str, fix: str | None = None, severity: str = "error") -> Problem:
        key = ".".join(str(p) for p in (self.kind.name, *path))
        return Problem(self.file, self.line(*path), key, message, fix, severity)
