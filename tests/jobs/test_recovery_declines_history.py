"""Which partner declined a lead, read from the lead's LeadHistory as jobs/recovery.py
gathers it: (when, field, value), oldest first. "PartnerAccount" is our integration
user setting the partner ("" when it cleared it), "reason" a reason someone else gave,
"declined" someone else setting the answer field to the rejected value."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from jobs.recovery import NO_REASON, declines

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
A, B = "0015g0000000001AAA", "0015g0000000002AAA"


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_rejection_without_a_reason_is_a_decline_of_the_partner_that_held_the_lead():
    history = [(at(0), "PartnerAccount", A), (at(5), "declined", "Rejected"), (at(6), "PartnerAccount", B)]
    assert declines(history) == {A: (at(0), at(5), NO_REASON)}


def test_the_reason_given_in_the_same_save_wins_whichever_row_comes_first():
    for answer in ([(at(5), "declined", "Rejected"), (at(5), "reason", "No capacity")],
                   [(at(5), "reason", "No capacity"), (at(5), "declined", "Rejected")]):
        assert declines([(at(0), "PartnerAccount", A), *answer]) == {A: (at(0), at(5), "No capacity")}


def test_a_partner_that_only_let_the_lead_lapse_declined_nothing():
    history = [(at(0), "PartnerAccount", A), (at(60), "PartnerAccount", B), (at(65), "declined", "Rejected")]
    assert declines(history) == {B: (at(60), at(65), NO_REASON)}


def test_an_answer_after_our_user_cleared_the_partner_is_no_earlier_partners_decline():
    """A pool or an escalation queue held the lead then: nobody's offer to decline."""
    history = [(at(0), "PartnerAccount", A), (at(60), "PartnerAccount", ""), (at(65), "declined", "Rejected"),
               (at(66), "reason", "Not our fit")]
    assert declines(history) == {}
