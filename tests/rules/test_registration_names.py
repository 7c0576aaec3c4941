"""Deal registrations matched by company name as people type them: dotted legal forms
("B.V.", "S.p.A."), a form of several words ("GmbH & Co. KG"), a leading "The", accents
typed or not."""
from __future__ import annotations

from datetime import date

import pytest

from rules.dealreg import DealRegistrations
from rules.model import DealRegistration, Lead
from rules.state import normalise_company


@pytest.mark.parametrize("registered, typed", [
    ("Acme Logistics B.V.", "ACME LOGISTICS BV"),
    ("Zuid Zuivel N.V.", "Zuid Zuivel"),
    ("Fratelli Rossi S.p.A.", "Fratelli Rossi SpA"),
    ("Acme Widgets L.L.C.", "Acme Widgets, LLC"),
    ("Acme GmbH & Co. KG", "ACME GmbH"),
    ("The Acme Company", "Acme Co."),
    ("Société Générale S.A.", "Societe Generale"),
    ("ACME, Inc.", "Acme Inc"),
])
def test_a_registration_matches_the_company_however_its_legal_form_and_accents_are_typed(registered, typed):
    regs = DealRegistrations([DealRegistration(id="006A", partner_id="001A", status="Approved", company=registered)])
    assert [m.registration.id for m in regs.matching(Lead(id="00Q1", company=typed), date(2026, 11, 1))] == ["006A"]


@pytest.mark.parametrize("registered, other", [
    ("Acme Logistics B.V.", "Acme Freight B.V."),
    ("E.ON Energie", "Eon Solar"),
])
def test_names_that_differ_in_more_than_their_form_do_not_match(registered, other):
    regs = DealRegistrations([DealRegistration(id="006A", partner_id="001A", status="Approved", company=registered)])
    assert regs.matching(Lead(id="00Q1", company=other), date(2026, 11, 1)) == []


def test_dotted_initials_close_up_only_between_single_letters():
    assert normalise_company("U.S. Steel Corp.") == "us steel"
    assert normalise_company("www.acme.com") == "www acme com"


def test_a_registration_for_a_domain_covers_the_addresses_under_it():
    regs = DealRegistrations([DealRegistration(id="006A", partner_id="001A", status="Approved", company="Acme",
                                               email_domain="acme.com")])
    for email in ("jo@us.acme.com", "jo@sales.emea.acme.com", "jo@ACME.com"):
        assert [m.registration.id for m in regs.matching(Lead(id="00Q1", company="Unrelated", email=email),
                                                         date(2026, 11, 1))] == ["006A"], email
    assert regs.matching(Lead(id="00Q1", company="Unrelated", email="jo@notacme.com"), date(2026, 11, 1)) == []
