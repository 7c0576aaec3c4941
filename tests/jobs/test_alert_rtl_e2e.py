"""A lead from a web form in Arabic or Hebrew: the alert's sentences stay in the rep's own
reading order. A line's direction is its first strong letter's (Unicode's bidi algorithm,
P2): "شركة الأمل in Riyadh was offered to you." would be laid out right to left, the
deadline and the words around the name in a mirrored order. The name is isolated
(U+2068 … U+2069, which P2 skips), so the line reads as its template does."""
from __future__ import annotations

import unicodedata

import pytest

from sandbox.simulator import Profile
from tests.emails import lead_of

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
OPEN, CLOSE = "\u2066\u2067\u2068", "\u2069"


def direction(line: str) -> str | None:
    """The paragraph direction Unicode's P2 gives a line: its first strong letter outside isolates."""
    depth = 0
    for c in line:
        if c in OPEN:
            depth += 1
        elif c in CLOSE:
            depth = max(0, depth - 1)
        elif depth == 0 and unicodedata.bidirectional(c) in ("L", "R", "AL"):
            return "rtl" if unicodedata.bidirectional(c) in ("R", "AL") else "ltr"
    return None


def test_a_right_to_left_company_and_city_leave_the_alerts_lines_left_to_right(org, make_loop):
    loop = make_loop(org, settings={"notifications": {"mode": "email"}})
    org.simulator.set_profile("*", NEVER_ANSWER)
    for lead in org.org.records("Lead"):
        org.org.update("Lead", lead["Id"], {"Company": "شركة الأمل للتقنية", "City": "תל אביב"})
    loop.cycle()
    sent = [n for n in org.notifications.all("emailSimple") if lead_of(n)]
    assert sent
    for n in sent:
        assert "شركة الأمل للتقنية" in n.inputs["emailSubject"] and "תל אביב" in n.inputs["emailBody"]
        lines = [n.inputs["emailSubject"], *n.inputs["emailBody"].splitlines()]
        assert [line for line in lines if direction(line) == "rtl"] == []
