"""An attribute written on the wrong side of a rule: a lead's in `partners`, a partner's in
`when`. Each condition is typed against one side (a `partners` condition is worked out once
per partner, before any lead), so the did-you-mean of the side's own names misleads
(`industry in industries` → "did you mean 'industries'?"). The matchers are how a rule
reads the two sides together; this names the one that fits."""
from __future__ import annotations

# lead attribute -> the matcher reading it against the partner's
_LEAD_MATCHERS = {
    "industry": "match = { industry = true } (the lead's industry among the partner's industries)",
    "products": 'match = { products = "any" } (or "all": the lead\'s products among the partner\'s)',
    "language": "match = { language = true } (the lead's language among the partner's)",
}
# partner attribute -> the matcher (or partner condition) that tests it
_PARTNER_MATCHERS = {
    "tier": 'match = { tiers = ["Gold"] } or match = { min_tier = "Gold" }',
    "programs": 'match = { programs = ["Preferred"] }',
    "certifications": 'match = { certifications = ["…"] } or match = { certified_for_products = true }',
    "role": 'match = { role = "Distributor" }',
    "industries": "match = { industry = true } (the lead's industry among the partner's industries)",
    "languages": "match = { language = true }",
}


def other_sides_attribute(symbol: str, text: str, *, lead_side: bool) -> tuple[str, str]:
    """(message, fix) for `symbol`, an attribute of the other side, found in condition `text`."""
    if lead_side:
        message = (f"unknown attribute {symbol!r} in {text!r}: {symbol} is the partner's, and a `when` (of a rule, "
                   "a rule set or a gate) reads the lead's attributes only")
        matcher = _PARTNER_MATCHERS.get(symbol)
        fix = (f"use the rule's {matcher}, or " if matcher else "") + (
            f"test the partner's {symbol} in the rule's `partners` condition")
        return message, fix
    message = (f"unknown attribute {symbol!r} in {text!r}: {symbol} is the lead's, and a `partners` condition "
               "reads the partner's attributes only (it is worked out once per partner, without a lead)")
    matcher = _LEAD_MATCHERS.get(symbol)
    fix = (f"to pair it with the partner's, use the rule's {matcher}; " if matcher else "") + (
        f"to test the lead's {symbol} itself, write it in the rule's `when`")
    return message, fix
