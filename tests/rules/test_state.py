"""RoutingState: what jobs persists between runs, and what offers and answers do to it."""
from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from hypothesis import given, strategies as st

from rules import RoutingState, normalise_company
from rules.model import Decision, DecisionKind
from rules.state import _DOTTED, _LEGAL_FORMS, _PUNCTUATION

from tests.rules.conftest import NOW


def offer(lead_id="00Q1", partner_id="001A", rep_id="r1", rotation=None):
    return Decision(lead_id=lead_id, kind=DecisionKind.OFFER, reason="", partner_id=partner_id, rep_id=rep_id,
                    explanation={"rotation": rotation or {"Rule": partner_id}})


def test_offer_counts_against_capacity_and_todays_cap_and_moves_the_rotation():
    s = RoutingState()
    s.record_offer(offer(), NOW)
    assert s.open_count("001A") == 1
    assert s.today_count("001A", NOW) == 1 and s.today_count("001A", NOW + timedelta(days=1)) == 0
    assert s.rotation == {"Rule": "001A"} and s.rep_rotation == {"001A": "r1"}


def test_recording_the_same_offer_twice_counts_it_once():
    s = RoutingState()
    s.record_offer(offer(), NOW)
    s.record_offer(offer(), NOW)
    assert s.open_count("001A") == 1


def test_rejection_frees_capacity_and_bars_the_partner_from_this_lead_only():
    s = RoutingState()
    s.record_offer(offer(), NOW)
    s.record_outcome("00Q1", "001A", "rejected", NOW, response_hours=3)
    assert s.open_count("001A") == 0
    assert s.declined("00Q1") == {"001A": "rejected"} and s.declined("00Q2") == {}
    assert s.perf("001A").rejected == 1 and s.perf("001A").mean_response_hours == 3


def test_accepted_lead_keeps_holding_capacity_until_it_closes():
    s = RoutingState()
    s.record_offer(offer(), NOW)
    s.record_outcome("00Q1", "001A", "accepted", NOW)
    assert s.open_count("001A") == 1
    s.record_outcome("00Q1", "001A", "closed", NOW)
    assert s.open_count("001A") == 0 and s.perf("001A").closed == 1


def test_a_withdrawn_offer_or_acceptance_frees_capacity_and_leaves_the_record_as_it_was():
    """A withdrawal (partner paused, rep deactivated, a person took the lead over or asked for
    it to be routed again) is neither a conversion nor the partner's fault."""
    s = RoutingState()
    s.record_offer(offer(), NOW)
    s.record_outcome("00Q1", "001A", "accepted", NOW, response_hours=1)
    s.record_offer(offer(lead_id="00Q2"), NOW)
    s.bar("00Q2", "001B", "rejected")
    before = dataclasses.replace(s.perf("001A"))
    s.record_outcome("00Q1", "001A", "withdrawn", NOW)
    s.record_outcome("00Q2", "001A", "withdrawn", NOW)
    assert s.open_count("001A") == 0
    assert s.perf("001A") == before, "a withdrawal changed the partner's track record"
    assert s.perf("001A").conversion_rate == pytest.approx(1 / 3)  # one acceptance, no conversion
    assert s.declined("00Q2") == {"001B": "rejected"}, "the lead's declines outlive a withdrawal"


def test_only_a_closed_accepted_lead_counts_as_a_conversion_for_best_fit():
    converted, withdrawn = RoutingState(), RoutingState()
    for s, outcome in ((converted, "closed"), (withdrawn, "withdrawn")):
        s.record_offer(offer(), NOW)
        s.record_outcome("00Q1", "001A", "accepted", NOW)
        s.record_outcome("00Q1", "001A", outcome, NOW)
    assert converted.perf("001A").conversion_rate > withdrawn.perf("001A").conversion_rate


def test_rates_start_neutral_and_follow_the_record():
    s = RoutingState()
    assert s.perf("new").acceptance_rate == 0.5
    for i in range(8):
        s.record_outcome(f"l{i}", "001A", "accepted", NOW)
    s.record_outcome("x", "001A", "lapsed", NOW)
    assert s.perf("001A").acceptance_rate == pytest.approx(9 / 11)


def test_state_survives_a_json_round_trip():
    s = RoutingState()
    s.record_offer(offer(), NOW)
    s.record_outcome("00Q1", "001A", "rejected", NOW, response_hours=2.5)
    s.set_incumbent("001B", company="Acme GmbH", domain="https://www.acme.de/")
    back = RoutingState.from_dict(json.loads(json.dumps(s.to_dict())))
    # the counters travel in the document; per-lead facts (declined, holder, offer rule) and
    # incumbents live in rows: what was learned is handed to the job layer to write
    assert back.open_offers == s.open_offers and back.performance == s.performance and back.daily == s.daily
    assert back.rotation == s.rotation and back.excluded == {} and "excluded" not in s.to_dict()
    assert "incumbents" not in s.to_dict() and back.incumbents == {}
    assert set(s.learned) == {"company:acme", "domain:acme.de"}
    back.take_incumbents(s.learned)  # as the job layer reads them back for a lead of Acme
    assert back.incumbent("ACME", None) == "001B" and back.incumbent(None, "acme.de") == "001B"


def test_unknown_outcome_is_refused_with_the_allowed_ones():
    with pytest.raises(ValueError, match="accepted, rejected, lapsed, closed"):
        RoutingState().record_outcome("00Q1", "001A", "ignored", NOW)


