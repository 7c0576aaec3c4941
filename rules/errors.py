"""Problems found in a rule file, all reported at once with where and how to fix them."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None
    key: str  # dotted path, e.g. "ruleset[2].rule[1].when"
    message: str
    fix: str | None = None
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.key}: {self.message}"
        return f"{text} ({self.fix})" if self.fix else text


class RulesError(ValueError):
    """Every error in a rule file, so ops fix them in one pass rather than one per run."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(
            f"{len(problems)} problem(s) in the routing rules:\n" + "\n".join(f"  {p}" for p in problems)
        )


def nearest(word: str, choices: Iterable[str]) -> str | None:
    """The closest known spelling, or None when nothing is close enough to be a typo."""
    choices = sorted(set(choices))
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return lowered[word.lower()]
    hits = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[hits[0]] if hits else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    choices = sorted(set(choices))
    guess = nearest(word, choices)
    if guess:
        return f"did you mean {guess!r}?"
    shown = ", ".join(choices[:12]) + (" …" if len(choices) > 12 else "")
    return f"known: {shown}"


class LineFinder:
    """Finds the line of a key in TOML text.

    tomllib gives no positions, so we scan: the n-th `[[ruleset]]` header, then the
    key inside that block. Good enough to point a person at the right line.
    """

    _HEADER = re.compile(r"^\s*\[\[?\s*([^\[\]#]*?)\s*\]\]?\s*(#.*)?$")

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self._headers: dict[str, list[int]] | None = None

    def header(self, name: str, occurrence: int = 0) -> int | None:
        # every header's lines, found in one pass: asked once per rule, a rescan each time
        # made loading quadratic in the file's length
        if self._headers is None:
            self._headers = {}
            for i, line in enumerate(self.lines):
                m = self._HEADER.match(line)
                if m:
                    self._headers.setdefault(m.group(1), []).append(i + 1)
        found = self._headers.get(name.strip(), ())
        return found[occurrence] if 0 <= occurrence < len(found) else None

    def key(self, key: str, start: int | None = None) -> int | None:
        """First line at or after `start` (1-based) that assigns `key`, stopping at the next header."""
        pat = re.compile(r"^\s*\"?" + re.escape(key) + r"\"?\s*=")
        begin = (start or 1) - 1
        for i in range(begin, len(self.lines)):
            line = self.lines[i]
            if i > begin and start is not None and re.match(r"^\s*\[", line):
                break
            if pat.match(line):
                return i + 1
        return start

    def anywhere(self, needle: str) -> int | None:
        for i, line in enumerate(self.lines):
            if needle in line:
                return i + 1
        return None
