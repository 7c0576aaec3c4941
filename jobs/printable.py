"""Text from the org made safe to show: to the person running a command, or to a
partner rep in an offer alert.

A Company, a rep's decline reason or a partner's name is typed by anyone — a web form,
a partner portal, an import — and the ops commands print it to a terminal or a
spreadsheet. Unescaped, an ESC sequence repaints the operator's terminal, a newline
forges a line of `explain` ("FAKE: routed to Acme"), a right-to-left override turns
a name around, and a cell starting with "=" runs as a formula when the CSV is opened.
The text itself is never changed in the org or the state; only what is printed.
"""
from __future__ import annotations

import html
import json
import re
import unicodedata
from typing import Any

from rules.errors import UNSAFE

# C0 and C1 controls, DEL, and the invisible marks that reorder or hide text (bidi
# embeddings, overrides and isolates, zero-width joiners are harmless and kept): the one
# definition every problem message is escaped by too (rules/errors.py).
_UNSAFE = UNSAFE
# The same without the line breaks and tab a quoted CSV cell holds as text.
_UNSAFE_IN_CELL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# The same without C0, which JSON escapes in a string itself: one outside a string is the
# document's own indentation.
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# What a spreadsheet reads as the start of a formula (OWASP's list for CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escaped(match: re.Match[str]) -> str:
    c = match.group()
    return _NAMED.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")


def one_line(value: Any) -> str:
    """A value from the org as one visible line: every control character escaped."""
    text = "" if value is None else str(value)
    return _UNSAFE.sub(_escaped, text)


def for_terminal(text: str) -> str:
    """A rendered multi-line text: its own line breaks kept, every other control escaped."""
    return "\n".join(one_line(line) for line in text.split("\n"))


def plain(value: Any) -> str:
    """A value from the org for a message to a person outside (an offer alert to a partner
    rep): one line of ordinary text, controls and runs of blanks as one space. A Company
    with line breaks cannot add lines of its own to the alert ("URGENT: log in at …")."""
    text = "" if value is None else str(value)
    return " ".join(_UNSAFE.sub(" ", text).split())


_RIGHT_TO_LEFT = frozenset(("R", "AL"))


def in_sentence(value: Any) -> str:
    """`plain`, for a value set inside a sentence of ours (an offer alert): a name in Arabic or
    Hebrew is isolated (U+2068 … U+2069), else a line starting with it is laid out right to
    left and the words around it come out mirrored (Unicode's bidi algorithm takes a line's
    direction from its first strong letter, skipping isolates). Other text is left as it is."""
    text = plain(value)
    if any(unicodedata.bidirectional(c) in _RIGHT_TO_LEFT for c in text):
        return f"\u2068{text}\u2069"
    return text


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: a leading formula character is quoted, and
    every control but a line break or a tab escaped (the CSV goes to a terminal when no
    --out is given, where an ESC sequence would run).

    Numbers stay numbers; only text that would start a formula gets the apostrophe
    spreadsheets themselves use to mean "this is text".
    """
    if not isinstance(value, str):
        return value
    value = _UNSAFE_IN_CELL.sub(_escaped, value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def json_text(value: Any, **kwargs: Any) -> str:
    """`value` as JSON that names stay readable in (non-ASCII kept) and a terminal cannot act
    on: JSON escapes C0 controls itself, not DEL, C1 (a one-byte CSI), the line separators or
    a bidi override; those become \\uXXXX, which reads back as the same text."""
    text = json.dumps(value, ensure_ascii=False, **kwargs)
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def html_text(value: Any) -> str:
    """A value for the HTML report: escaped for HTML, and on one line as on a terminal — a
    browser lays U+202E out right to left ("Evil \\u202egnp.exe" reads "Evil exe.png"), and
    the file is also read with `cat`."""
    return html.escape(one_line(value))
