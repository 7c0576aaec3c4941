"""Partner performance facts from outcome events: rates, time to accept, this quarter and
the last 90 days counted from the `now` given, usable in rule conditions."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from rules import PartnerIndex, Router, RoutingState, load_rules
from rules.model import DecisionKind
from rules.fiscal import UTC_CALENDAR
from rules.performance import PARTNER_ATTRIBUTES, OutcomeEvent, PartnerFacts, partner_facts

from tests.rules.conftest import QUEUES, lead, partner

UTC = timezone.utc
LAST_DAY_OF_Q3 = datetime(2026, 9, 30, 23, 0, tzinfo=UTC)
FIRST_DAY_OF_Q4 = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)


def ev(kind, at, partner_id="001A", lead_id=None, **kw):
    return OutcomeEvent(partner_id, kind, at, lead_id, **kw)


def test_acceptance_lapse_and_median_time_to_accept():
    t = datetime(2026, 5, 4, 9, tzinfo=UTC)
    events = []
    for i, (outcome, hours) in enumerate([("accepted", 1), ("accepted", 3), ("accepted", 20), ("rejected", 2),
                                          ("lapsed", 48)]):
        lid = f"00Q{i}"
        events.append(ev("offered", t, lead_id=lid))
        extra = {"offered_at": t} if outcome != "lapsed" else {}
        if outcome == "rejected":
            extra["reason"] = "Outside our territory"
        events.append(ev(outcome, t + timedelta(hours=hours), lead_id=lid, **extra))
    f = partner_facts(events, t + timedelta(days=3))["001A"]
    assert (f.offers, f.accepted, f.rejected, f.lapsed) == (5, 3, 1, 1)
    assert f.acceptance_rate == 0.6 and f.lapse_rate == 0.2
    assert f.median_hours_to_accept == 3.0
    assert f.decline_reasons == {"Outside our territory": 1}
    assert f.open_load == 3  # the three accepted leads, not yet closed


def test_this_quarter_follows_the_now_given_not_the_host_clock():
    won = [ev("won", datetime(2026, 9, d, 12, tzinfo=UTC), amount=1000.0) for d in (1, 15, 29)]
    in_q3 = partner_facts(won, LAST_DAY_OF_Q3)["001A"]
    assert in_q3.won_this_quarter == 3 and in_q3.revenue_this_quarter == 3000.0
    in_q4 = partner_facts(won, FIRST_DAY_OF_Q4)["001A"]
    assert in_q4.won_this_quarter == 0 and in_q4.won_90d == 3
    assert UTC_CALENDAR.quarter_start(FIRST_DAY_OF_Q4) == datetime(2026, 10, 1, tzinfo=UTC)


def test_the_last_90_days_and_events_after_now_ignored():
    now = datetime(2026, 11, 23, 10, tzinfo=UTC)
    events = [ev("converted", now - timedelta(days=89), lead_id="00Q1", amount=10.0),
              ev("converted", now - timedelta(days=91), lead_id="00Q2", amount=20.0),
              ev("converted", now + timedelta(hours=1), lead_id="00Q3", amount=40.0)]
    f = partner_facts(events, now)["001A"]
    assert f.converted_90d == 1 and f.revenue_90d == 10.0
    assert f.converted_this_quarter == 0  # 89 days before Nov 23 is Aug 26: last quarter
    assert partner_facts(events, now + timedelta(hours=2))["001A"].converted_90d == 2


def test_a_partner_without_answers_has_no_rates_rather_than_zero():
    f = partner_facts([ev("offered", datetime(2026, 1, 5, tzinfo=UTC), lead_id="00Q1")],
                      datetime(2026, 1, 6, tzinfo=UTC))["001A"]
    assert f.acceptance_rate is None and f.median_hours_to_accept is None and f.open_load == 1


def test_an_unknown_kind_is_refused_with_the_kinds():
    with pytest.raises(ValueError, match="offered, accepted"):
        ev("won_deal", datetime(2026, 1, 5, tzinfo=UTC))


RULES = """
[settings]
business_hours = false
deal_registration = false

[[ruleset]]
name = "All"
otherwise = "unroutable"

  [[ruleset.rule]]
  name = "Proven closers"
  partners = "won_this_quarter >= 3"
  match = { geography = true }
"""


def test_won_this_quarter_is_a_partner_attribute_in_rules():
    book = load_rules(text=RULES, partner_attributes=PARTNER_ATTRIBUTES)
    wins = [ev("won", datetime(2026, 9, d, tzinfo=UTC), partner_id="001A") for d in (1, 2, 3)]
    wins += [ev("won", datetime(2026, 9, 1, tzinfo=UTC), partner_id="001B")]
    facts = partner_facts(wins, LAST_DAY_OF_Q3)
    partners = [partner("001A"), partner("001B")]
    for p in partners:
        p.extra.update((facts.get(p.id) or PartnerFacts(p.id)).attributes())
    router = Router(book, PartnerIndex.build(partners, book), queue_ids=QUEUES)
    d = router.decide(lead("00Q1"), RoutingState(), LAST_DAY_OF_Q3)
    assert d.kind is DecisionKind.OFFER and d.partner_id == "001A"
    # a typo in a fact's name fails at load, naming the fact
    with pytest.raises(Exception, match="won_this_quarter"):
        load_rules(text=RULES.replace("won_this_quarter", "won_this_qarter"), partner_attributes=PARTNER_ATTRIBUTES)
