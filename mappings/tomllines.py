"""Line numbers for TOML key paths: tomllib reports none, so scan the text once.

Good enough for files people write: `[table]` headers, `key = value` lines (dotted
and quoted keys too), and keys of inline tables on the same line. A path that cannot
be found falls back to its nearest ancestor that can.
"""
from __future__ import annotations

import re

_HEADER = re.compile(r'^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$')
_KEY = re.compile(r'^\s*((?:"[^"]*"|\'[^\']*\'|[A-Za-z0-9_\-]+)(?:\s*\.\s*(?:"[^"]*"|\'[^\']*\'|[A-Za-z0-9_\-]+))*)\s*=')
_INLINE_KEY = re.compile(r'[{,]\s*("[^"]*"|\'[^\']*\'|[A-Za-z0-9_\-]+)\s*=')
_PART = re.compile(r'"([^"]*)"|\'([^\']*)\'|([A-Za-z0-9_\-]+)')


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(a or b or c for a, b, c in _PART.findall(dotted))


class LineIndex:
    def __init__(self, text: str):
        self._lines: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        depth = 0  # inside a multi-line array or inline table: keys there are not top-level
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = _strip_strings(line)
            if depth == 0:
                header = _HEADER.match(line)
                if header:
                    table = _parts(header.group(1))
                    for n in range(1, len(table) + 1):  # [a.b] also opens a
                        self._lines.setdefault(table[:n], number)
                    continue
                key = _KEY.match(line)
                if key:
                    path = table + _parts(key.group(1))
                    self._lines.setdefault(path, number)
                    for inner in _INLINE_KEY.finditer(line[key.end():]):
                        self._lines.setdefault(path + _parts(inner.group(1)), number)
            depth += stripped.count("[") + stripped.count("{") - stripped.count("]") - stripped.count("}")
            depth = max(depth, 0)

    def line(self, path: tuple) -> int | None:
        keys = tuple(str(p) for p in path if not isinstance(p, int))
        while keys:
            if keys in self._lines:
                return self._lines[keys]
            # case-forgiven keys: the spec folds them, the file keeps the writer's case
            for known, number in self._lines.items():
                if len(known) == len(keys) and all(a.lower() == b.lower() for a, b in zip(known, keys)):
                    return number
            keys = keys[:-1]
        return None


def _strip_strings(line: str) -> str:
    """The line without string contents and comments, for bracket counting."""
    out = re.sub(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'', '""', line)
    return out.split("#", 1)[0]
