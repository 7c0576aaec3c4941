"""Offer windows in wall-clock hours or the partner's business hours."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from rules import PartnerIndex, RoutingState, load_rules, offer_deadline
from rules.windows import reminder_time, zone_fix

from tests.rules.conftest import lead, partner, router_for

UTC = timezone.utc


def test_plain_window_is_wall_clock_hours():
    start = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # a Friday
    assert offer_deadline(start, 48, business_hours=False, time_zone=None) == datetime(2026, 11, 29, 16, 0, tzinfo=UTC)


def test_business_hours_skip_the_night_and_the_weekend():
    friday_4pm_berlin = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 16:00 in Berlin (UTC+1)
    deadline = offer_deadline(friday_4pm_berlin, 8, business_hours=True, time_zone="Europe/Berlin")
    # 1 h on Friday, 7 h on Monday from 09:00 → Monday 16:00 Berlin = 15:00 UTC
    assert deadline == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def test_offer_made_at_night_starts_counting_next_morning():
    sunday_night = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    assert offer_deadline(sunday_night, 2, business_hours=True, time_zone=None) == \
        datetime(2026, 11, 30, 11, 0, tzinfo=UTC)


def test_business_day_across_a_dst_change_is_still_eight_working_hours():
    # Europe/Berlin leaves summer time on Sunday 2026-10-25
    friday = datetime(2026, 10, 23, 15, 0, tzinfo=UTC)  # 17:00 Berlin summer time: the day is over
    deadline = offer_deadline(friday, 8, business_hours=True, time_zone="Europe/Berlin")
    assert deadline == datetime(2026, 10, 26, 16, 0, tzinfo=UTC)  # Monday 17:00 Berlin winter time


def test_long_window_skips_whole_weeks_correctly():
    monday_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    # 3 weeks of 40 h plus 4 h → the fourth Monday at 13:00
    assert offer_deadline(monday_9, 124, business_hours=True, time_zone="UTC") == \
        datetime(2026, 12, 14, 13, 0, tzinfo=UTC)


def test_unknown_time_zone_is_named():
    with pytest.raises(ValueError, match="Mars/Olympus"):
        offer_deadline(datetime(2026, 1, 5, tzinfo=UTC), 4, business_hours=True, time_zone="Mars/Olympus")


def test_router_uses_the_partners_time_zone_and_survives_a_bad_one():
    text = """
[settings]
offer_hours = 4
business_hours = true
[[ruleset]]
name = "All"
  [[ruleset.rule]]
  name = "Any"
"""
    monday_8_utc = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    tokyo = router_for(text, [partner("001T", time_zone="Asia/Tokyo")]).decide(lead(), RoutingState(), monday_8_utc)
    assert tokyo.deadline == datetime(2026, 11, 24, 4, 0, tzinfo=UTC)  # 17:00 Tokyo is over; Tue 09:00+4h JST
    bad = router_for(text, [partner("001X", time_zone="Nowhere/Land")]).decide(lead(), RoutingState(), monday_8_utc)
    assert bad.deadline == datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    assert any("Nowhere/Land" in n for n in bad.explanation["notes"])


@pytest.mark.parametrize("name, fix", [
    ("Europe/Berlin", None),
    ("Berlin", "set Time_Zone__c to 'Europe/Berlin'"),  # a city, as a web form takes it
    ("new york", "set Time_Zone__c to 'America/New_York'"),
    ("Asia/Tokio", "set Time_Zone__c to 'Asia/Tokyo'"),  # a near miss
    ("europe/paris", "set Time_Zone__c to 'Europe/Paris'"),
    ("../../etc/passwd", "set Time_Zone__c to an IANA name such as 'Europe/Berlin'"),
    ("Mars/Olympus_Mons", "set Time_Zone__c to an IANA name such as 'Europe/Berlin'"),
    ("a" * 1000, "set Time_Zone__c to an IANA name such as 'Europe/Berlin'"),  # too long for a file name: OSError
])
def test_a_partner_time_zone_python_does_not_know_gets_the_zone_meant_as_its_fix(name, fix):
    assert zone_fix(name) == fix


def test_a_partner_with_an_unknown_time_zone_is_an_index_problem_naming_it():
    index = PartnerIndex.build([partner("001A", time_zone="Berlin"), partner("001B", time_zone="Europe/Berlin")],
                               load_rules())
    assert [(p.partner_id, p.fix) for p in index.problems] == [("001A", "set Time_Zone__c to 'Europe/Berlin'")]
    assert "time zone 'Berlin'" in index.problems[0].message


def test_a_partner_zone_python_does_not_know_is_said_to_count_in_the_org_zone_routing_uses():
    text = """
[settings]
offer_hours = 4
business_hours = true
time_zone = "America/New_York"
[[ruleset]]
name = "All"
  [[ruleset.rule]]
  name = "Any"
