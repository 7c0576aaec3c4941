"""Which lead an email the sandbox received is about: the one its link opens. An email to
a rep carries no related record (Salesforce refuses one beside a user recipient,
connector/notify.py), so the link in the body is where it names the lead, as the rep reads it."""
from __future__ import annotations

import re

# the org's record page (/lightning/r/Lead/<id>/view) or the partner portal's (/lead/<id>/detail)
_LEAD_LINK = re.compile(r"/(?:lightning/r/Lead|lead)/(00Q[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?)/")


def lead_of(notification) -> str | None:
    """The one lead the email links to; None for one that links to none or to several (a
    rep's digest of offers)."""
    found = set(_LEAD_LINK.findall(notification.inputs.get("emailBody") or ""))
    return found.pop() if len(found) == 1 else None
