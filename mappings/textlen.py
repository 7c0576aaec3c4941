"""A text's length as Salesforce counts it against a field's or an input's limit, and the
text cut to fit.

Salesforce counts in UTF-16 code units, as Java does: a 4-byte character (an emoji, a rare
CJK ideograph) takes two of a field's 255 (Apex's String.length() and formula LEN do so;
Salesforce Help 005166849). Python counts it as one, so a reason quoting a partner's name
of emoji, cut to 255 Python characters, was up to twice what Routing_Reason__c holds, and
Salesforce refused the whole write (STRING_TOO_LONG).
"""
from __future__ import annotations


def sf_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def fit(text: str, limit: int | None) -> str:
    """`text` whole when it fits `limit`, else cut with an ellipsis to exactly fit; never
    half of a 4-byte character."""
    if limit is None or len(text) * 2 <= limit or sf_length(text) <= limit:
        return text
    room = limit - 1  # the ellipsis
    kept = 0
    for i, c in enumerate(text):
        kept += 2 if ord(c) > 0xFFFF else 1
        if kept > room:
            return text[:i] + "…"
    return text  # unreachable: the text did not fit
