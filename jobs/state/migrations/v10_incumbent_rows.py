"""Version 10: incumbents as rows of their own table, not in the routing state document.

Up to version 9 the document held every incumbent (some 70 bytes each: 1.4 MB at the
cap of 22,000), and every job transaction loaded and saved it whole — some 130 ms each at
the cap, and on PostgreSQL two writers saving it together lost one another's change.
Each key the document knew is carried into the table with its partner, date and how it
was learned; the document keeps the counters and says version 5.

The document's keys are read as rules/state.py read them when this step was written: how
each earlier document version keyed a company (before version 3, as typed; before version
4, undated) and the company key of that day. That reading is frozen below, not imported:
the live reader and `company_key` move on with the rules (a new legal form, another
spelling folded), and a state upgraded next year must get the rows this step gave the day
it was written — rows keyed by a later `company_key` are for a later step to rewrite.
Frozen DDL.
"""
from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Index, MetaData, String, Table, text

NAME = "incumbents as rows, not in the routing state document"


def apply(conn: Connection, now: datetime) -> None:  # noqa: ARG001 - stores no time (each fact keeps its own)
    meta = MetaData()
    table = Table("incumbents", meta,
                  Column("key", String, primary_key=True),
                  Column("partner_id", String(18), nullable=False),
                  Column("since", BigInteger, nullable=False),
                  Column("how", String(16), nullable=False),
                  Index("ix_incumbents_since", "since"))
    meta.create_all(conn, checkfirst=True)
    row = conn.execute(text("SELECT data FROM routing_state WHERE id = 1")).first()
    if row is None or row[0] is None:
        return
    data = row[0] if isinstance(row[0], dict) else json.loads(row[0])
    found = _document_incumbents(data)
    rows = [{"key": k, "partner_id": p, "since": since, "how": how} for k, (p, since, how) in found.items()
            if "\x00" not in k]  # PostgreSQL takes no NUL in text: a key with one names no company
    for i in range(0, len(rows), 5_000):
        conn.execute(table.insert(), rows[i:i + 5_000])
    data.pop("incumbents", None)
    data["version"] = 5
    cast = "CAST(:data AS JSON)" if conn.dialect.name == "postgresql" else ":data"
    conn.execute(text(f"UPDATE routing_state SET data = {cast} WHERE id = 1"), {"data": json.dumps(data)})


# ---- rules/state.py as of this step (document_incumbents, _incumbents, company_key) ----

def _document_incumbents(data: dict[str, Any]) -> dict[str, tuple[str, int, str]]:
    """The incumbents a routing-state document of version 4 or before carried."""
    saved = data.get("incumbents") or {}
    version = data.get("version", 1)
    if version >= 4:
        return {k: (p, int(at), how) for k, (p, at, how) in saved.items()}
    if version >= 3:  # a partner alone: undated, learned from an accepted lead
        return {k: (p, 0, "lead") for k, p in saved.items()}

    # Before version 3 a company was keyed as typed ("mueller" for a Mueller, "muller" for
    # a Müller): the keys are made again from the saved ones (the key of a key is itself);
    # where two old keys now meet, the one already in the new form wins.
    def already_new(key: str) -> bool:
        kind, _, value = key.partition(":")
        return kind == "company" and value == _company_key(value)

    out: dict[str, tuple[str, int, str]] = {}
    for key, partner in sorted(saved.items(), key=lambda kv: already_new(kv[0])):  # new-form keys last: they win
        kind, _, value = key.partition(":")
        out[f"company:{_company_key(value)}" if kind == "company" else key] = (partner, 0, "lead")
    return out


_LEGAL_FORMS = frozenset(
    "inc incorporated llc ltd limited gmbh ag sa sas sarl bv nv plc co corp corporation company kk pty srl spa ab oy"
    " kg kgaa ohg ug se bvba sprl vof cv lp llp pte pvt ltda sl sro aps asa oyj kft zrt the"
    .split()
)
_MORE_FORMS = frozenset({"ek", "ev", "eg", "gbr"})
_PUNCTUATION = re.compile(r"[^\w\s]+")
_DOTTED = re.compile(r"\b\w(?:\.\w)+\b\.?")
_SPELT_OUT = re.compile(r"([aou])e")
_ASCII_PUNCTUATION = bytes(c if chr(c).isalnum() or chr(c) == "_" or chr(c).isspace() else 32 for c in range(128)) \
    + bytes(range(128, 256))


def _company_key(name: str) -> str:
    low = name.lower()
    if "." in low:
        low = _DOTTED.sub(lambda m: m.group().replace(".", ""), low)
    if low.isascii():
        words = low.encode("ascii").translate(_ASCII_PUNCTUATION).decode("ascii")
    else:
        folded = "".join(c for c in unicodedata.normalize("NFKD", low.casefold()) if not unicodedata.combining(c))
        words = _PUNCTUATION.sub(" ", folded)
    return " ".join(_SPELT_OUT.sub(r"\1", w) for w in words.split() if w not in _LEGAL_FORMS and w not in _MORE_FORMS)
