"""Deal-registration look-up: the blocked, batched fuzzy match finds exactly what scoring
every registration by hand finds (hypothesis)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from itertools import combinations

from hypothesis import example, given, settings, strategies as st
from rapidfuzz import fuzz

from rules.dealreg import DealRegistrations
from rules.model import DealRegistration, Lead
from rules.state import company_key_words, normalise_domain

NOW = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)
WORDS = ["blue", "bleu", "north", "acme", "acne", "systems", "system", "logistics", "apex", "Inc.", "GmbH"]
name_ = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)
domain_ = st.sampled_from([None, "acme.com", "blue.io", "gmail.com"])


def _keys(words):
    distinct = sorted(set(words))
    return set(distinct) if len(distinct) == 1 else {f"{a} {b}" for a, b in combinations(distinct, 2)}


def by_hand(regs, lead, min_score):
    """Every approved, unexpired registration scored one by one, with the blocking rule
    written out: a lead's known words must give a pair (or be its only word) that the
    registration's name also gives."""
    live = [r for r in regs if r.status == "Approved" and (r.expires is None or r.expires >= NOW.date())]
    vocabulary = {w for r in regs if r.status == "Approved" for w in company_key_words(r.company)}
    words = company_key_words(lead.company)
    known = [w for w in words if w in vocabulary]
    lead_keys = _keys(known) if known and (len(known) >= 2 or len(set(words)) == 1) else set()
    domain = normalise_domain(lead.email_domain)
    found = set()
    for r in live:
        if domain and domain != "gmail.com" and normalise_domain(r.email_domain) == domain:
            found.add(r.id)
        reg_words = company_key_words(r.company)
        if reg_words and lead_keys & _keys(reg_words):
            if fuzz.ratio(" ".join(sorted(words)), " ".join(sorted(reg_words))) >= min_score:
                found.add(r.id)
    return sorted(found)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(name_, domain_, st.sampled_from(["Approved", "Approved", "Submitted"]),
                          st.sampled_from([None, date(2027, 1, 1), date(2025, 1, 1)])), max_size=12),
       name_, domain_, st.sampled_from([80.0, 90.0, 100.0]))
# found by hypothesis in a full run: the hand-written check read "blue" where deal registrations
# read "blu" (umlauts spelt out, "Mueller" for Müller), and the two scores fell either side of 80
@example(rows=[("blue blue blue acme", None, "Approved", None)], company="blue blue acme acme", domain=None,
         min_score=80.0)
def test_registration_matches_are_those_found_by_scoring_each_one(rows, company, domain, min_score):
    regs = [DealRegistration(id=f"006{i:03d}", partner_id="001A", status=status, expires=expires, company=name,
                             email_domain=d) for i, (name, d, status, expires) in enumerate(rows)]
    lead = Lead(id="00Q1", company=company, email_domain=domain)
    got = [m.registration.id for m in DealRegistrations(regs, min_score).matching(lead, NOW)]
    assert got == by_hand(regs, lead, min_score)


def test_a_registration_approved_with_stray_spaces_or_another_case_still_protects():
    """Statuses come from the org as typed into an unrestricted picklist or by an import:
    " Approved", "APPROVED " are Approved."""
    lead = Lead(id="00Q1", company="Globex Corporation")
    for status in (" Approved", "APPROVED ", "approved"):
        reg = DealRegistration(id="a1", partner_id="001A", status=status, company="Globex Corporation")
        assert [m.registration.id for m in DealRegistrations([reg]).matching(lead, NOW)] == ["a1"], status