"""
    monday_8_utc = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    router = router_for(text, [partner("001X", time_zone="Nowhere/Land")])
    decision = router.decide(lead(), RoutingState(), monday_8_utc)
    assert decision.deadline == datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # 09:00 + 4h in New York
    assert any("America/New_York" in n for n in decision.explanation["notes"])
    # what validate and the log tell the admin is what routing did: New York's hours, not UTC's
    [problem] = router.index.problems
    assert "America/New_York" in problem.message and "UTC" not in problem.message, problem.message


@pytest.mark.parametrize("name", ["localtime", "posixrules", "right/Europe/Berlin"])
def test_a_zone_name_that_means_the_host_machines_own_clock_is_not_a_partners_zone(name):
    # the zone files next to the IANA ones: "localtime" is whatever the host running the
    # connector is set to, "posixrules" its default rules, "right/…" counts leap seconds (27 s off);
    # Salesforce's clock is the truth, never the host's
    from rules.windows import known_zone

    assert not known_zone(name)
    with pytest.raises(ValueError, match="unknown time zone"):
        offer_deadline(datetime(2026, 12, 4, 16, 0, tzinfo=UTC), 8, business_hours=True, time_zone=name)
    # and the fix named is a zone, never the name refused
    fix = zone_fix(name)
    assert fix in ("set Time_Zone__c to 'Europe/Berlin'", "set Time_Zone__c to an IANA name such as 'Europe/Berlin'")
    assert name == "right/Europe/Berlin" or fix.endswith("such as 'Europe/Berlin'"), fix
    assert name != "right/Europe/Berlin" or fix == "set Time_Zone__c to 'Europe/Berlin'", fix


def test_a_time_zone_too_long_for_a_file_name_is_an_unknown_zone_not_an_os_error():
    with pytest.raises(ValueError, match="unknown time zone"):
        offer_deadline(datetime(2026, 12, 4, 16, 0, tzinfo=UTC), 8, business_hours=True, time_zone="Europe/" + "x" * 300)


def test_a_reminder_counts_back_the_working_hours_its_window_counted():
    utc = timezone.utc
    monday_10am_new_york = datetime(2027, 3, 15, 14, 0, tzinfo=utc)  # summer time since Sunday
    # one working hour on Monday morning, three on Friday afternoon (still winter time)
    assert reminder_time(monday_10am_new_york, 4, business_hours=True, time_zone="America/New_York") == \
        datetime(2027, 3, 12, 19, 0, tzinfo=utc)
    assert reminder_time(monday_10am_new_york, 4, business_hours=False, time_zone="America/New_York") == \
        datetime(2027, 3, 15, 10, 0, tzinfo=utc)
    # counting forward from the reminder gives the deadline back, for short and long windows
    for hours in (0.5, 4, 8, 40, 333):
        back = reminder_time(monday_10am_new_york, hours, business_hours=True, time_zone="Europe/Berlin")
        assert offer_deadline(back, hours, business_hours=True, time_zone="Europe/Berlin") == monday_10am_new_york


ROUND_THE_CLOCK = {"workday": (0, 24), "weekdays": (0, 1, 2, 3, 4, 5, 6)}


@pytest.mark.parametrize("zone_name, deadline_local", [
    ("America/New_York", "2027-03-14T03:30"),  # 02:00 → 03:00, spring
    ("Europe/Berlin", "2027-03-28T03:30"),  # 02:00 → 03:00, spring
    ("Australia/Sydney", "2027-10-03T03:30"),  # 02:00 → 03:00, the southern spring
], ids=["New York", "Berlin", "Sydney"])
def test_a_reminder_due_in_the_hour_the_clocks_skip_comes_an_hour_before_the_deadline_not_at_it(
        zone_name, deadline_local):
    from zoneinfo import ZoneInfo

    deadline = datetime.fromisoformat(deadline_local).replace(tzinfo=ZoneInfo(zone_name)).astimezone(UTC)
    # one working hour back from 03:30 is "02:30", a time the clock never shows that night
    remind = reminder_time(deadline, 1, business_hours=True, time_zone=zone_name, **ROUND_THE_CLOCK)
    assert remind == deadline - timedelta(hours=1)


@pytest.mark.parametrize("zone_name, deadline_utc", [
    ("America/New_York", datetime(2027, 11, 7, 6, 45, tzinfo=UTC)),  # 01:45 EST, the second 01:45
    ("Europe/Berlin", datetime(2027, 10, 31, 1, 45, tzinfo=UTC)),  # 02:45 CET, the second 02:45
    ("Australia/Sydney", datetime(2027, 4, 3, 16, 45, tzinfo=UTC)),  # 02:45 AEST, the second 02:45
], ids=["New York", "Berlin", "Sydney"])
def test_a_reminder_due_in_the_hour_that_repeats_is_on_the_pass_just_before_the_deadline(zone_name, deadline_utc):
    # a quarter of an hour back from the second 01:45 is the second 01:30, not the first
    remind = reminder_time(deadline_utc, 0.25, business_hours=True, time_zone=zone_name, **ROUND_THE_CLOCK)
    assert remind == deadline_utc - timedelta(minutes=15)
    # and back from the first pass, the first pass (not the second, after the deadline)
    first = deadline_utc - timedelta(hours=1)
    assert reminder_time(first, 0.25, business_hours=True, time_zone=zone_name, **ROUND_THE_CLOCK) == \
        first - timedelta(minutes=15)


@pytest.mark.parametrize("zone_name, offered", [
    ("America/New_York", datetime(2027, 3, 13, 17, 0, tzinfo=UTC)),  # Saturday noon; 02:00 → 03:00 on Sunday
    ("America/New_York", datetime(2027, 11, 6, 16, 0, tzinfo=UTC)),  # Saturday noon; 02:00 → 01:00 on Sunday
    ("Europe/Berlin", datetime(2027, 3, 27, 11, 0, tzinfo=UTC)),
    ("Europe/Berlin", datetime(2027, 10, 30, 10, 0, tzinfo=UTC)),
    ("Australia/Sydney", datetime(2027, 10, 2, 2, 0, tzinfo=UTC)),  # the southern spring
    ("Australia/Sydney", datetime(2027, 4, 3, 1, 0, tzinfo=UTC)),  # the southern autumn
], ids=["New York spring", "New York autumn", "Berlin spring", "Berlin autumn", "Sydney spring", "Sydney autumn"])
@pytest.mark.parametrize("hours", [0.5, 1, 3, 24, 48, 24 * 30])
def test_a_round_the_clock_workday_counts_as_the_clock_does_across_the_night_the_clocks_change(zone_name, offered, hours):
    # the hour the clocks skip is worked by nobody, and the hour they repeat passes twice: a
    # partner working every hour of every day has as long as with business_hours = false
    deadline = offer_deadline(offered, hours, business_hours=True, time_zone=zone_name, **ROUND_THE_CLOCK)
    assert deadline == offered + timedelta(hours=hours)
    assert reminder_time(deadline, hours, business_hours=True, time_zone=zone_name, **ROUND_THE_CLOCK) == offered


def test_a_night_shift_through_the_hour_the_clocks_skip_is_an_hour_shorter():
    # a Sunday night shift 00:00–08:00 in Berlin: seven working hours the night summer time starts
    sunday_midnight = datetime(2027, 3, 28, 0, 0, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
    shift = {"workday": (0, 8), "weekdays": (6,)}
    assert offer_deadline(sunday_midnight, 7, business_hours=True, time_zone="Europe/Berlin", **shift) == \
        datetime(2027, 3, 28, 8, 0, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
    # and nine the night it ends
    autumn = datetime(2027, 10, 31, 0, 0, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
    assert offer_deadline(autumn, 9, business_hours=True, time_zone="Europe/Berlin", **shift) == \
        datetime(2027, 10, 31, 8, 0, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)


ANYONE = '[[ruleset]]\nname = "All"\n  [[ruleset.rule]]\n  name = "Anyone"\n'


def test_a_working_day_that_starts_at_half_past_counts_from_then():
    """Much of India works 09:30 to 18:30: written ["09:30", "18:30"], a one-hour offer made
    at 18:00 in Kolkata ends at 10:00 the next working morning, not at 09:30."""
    book = load_rules(text='[settings]\nescalation_queue = "Channel_Escalations"\ntime_zone = "Asia/Kolkata"\n'
                           'workday = ["09:30", "18:30"]\n' + ANYONE)
    assert book.settings.workday == (9.5, 18.5)
    kolkata = ZoneInfo("Asia/Kolkata")
    six_pm_monday = datetime(2026, 12, 7, 18, 0, tzinfo=kolkata)
    deadline = offer_deadline(six_pm_monday, 1, business_hours=True, time_zone="Asia/Kolkata",
                              workday=book.settings.workday, weekdays=book.settings.weekdays)
    assert deadline.astimezone(kolkata) == datetime(2026, 12, 8, 10, 0, tzinfo=kolkata)


def test_a_working_day_may_be_written_in_hours_and_fractions():
    book = load_rules(text='[settings]\nescalation_queue = "Channel_Escalations"\nworkday = [9.5, 18.5]\n' + ANYONE)
    assert book.settings.workday == (9.5, 18.5)


@pytest.mark.parametrize("workday", ['["9h30", "18:30"]', '["18:30", "09:30"]', '["25:00", "26:00"]', '[true, 17]',
                                     '[9, nan]'])
def test_a_workday_that_is_no_span_of_the_day_names_the_key_and_both_ways_to_write_it(workday):
    from rules.errors import RulesError

    with pytest.raises(RulesError) as err:
        load_rules(text=f'[settings]\nescalation_queue = "Channel_Escalations"\nworkday = {workday}\n' + ANYONE)
    (p,) = err.value.problems
    assert p.key == "settings.workday" and p.line == 3 and '["09:30", "18:30"]' in p.fix