def test_old_daily_counters_are_dropped():
    s = RoutingState()
    for day in range(10):
        s.record_offer(offer(lead_id=f"l{day}"), NOW + timedelta(days=day))
    assert len(s.daily) == 3


def test_company_names_lose_case_punctuation_and_legal_forms():
    assert normalise_company("ACME, Inc.") == "acme"
    assert normalise_company("Müller & Söhne GmbH") == "muller sohne"  # accents as typed or not
    assert normalise_company("Blue-North Pty Ltd") == "blue north"
    assert normalise_company(None) == normalise_company("") == ""


@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=30))
def test_ascii_fast_path_normalises_names_as_the_unicode_pattern_does(name):
    # plain-ASCII names skip the regex; they must come out exactly as through it (other names
    # lose their accents first, which the regex alone does not do)
    low = _DOTTED.sub(lambda m: m.group().replace(".", ""), name.lower())
    expected = " ".join(w for w in _PUNCTUATION.sub(" ", low).split() if w not in _LEGAL_FORMS)
    assert normalise_company(name) == expected


def test_an_incumbent_is_found_for_its_company_spelt_with_or_without_umlauts():
    s = RoutingState()
    s.set_incumbent("001B", company="Müller Maschinenbau GmbH")
    assert s.incumbent("Mueller Maschinenbau", None) == "001B"
    assert s.incumbent("MUELLER MASCHINENBAU e.K.", None) == "001B"  # read as deal registrations read it


def test_incumbents_saved_before_umlauts_were_spelt_out_still_match():
    # an earlier leadrouter keyed "Mueller Maschinenbau" as typed: "mueller maschinenbau"
    saved = {"version": 2, "open_offers": {}, "daily": {}, "rotation": {}, "rep_rotation": {}, "performance": {},
             "incumbents": {"company:mueller maschinenbau": "001B", "company:boehm ek": "001C",
                            "domain:mueller.de": "001B"}}
    back = RoutingState.from_dict(saved)
    assert back.incumbent("Müller Maschinenbau GmbH", None) == "001B"
    assert back.incumbent("Böhm", None) == "001C"
    assert back.incumbent(None, "mueller.de") == "001B"
    # to be kept with the new keys (as rows: the document of version 5 holds none)
    assert back.learned == back.incumbents and back.to_dict()["version"] == 5


def test_of_two_partners_working_a_company_the_one_most_recently_on_it_is_the_incumbent():
    s = RoutingState()
    s.set_incumbent("001OPP", company="Acme", at=NOW - timedelta(days=30), how="opportunity")
    s.set_incumbent("001LEAD", company="ACME Inc.", at=NOW, how="lead")
    s.set_incumbent("001OLD", company="Acme", at=NOW - timedelta(days=90), how="opportunity")  # learned late, older
    assert s.incumbent_of("Acme", None) == ("001LEAD", int(NOW.timestamp()), "lead")
    # known by its domain and its name as two partners: the later of the two
    s.set_incumbent("001WEB", domain="acme.example", at=NOW - timedelta(days=1))
    assert s.incumbent("Acme", "jo@acme.example".rpartition("@")[2]) == "001LEAD"


def test_a_webmail_address_names_no_company():
    s = RoutingState()
    s.set_incumbent("001A", company="Jo Bloggs", domain="gmail.com", at=NOW)
    assert s.incumbent(None, "gmail.com") is None and "domain:gmail.com" not in s.incumbents
    assert s.incumbent("Someone Else", "gmail.com") is None


def test_incumbents_are_capped_keeping_the_latest_whatever_order_they_were_learned_in():
    from rules.state import KEEP_INCUMBENTS

    live, rebuilt = RoutingState(), RoutingState()
    facts = [(f"company {i}", NOW + timedelta(minutes=i)) for i in range(KEEP_INCUMBENTS * 2)]
    for name, at in facts:  # as they happened
        live.set_incumbent("001A", company=name, at=at)
    for name, at in reversed(facts):  # a rebuild reads the leads in no order of time
        rebuilt.set_incumbent("001A", company=name, at=at)
    assert len(live.incumbents) <= KEEP_INCUMBENTS * 11 // 10 and len(rebuilt.incumbents) <= KEEP_INCUMBENTS * 11 // 10
    assert live.incumbent(facts[-1][0], None) == rebuilt.incumbent(facts[-1][0], None) == "001A"
    assert live.incumbent(facts[0][0], None) is None and rebuilt.incumbent(facts[0][0], None) is None
    newest = set(sorted(live.incumbents)[-100:])
    assert newest <= set(rebuilt.incumbents)


def test_incumbents_older_than_a_year_are_forgotten():
    from rules.state import INCUMBENT_DAYS

    s = RoutingState()
    s.set_incumbent("001A", company="Old Co", at=NOW - timedelta(days=INCUMBENT_DAYS + 1))
    s.set_incumbent("001B", company="New Co", at=NOW - timedelta(days=10))
    assert s.forget_incumbents(NOW - timedelta(days=INCUMBENT_DAYS)) == 1
    assert s.incumbent("Old Co", None) is None and s.incumbent("New Co", None) == "001B"


def test_incumbents_saved_as_partners_alone_are_read_as_undated():
    back = RoutingState.from_dict({"version": 3, "incumbents": {"company:acme": "001B"}})
    assert back.incumbent_of("Acme", None) == ("001B", 0, "lead")
    back.set_incumbent("001C", company="Acme", at=NOW)  # any dated fact is later
    assert back.incumbent("Acme", None) == "001C"
    assert back.learned == back.incumbents  # to be kept as rows, dated
