"""Line numbers in a TOML file: tomllib reports none, so the text is scanned once.

The one line finder for every file people edit (config, mappings, rules). Two ways to
ask, for the two ways a loader walks a file:

* by key path — `line(("lead", "fields", "email"))`: `[table]` headers, `key = value`
  lines (dotted and quoted keys too) and keys of inline tables on the same line; a path
  that cannot be found falls back to its nearest ancestor that can, and keys are matched
  regardless of case when the exact spelling is not there (loaders forgive case);
* by position — `header("ruleset.rule", 3)` is the fourth `[[ruleset.rule]]`, and
  `key("when", start)` the first `when =` at or after line `start` in that block
  (arrays of tables repeat their paths, so they are counted, not looked up).

Good enough to point a person at the right line; nothing here decides what is valid.
"""
from __future__ import annotations

import re
import tomllib
from typing import Any

_HEADER = re.compile(r'^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$')
_KEY = re.compile(r'^\s*((?:"[^"]*"|\'[^\']*\'|[A-Za-z0-9_\-]+)(?:\s*\.\s*(?:"[^"]*"|\'[^\']*\'|[A-Za-z0-9_\-]+))*)\s*=')
_INLINE_KEY = re.compile(r'[{,]\s*("[^"]*"|\'[^\']*\'|[A-Za-z0-9_\-]+)\s*=')
_PART = re.compile(r'"([^"]*)"|\'([^\']*)\'|([A-Za-z0-9_\-]+)')
_OPENS_TABLE = re.compile(r"^\s*\[")
BOM = "\ufeff"
MAX_NESTING = 100  # where a line is named as too deep: hand-written files nest a few levels


def loads(text: str) -> dict[str, Any]:
    """tomllib.loads for files people edit: a byte order mark (Notepad, Excel) is forgiven,
    and nesting deep enough to exhaust tomllib's recursion is a TOMLDecodeError naming the
    line, like any other syntax error, instead of a RecursionError traceback."""
    text = text.removeprefix(BOM)
    try:
        return tomllib.loads(text)
    except RecursionError:
        at = _too_deep(text)
        raise tomllib.TOMLDecodeError(f"brackets nest more than {MAX_NESTING} deep"
                                      + (f" (at line {at}, column 1)" if at else "")) from None


def _too_deep(text: str) -> int | None:
    """The first line where brackets nest deeper than MAX_NESTING, if one is found."""
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        for ch in _strip_strings(line):
            if ch in "[{":
                depth += 1
                if depth > MAX_NESTING:
                    return number
            elif ch in "]}":
                depth = max(depth - 1, 0)
    return None


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(a or b or c for a, b, c in _PART.findall(dotted))


class TomlLines:
    def __init__(self, text: str):
        self.lines = text.removeprefix(BOM).splitlines()
        self._paths: dict[tuple[str, ...], int] = {}  # key path → first line that defines it
        self._headers: dict[str, list[int]] = {}  # "ruleset.rule" → the line of each such header
        table: tuple[str, ...] = ()
        depth = 0  # inside a multi-line array or inline table: keys there are not top-level
        for number, line in enumerate(self.lines, start=1):
            stripped = _strip_strings(line)
            if depth == 0:
                header = _HEADER.match(line)
                if header:
                    table = _parts(header.group(1))
                    self._headers.setdefault(".".join(table), []).append(number)
                    for n in range(1, len(table) + 1):  # [a.b] also opens a
                        self._paths.setdefault(table[:n], number)
                    continue
                key = _KEY.match(line)
                if key:
                    path = table + _parts(key.group(1))
                    self._paths.setdefault(path, number)
                    for inner in _INLINE_KEY.finditer(line[key.end():]):
                        self._paths.setdefault(path + _parts(inner.group(1)), number)
            depth += stripped.count("[") + stripped.count("{") - stripped.count("]") - stripped.count("}")
            depth = max(depth, 0)

    # ---------------------------------------------------------------- by key path
    def line(self, path: tuple[str | int, ...]) -> int | None:
        """The line defining `path` (list indices are skipped), else its nearest ancestor's."""
        keys = tuple(str(p) for p in path if not isinstance(p, int))
        while keys:
            if keys in self._paths:
                return self._paths[keys]
            # case-forgiven keys: the loader folds them, the file keeps the writer's case
            for known, number in self._paths.items():
                if len(known) == len(keys) and all(a.lower() == b.lower() for a, b in zip(known, keys)):
                    return number
            keys = keys[:-1]
        return None

    # ---------------------------------------------------------------- by position
    def header(self, name: str, occurrence: int = 0) -> int | None:
        """The line of the `occurrence`-th (0-based) `[name]` or `[[name]]` header."""
        found = self._headers.get(".".join(_parts(name)), ())
        return found[occurrence] if 0 <= occurrence < len(found) else None

    def key(self, key: str, start: int | None = None) -> int | None:
        """First line at or after `start` (1-based) that assigns `key`, stopping at the next
        header; `start` itself when there is none (the block is the best place to look)."""
        pattern = re.compile(r"^\s*\"?" + re.escape(key) + r"\"?\s*=")
        begin = (start or 1) - 1
        for i in range(begin, len(self.lines)):
            line = self.lines[i]
            if i > begin and start is not None and _OPENS_TABLE.match(line):
                break
            if pattern.match(line):
                return i + 1
        return start

    def anywhere(self, needle: str) -> int | None:
        """The first line holding `needle` at all."""
        for i, line in enumerate(self.lines):
            if needle in line:
                return i + 1
        return None


def _strip_strings(line: str) -> str:
    """The line without string contents and comments, for bracket counting."""
    out = re.sub(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'', '""', line)
    return out.split("#", 1)[0]
