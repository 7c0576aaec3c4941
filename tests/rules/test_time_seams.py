"""Time at its seams: hours that repeat or never happen, days that turn in the org's zone
rather than in UTC, and dates (a registration's expiry, a win's close date) that are the
org's dates, not UTC's. Every `now` is given; nothing reads the host's clock."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from rules import PartnerIndex, Router, RoutingState, load_rules, offer_deadline
from rules.fiscal import OrgCalendar
from rules.model import DealRegistration, DecisionKind
from rules.performance import OutcomeEvent, partner_facts

from tests.rules.conftest import QUEUES, lead, partner

UTC = timezone.utc
ALL_DAY_EVERY_DAY = dict(workday=(0, 24), weekdays=(0, 1, 2, 3, 4, 5, 6))

RULES = """
[settings]
escalation_queue = "Channel_Escalations"
{settings}

[[ruleset]]
name = "Leads"
otherwise = "unroutable"
  [[ruleset.rule]]
  name = "Covering"
  match = {{ geography = true }}
"""


def router_for(settings: str, partners, registrations=()) -> Router:
    book = load_rules(text=RULES.format(settings=settings))
    return Router(book, PartnerIndex.build(partners, book, deal_registrations=registrations), queue_ids=QUEUES)


# ---------------------------------------------------------------- offer windows and DST

@pytest.mark.parametrize("offered_at", [
    datetime(2027, 11, 7, 5, 10, tzinfo=UTC),  # 01:10 EDT, the first time New York reads 01:10
    datetime(2027, 11, 7, 6, 10, tzinfo=UTC),  # 01:10 EST, the second time
])
def test_a_business_hours_deadline_in_the_repeated_hour_is_after_the_offer(offered_at):
    """On the night New York leaves summer time the wall clock shows 01:00–02:00 twice. Half
    a working hour from the second 01:10 is the second 01:40, not the first (which is half
    an hour before the offer was made: it lapsed at once)."""
    deadline = offer_deadline(offered_at, 0.5, business_hours=True, time_zone="America/New_York",
                              **ALL_DAY_EVERY_DAY)
    assert deadline == offered_at + timedelta(minutes=30)


def test_a_business_hours_deadline_counted_through_the_repeated_hour_counts_it_twice():
    """Working time is the time that passes while the clock reads inside the workday: from
    00:30 EDT, two working hours end at 01:30 EST, two real hours later — the hour the clock
    repeats is worked twice (were it counted once, the partner would get three hours)."""
    half_past_midnight = datetime(2027, 11, 7, 4, 30, tzinfo=UTC)
    deadline = offer_deadline(half_past_midnight, 2, business_hours=True, time_zone="America/New_York",
                              **ALL_DAY_EVERY_DAY)
    assert deadline == datetime(2027, 11, 7, 6, 30, tzinfo=UTC)


def test_a_business_hours_deadline_counted_through_the_skipped_hour_does_not_count_it():
    """From 00:30 EST on the night New York skips 02:00–03:00, three working hours end at
    04:30 EDT, three real hours later — not at 03:30 EDT, two hours later, as if someone had
    worked the hour that never happened (two and three hours would end at one moment)."""
    half_past_midnight = datetime(2027, 3, 14, 5, 30, tzinfo=UTC)
    three = offer_deadline(half_past_midnight, 3, business_hours=True, time_zone="America/New_York",
                           **ALL_DAY_EVERY_DAY)
    two = offer_deadline(half_past_midnight, 2, business_hours=True, time_zone="America/New_York",
                         **ALL_DAY_EVERY_DAY)
    assert (two, three) == (datetime(2027, 3, 14, 7, 30, tzinfo=UTC), datetime(2027, 3, 14, 8, 30, tzinfo=UTC))


def test_a_business_hours_deadline_in_the_hour_that_never_happens_is_an_hour_of_real_time():
    """New York skips 02:00–03:00 on 14 March 2027: an hour from 01:30 EST is 03:30 EDT."""
    deadline = offer_deadline(datetime(2027, 3, 14, 6, 30, tzinfo=UTC), 1, business_hours=True,
                              time_zone="America/New_York", **ALL_DAY_EVERY_DAY)
    assert deadline == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize("zone, offered_at, deadline", [
    # Kathmandu is UTC+05:45: Monday 16:45 there, 15 working minutes left, then 7 h 45 on Tuesday
    ("Asia/Kathmandu", datetime(2027, 3, 1, 11, 0, tzinfo=UTC), datetime(2027, 3, 2, 11, 0, tzinfo=UTC)),
    # Lord Howe leaves summer time by half an hour on Sunday 4 April 2027 (02:00 → 01:30):
    # Friday 16:00 (+11) is an hour before the day ends; Monday 09:00 (+10:30) + 7 h
    ("Australia/Lord_Howe", datetime(2027, 4, 2, 5, 0, tzinfo=UTC), datetime(2027, 4, 5, 5, 30, tzinfo=UTC)),
    # Adelaide (+10:30 in summer): Friday 16:30 there, half an hour then Monday 09:00 + 7 h 30
    ("Australia/Adelaide", datetime(2027, 2, 5, 6, 0, tzinfo=UTC), datetime(2027, 2, 8, 6, 0, tzinfo=UTC)),
])
def test_business_hours_in_zones_with_odd_offsets_and_southern_summers(zone, offered_at, deadline):
    assert offer_deadline(offered_at, 8, business_hours=True, time_zone=zone) == deadline


def test_a_partner_without_a_time_zone_works_the_orgs_business_hours_not_utcs():
    """A Los Angeles org's partner that names no zone of its own works 9 to 5 in Los Angeles
    (as its daily cap counts the org's day): an offer at 08:00 there, four working hours,
    lapses at 13:00 there — not at 13:00 UTC, which is 05:00 in Los Angeles, before the
    partner's day began."""
    router = router_for('offer_hours = 4\nbusiness_hours = true\ntime_zone = "America/Los_Angeles"',
                        [partner("001A", time_zone=None)])
    eight_am_in_los_angeles = datetime(2027, 3, 1, 16, 0, tzinfo=UTC)  # a Monday
    decision = router.decide(lead(), RoutingState(), eight_am_in_los_angeles)
    assert decision.kind is DecisionKind.OFFER
    assert decision.deadline == datetime(2027, 3, 1, 21, 0, tzinfo=UTC)  # 13:00 PST


def test_a_partner_with_a_zone_python_does_not_know_works_the_orgs_hours_with_a_note():
    router = router_for('offer_hours = 4\nbusiness_hours = true\ntime_zone = "America/Los_Angeles"',
                        [partner("001A", time_zone="Pacific/Atlantis")])
    decision = router.decide(lead(), RoutingState(), datetime(2027, 3, 1, 16, 0, tzinfo=UTC))
    assert decision.deadline == datetime(2027, 3, 1, 21, 0, tzinfo=UTC)
    assert any("Pacific/Atlantis" in n and "America/Los_Angeles" in n for n in decision.explanation["notes"])


# ---------------------------------------------------------------- the org's dates

def test_a_deal_registration_expiring_today_protects_until_midnight_in_the_org():
    """Expiration dates are the org's dates: at 17:30 on its last day in a Los Angeles org
    (already the next day in UTC) the registration still protects the deal; after
    midnight there it does not."""
    reg = DealRegistration(id="a0R1", partner_id="001R", status="Approved", expires=date(2027, 3, 31),
                           company="Acme Corp")
    partners = [partner("001A"), partner("001R")]
    router = router_for('time_zone = "America/Los_Angeles"', partners, [reg])
    half_past_five_on_its_last_day = datetime(2027, 4, 1, 0, 30, tzinfo=UTC)
    decision = router.decide(lead(), RoutingState(), half_past_five_on_its_last_day)
    assert decision.partner_id == "001R" and decision.rule == "Deal registration", decision
    after_midnight_there = datetime(2027, 4, 1, 7, 30, tzinfo=UTC)
    assert router.decide(lead(), RoutingState(), after_midnight_there).rule != "Deal registration"


def test_a_deal_registration_that_expired_yesterday_in_the_org_no_longer_protects():
    """Tokyo is a day ahead of UTC every morning: at 08:00 on 1 April there a registration
    that expired on 31 March protects nothing, though UTC still reads 31 March."""
    reg = DealRegistration(id="a0R1", partner_id="001R", status="Approved", expires=date(2027, 3, 31),
                           company="Acme Corp")
    router = router_for('time_zone = "Asia/Tokyo"', [partner("001A"), partner("001R")], [reg])
    eight_am_on_1_april_in_tokyo = datetime(2027, 3, 31, 23, 0, tzinfo=UTC)
    assert router.decide(lead(), RoutingState(), eight_am_on_1_april_in_tokyo).rule != "Deal registration"


def test_an_expired_registration_that_matched_the_lead_is_named_in_the_explanation_not_ignored_in_silence():
    """The registration no longer protects the deal; the decision's trace says which one, whose,
    and the org's date it expired on (the day counted at the given `now`, in the org's zone)."""
    reg = DealRegistration(id="006R1", partner_id="001R", status="Approved", expires=date(2027, 3, 31),
                           company="Acme Corp", name="Acme rollout")
    router = router_for('time_zone = "Asia/Tokyo"', [partner("001A"), partner("001R", "Registered Reseller")], [reg])
    eight_am_on_1_april_in_tokyo = datetime(2027, 3, 31, 23, 0, tzinfo=UTC)
    decision = router.decide(lead(), RoutingState(), eight_am_on_1_april_in_tokyo)
    assert decision.rule != "Deal registration"
    assert ("registration 'Acme rollout' (006R1) for Registered Reseller expired on 2027-03-31; not protecting"
            in decision.explanation["deal_registration"]["notes"])
    the_day_before_in_tokyo = datetime(2027, 3, 30, 23, 0, tzinfo=UTC)
    live = router.decide(lead(), RoutingState(), the_day_before_in_tokyo)
    assert live.rule == "Deal registration" and not live.explanation["deal_registration"]["notes"]


def test_a_win_closed_today_in_an_org_ahead_of_utc_counts_this_quarter():
    """A Sydney org at 09:00 on 1 April (still 31 March in UTC): an Opportunity won today
    (CloseDate 1 April, read as midnight UTC of that date) is a win of this quarter and of
    the last 90 days, not an event "after now"."""
    sydney = OrgCalendar(time_zone="Australia/Sydney")
    nine_am_on_1_april_in_sydney = datetime(2027, 3, 31, 22, 0, tzinfo=UTC)
    won = [OutcomeEvent("001A", "won", datetime(2027, 4, 1, tzinfo=UTC), amount=500.0),
           OutcomeEvent("001A", "converted", datetime(2027, 4, 1, tzinfo=UTC), "00Q1")]
    facts = partner_facts(won, nine_am_on_1_april_in_sydney, sydney)["001A"]
    assert (facts.won_this_quarter, facts.won_90d, facts.revenue_this_quarter) == (1, 1, 500.0)
    assert (facts.converted_this_quarter, facts.converted_90d) == (1, 1)
    # a close date after the org's today is still after now
    tomorrow = [OutcomeEvent("001A", "won", datetime(2027, 4, 2, tzinfo=UTC), amount=500.0)]
    assert "001A" not in partner_facts(tomorrow, nine_am_on_1_april_in_sydney, sydney)


def test_a_win_dated_tomorrow_in_an_org_behind_utc_is_not_this_quarters_yet():
    """17:00 on 31 March in Los Angeles is already 1 April in UTC: an Opportunity closing
    on 1 April is tomorrow's, in the next quarter, and not a win yet."""
    los_angeles = OrgCalendar(time_zone="America/Los_Angeles")
    five_pm_on_31_march_there = datetime(2027, 4, 1, 0, 0, tzinfo=UTC)
    tomorrow = [OutcomeEvent("001A", "won", datetime(2027, 4, 1, tzinfo=UTC), amount=500.0)]
    assert "001A" not in partner_facts(tomorrow, five_pm_on_31_march_there, los_angeles)
    today = [OutcomeEvent("001A", "won", datetime(2027, 3, 31, tzinfo=UTC), amount=500.0)]
    assert partner_facts(today, five_pm_on_31_march_there, los_angeles)["001A"].won_this_quarter == 1
