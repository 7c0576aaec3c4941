"""What goes wrong in a mapping file, said so a person can fix it.

Every problem names the file, the line, the key path and the fix (`rules.errors.Problem`,
the one shape config, mappings and rules report in); loading and validation collect all
of them before raising, so ops fix a file in one pass.
"""
from __future__ import annotations

from collections.abc import Iterable

from rules.errors import Problem, did_you_mean, toml_problem

__all__ = ["MappingError", "Problem", "fix_meant", "meant", "toml_problem"]


def meant(name: str, candidates: Iterable[str]) -> str:
    """The name a typo meant, in brackets to follow a message — " (did you mean 'company'?)" —
    or "" when none is close (the message or its fix lists the choices)."""
    hint = did_you_mean(name, candidates, or_known=False)
    return f" ({hint})" if hint else ""


def fix_meant(name: str, candidates: Iterable[str], fix: str) -> str:
    """The fix for a name that is not one of `candidates`: the one a typo meant first —
    "did you mean 'Company'? If not, …" — then `fix`; the message says only what is wrong."""
    hint = did_you_mean(name, candidates, or_known=False)
    return f"{hint} If not, {fix}" if hint else fix


class MappingError(Exception):
    """Raised with every problem found, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the field mappings:"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))
