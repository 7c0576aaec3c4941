"""A partner's own working week (Account.Working_Days__c): a partner in Dubai works Sunday
to Thursday, and its offer windows count those days, not the org's Monday to Friday. A
partner that names no days works the org's (`[settings] weekdays`). Every `now` is given."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from rules import PartnerIndex, Router, RoutingState, load_rules
from rules.windows import calendar_text, parse_calendar, week_of

from tests.rules.conftest import QUEUES, lead, partner

UTC = timezone.utc
RULES = """
[settings]
escalation_queue = "Channel_Escalations"
time_zone = "Asia/Dubai"

[[ruleset]]
name = "Leads"
otherwise = "unroutable"
  [[ruleset.rule]]
  name = "Covering"
  match = { geography = true }
  offer_hours = 8
  business_hours = true
"""
# Thursday 10 June 2027, 16:00 in Dubai (UTC+4): one working hour left that day
THURSDAY_4PM_DUBAI = datetime(2027, 6, 10, 12, 0, tzinfo=UTC)


def decide(**kw):
    book = load_rules(text=RULES)
    router = Router(book, PartnerIndex.build([partner("001D", time_zone="Asia/Dubai", **kw)], book), queue_ids=QUEUES)
    return router.decide(lead(), RoutingState(), THURSDAY_4PM_DUBAI)


def test_a_sunday_to_thursday_partner_has_its_window_run_on_into_sunday_not_monday():
    d = decide(working_days=frozenset({"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday"}))
    assert d.partner_id == "001D"
    # one hour on Thursday, seven on Sunday: 16:00 Sunday in Dubai
    assert d.deadline == datetime(2027, 6, 13, 12, 0, tzinfo=UTC)
    window = d.explanation["chosen"]["window"]
    assert "Sun Mon Tue Wed Thu" in window and "Working_Days__c" in window and "Asia/Dubai" in window


def test_a_partner_naming_no_days_works_the_orgs_week():
    d = decide()
    # the org's Monday to Friday: one hour on Thursday, seven on Friday, 16:00 Friday in Dubai
    assert d.deadline == datetime(2027, 6, 11, 12, 0, tzinfo=UTC)
    assert "Mon Tue Wed Thu Fri" in d.explanation["chosen"]["window"]
    assert "[settings] weekdays" in d.explanation["chosen"]["window"]


def test_days_a_partner_names_that_are_no_days_leave_it_the_orgs_week_and_are_named():
    book = load_rules(text=RULES)
    index = PartnerIndex.build([partner("001D", time_zone="Asia/Dubai", working_days=frozenset({"Freitag"}))], book)
    assert any("Freitag" in str(w) for w in index.problems), index.problems
    d = Router(book, index, queue_ids=QUEUES).decide(lead(), RoutingState(), THURSDAY_4PM_DUBAI)
    assert d.deadline == datetime(2027, 6, 11, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("names, days", [
    ({"Sunday", "Thursday"}, (3, 6)),
    ({"sun", "MON", " Tue "}, (0, 1, 6)),
    ((), None),
    ({"Funday"}, None),
])
def test_working_days_are_read_by_name_whatever_their_case_or_length(names, days):
    assert week_of(frozenset(names)) == days


def test_an_offers_calendar_reads_back_as_it_was_written():
    text = calendar_text("Asia/Dubai", (6, 0, 1, 2, 3), (9.5, 18))
    assert text == "Asia/Dubai; Sun Mon Tue Wed Thu; 09:30-18:00"
    assert parse_calendar(text) == ("Asia/Dubai", (0, 1, 2, 3, 6), (9.5, 18.0))
    assert parse_calendar("nonsense") is None and parse_calendar(None) is None
