"""SOSL, the subset an admin types: what `GET /search?q=` runs.

    FIND {Acme*} IN NAME FIELDS RETURNING Lead(Id, Company WHERE Status = 'Open' LIMIT 5), Account

Supported: the search text in braces with words, "quoted phrases", `*` (any characters)
and `?` (one character) wildcards, AND / OR / AND NOT and parentheses (words side by
side must all match); `IN ALL|NAME|EMAIL|PHONE|SIDEBAR FIELDS`; `RETURNING` objects,
each with an optional field list and its own WHERE / ORDER BY / LIMIT / OFFSET (run by
the SOQL engine, so they behave and fail exactly as in a query); a final `LIMIT`.

Matching is by word, case-insensitively, as Salesforce's search index tokenises text:
{Acme} finds "Acme Corp" and "acme", not "Acmeville" (that takes {Acme*}). A phrase
or a term with punctuation (jane@acme.com, 555-0100) must match consecutive words; a
phone value also matches as its digits run together. Records come in the order the
object's RETURNING asks (else as stored), not by relevance.

Left out, refused with a message that says so: WITH clauses (SNIPPET, HIGHLIGHT,
DIVISION, DATA CATEGORY, NETWORK, METADATA, PricebookId, SPELL_CORRECTION), USING
LISTVIEW (as SOQL refuses USING), UPDATE TRACKING/VIEWSTAT, convertCurrency().
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.errors import SalesforceError
from sandbox.soql.ast import SubQuery
from sandbox.soql.errors import TYPE_HINT, SoqlError
from sandbox.soql.execute import DEFAULT_VERSION, execute
from sandbox.soql.parser import parse as parse_soql

MALFORMED_SEARCH = "MALFORMED_SEARCH"
INVALID_SEARCH = "INVALID_SEARCH"
MAX_RECORDS = 2000
# what FIND searches without RETURNING: the emulated objects people search for
SEARCHABLE = ("Account", "Contact", "Lead", "Opportunity", "User")
SCOPES = ("ALL", "NAME", "EMAIL", "PHONE", "SIDEBAR")
_TEXT_TYPES = frozenset(("string", "textarea", "email", "phone", "url", "combobox"))
# the fields NAME (and SIDEBAR) FIELDS search; a lead is found by its company as well
_NAME_FIELDS = ("Name", "FirstName", "LastName")
_EXTRA_NAME_FIELDS = {"Lead": ("Company",)}
_WORD = re.compile(r"\w+")
_CLAUSE = re.compile(r"(?i)\b(WHERE|ORDER|LIMIT|OFFSET|USING|WITH)\b")


def _malformed(text: str) -> SalesforceError:
    return SalesforceError(400, MALFORMED_SEARCH, text)


# ---- the search text ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Term:
    words: tuple[re.Pattern[str], ...]  # consecutive words to find in one field


@dataclass(frozen=True)
class _Op:
    op: str  # AND OR NOT
    items: tuple


def _term(text: str) -> _Term:
    """A word or phrase -> one pattern per word (wildcards kept inside words)."""
    words = re.findall(r"[\w*?]+", text.casefold())
    if sum(len(w.replace("*", "").replace("?", "")) for w in words) < 2:
        raise SalesforceError(400, INVALID_SEARCH, f"search term must be longer than one character: {text}")
    pats = []
    for w in words:
        body = "".join(r"\w*" if c == "*" else r"\w" if c == "?" else re.escape(c) for c in w)
        pats.append(re.compile(body))
    return _Term(tuple(pats))


def _search_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            tokens.append(c)
            i += 1
        elif c == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise _malformed(f"unmatched quote in the search text: {text}")
            tokens.append(text[i : end + 1])
            i = end + 1
        else:
            j = i
            word = []
            while j < len(text) and not text[j].isspace() and text[j] not in '()"':
                if text[j] == "\\" and j + 1 < len(text):  # reserved characters are escaped
                    j += 1
                word.append(text[j])
                j += 1
            tokens.append("".join(word))
            i = j
    return tokens


def parse_search_text(text: str):
    """`{...}` contents -> a tree of _Term / _Op(AND|OR|NOT)."""
    tokens = _search_tokens(text)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def either():
        items = [both()]
        while (peek() or "").upper() == "OR":
            take()
            items.append(both())
        return items[0] if len(items) == 1 else _Op("OR", tuple(items))

    def both():
        items = [unary()]
        while peek() is not None and peek() != ")" and peek().upper() != "OR":  # type: ignore[union-attr]
            if peek().upper() == "AND":  # type: ignore[union-attr]
                take()
            items.append(unary())
        return items[0] if len(items) == 1 else _Op("AND", tuple(items))

    def unary():
        tok = peek()
        if tok is None or tok == ")" or tok.upper() in ("AND", "OR"):
            raise _malformed(f"unexpected token in the search text: {tok or '<EOF>'}")
        take()
        if tok.upper() == "NOT":
            return _Op("NOT", (unary(),))
        if tok == "(":
            inner = either()
            if peek() != ")":
                raise _malformed(f"missing ) in the search text: {text}")
            take()
            return inner
        return _term(tok.strip('"'))

    tree = either()
    if peek() is not None:
        raise _malformed(f"unexpected token in the search text: {peek()}")
    return tree


# ---- the whole statement --------------------------------------------------------------------
@dataclass(frozen=True)
class Returning:
    sobject: str
    fields: str  # "Id, Company": the SELECT list of the SOQL run for this object
    clauses: str  # "WHERE ... ORDER BY ... LIMIT 5"


@dataclass(frozen=True)
class Search:
    text: str
    tree: object
    scope: str
    returning: tuple[Returning, ...]
    limit: int


def _closing(s: str, start: int, open_c: str, close_c: str) -> int:
    """Index of the bracket closing the one at `start` (quotes and escapes skipped)."""
    depth, i, quote = 0, start, False
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if quote:
            quote = c != "'"
        elif c == "'":
            quote = True
        elif c == open_c:
            depth += 1
        elif c == close_c:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _braced(s: str, start: int) -> int:
    """End of a `{...}` search text: `\\}` is an escaped brace, quotes are plain characters."""
    i = start + 1
    while i < len(s):
        if s[i] == "\\":
            i += 2
            continue
        if s[i] == "}":
            return i
        i += 1
    return -1


def parse(sosl: str) -> Search:
    s = sosl.strip()
    m = re.match(r"(?i)FIND\s*", s)
    if not m:
        raise _malformed(f"unexpected token: '{s.split()[0] if s.split() else '<EOF>'}': a search starts with FIND {{text}}")  # fmt: skip
    pos = m.end()
    if pos >= len(s) or s[pos] != "{":
        raise _malformed("No search term found. The search term must be enclosed in braces.")
    end = _braced(s, pos)
    if end < 0:
        raise _malformed("No search term found. The search term must be enclosed in braces.")
    text = s[pos + 1 : end]
    tree = parse_search_text(text)
    rest = s[end + 1 :]
    scope = "ALL"
    m = re.match(r"(?is)\s*IN\s+(\w+)\s+FIELDS\b", rest)
    if m:
        scope = m.group(1).upper()
        if scope not in SCOPES:
            raise _malformed(f"Invalid IN fields group: {m.group(1)} (use ALL, NAME, EMAIL, PHONE or SIDEBAR)")
        rest = rest[m.end() :]
    returning: list[Returning] = []
    m = re.match(r"(?is)\s*RETURNING\s+", rest)
    if m:
        rest = rest[m.end() :]
        while True:
            m = re.match(r"\s*([A-Za-z]\w*)\s*", rest)
            if not m:
                raise _malformed(f"unexpected token after RETURNING: '{rest.strip()[:20] or '<EOF>'}'")
            name, rest = m.group(1), rest[m.end() :]
            inner = ""
            if rest.startswith("("):
                close = _closing(rest, 0, "(", ")")
                if close < 0:
                    raise _malformed(f"missing ) after RETURNING {name}(")
                inner, rest = rest[1:close].strip(), rest[close + 1 :]
            cut = _CLAUSE.search(inner)
            fields, clauses = (inner[: cut.start()], inner[cut.start() :]) if cut else (inner, "")
            returning.append(Returning(name, fields.strip() or "Id", clauses.strip()))
            m = re.match(r"\s*,", rest)
            if not m:
                break
            rest = rest[m.end() :]
    limit = MAX_RECORDS
    m = re.match(r"(?is)\s*WITH\s+(\w+)", rest)
    if m:
        raise _malformed(f"WITH {m.group(1)} is not supported by the sandbox's SOSL")
    m = re.match(r"(?is)\s*LIMIT\s+(\d+)", rest)
    if m:
        limit = min(int(m.group(1)), MAX_RECORDS)
        rest = rest[m.end() :]
    if rest.strip():
        raise _malformed(f"unexpected token: '{rest.strip().split()[0]}'")
    return Search(text, tree, scope, tuple(returning), limit)


# ---- matching ---------------------------------------------------------------------------------
def _field_words(value: str, phone: bool) -> list[str]:
    words = _WORD.findall(value.casefold())
    if phone:
        digits = "".join(ch for ch in value if ch.isdigit())
        if digits:
            words.append(digits)
    return words


def _has_phrase(words: list[str], term: _Term) -> bool:
    pats = term.words
    n = len(pats)
    for i in range(len(words) - n + 1):
        if all(p.fullmatch(words[i + k]) for k, p in enumerate(pats)):
            return True
    return False


def _searched_fields(obj, scope: str) -> list[tuple[str, bool]]:
    fields = obj.fields.values()
    if scope == "EMAIL":
        chosen = [f for f in fields if f.type == "email"]
    elif scope == "PHONE":
        chosen = [f for f in fields if f.type == "phone"]
    elif scope in ("NAME", "SIDEBAR"):
        names = _NAME_FIELDS + _EXTRA_NAME_FIELDS.get(obj.name, ())
        chosen = [f for f in fields if f.name in names and f.type in _TEXT_TYPES]
    else:
        chosen = [f for f in fields if f.type in _TEXT_TYPES]
    return [(f.name, f.type == "phone") for f in chosen]


def matcher(search: Search, obj) -> Callable[[dict], bool]:
    fields = _searched_fields(obj, search.scope)

    def matches(record: dict) -> bool:
        values = [_field_words(v, phone) for name, phone in fields if isinstance(v := record.get(name), str) and v]

        def holds(node) -> bool:
            if isinstance(node, _Term):
                return any(_has_phrase(words, node) for words in values)
            if node.op == "NOT":
                return not holds(node.items[0])
            if node.op == "AND":
                return all(holds(i) for i in node.items)
            return any(holds(i) for i in node.items)

        return bool(values) and holds(search.tree)

    return matches


def _bare(err: SoqlError) -> SalesforceError:
    """A SOQL error from a RETURNING clause, without the caret into SOQL the sandbox wrote."""
    text = err.message.rsplit("\n", 1)[-1] if "ERROR at Row" in err.message else err.message
    return SalesforceError(err.status, err.error_code, text)


def search(sosl: str, org, *, version: str = DEFAULT_VERSION, schema=None) -> list[dict]:
    """Run one SOSL search; the `searchRecords` of Salesforce's answer, rendered. `schema`:
    the objects and fields as the caller may see them, the org's own by default.

    The caller holds `org.lock` (records are rendered here, from the live store)."""
    schema = schema if schema is not None else org.schema
    parsed = parse(sosl)
    specs = parsed.returning or tuple(Returning(name, "Id", "") for name in SEARCHABLE)
    out: list[dict] = []
    for spec in specs:
        obj = schema.object(spec.sobject)
        if obj is None:
            raise SalesforceError(400, "INVALID_TYPE", f"sObject type '{spec.sobject}' is not supported. {TYPE_HINT}")
        soql = f"SELECT {spec.fields} FROM {obj.name} {spec.clauses}".strip()
        try:
            if any(isinstance(item, SubQuery) for item in parse_soql(soql).fields):
                raise _malformed(f"RETURNING {spec.sobject}(...) takes fields, not parent-to-child subqueries")
            result = execute(soql, org, version=version, match=matcher(parsed, obj), schema=schema)
        except SoqlError as err:
            raise _bare(err) from None
        if result.is_count or result.is_aggregate:
            raise _malformed(f"RETURNING {spec.sobject}({spec.fields}) takes fields, not aggregate functions")
        for row in result.rows:
            if len(out) >= parsed.limit:
                return out
            out.append(result.render(row))
    return out
