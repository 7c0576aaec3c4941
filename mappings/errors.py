"""What goes wrong in a mapping file, said so a person can fix it.

Every problem names the file, the line, the key path and the fix; loading and
validation collect all of them before raising, so ops fix a file in one pass.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None
    key: str
    message: str
    fix: str | None = None
    severity: str = "error"  # "error" stops start-up; "warning" is worth a look

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def as_dict(self) -> dict:
        """For JSON output (`leadrouter validate --json`, logs)."""
        return {"file": self.file, "line": self.line, "key": self.key, "message": self.message,
                "fix": self.fix, "severity": self.severity}

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        text = f"{where}: {self.severity}: {self.key}: {self.message}" if self.key else (
            f"{where}: {self.severity}: {self.message}"
        )
        return f"{text} — fix: {self.fix}" if self.fix else text


class MappingError(Exception):
    """Raised with every problem found, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the field mappings:"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))
