"""Alpen Systeme's leads come from German web forms (tests/jobs/alpen_org.py): the Country
and State fields hold what people type there — "Niederlande", "Tschechien", "Oesterreich"
(no umlaut on the keyboard), "Tessin", "NRW". Each is a place a partner covers; a lead
whose country was not recognised was escalated ("lead has no country") although a partner
covering it was there to take it. Company names come the same way ("Mueller" for Müller),
and a registered deal must be met either way."""
from __future__ import annotations

import pytest

from .alpen_org import _rep, alpen_fixture

pytestmark = pytest.mark.e2e


@pytest.fixture
def alpen(sandbox_factory, tmp_path, monkeypatch):
    a = alpen_fixture(sandbox_factory, tmp_path, monkeypatch)
    org, integration = a.org, a.org.integration_user_id
    for short in ("isar", "rhein"):
        org.update("Account", a.partners[short], {"Vertriebsgebiet__c": "LI"}, system=True)
    org.update("Account", a.partners["donau"], {"Vertriebsgebiet__c": "AT"}, system=True)
    for short, cover in (("polder", "NL"), ("moldau", "CZ"), ("ticino", "CH-TI"), ("ruhr", "DE-NW")):
        a.partners[short] = org.create("Account", {
            "Name": f"{short.title()} BV", "IsPartner": True, "OwnerId": integration, "Vertriebsgebiet__c": cover,
            "Partner_Stufe__c": "Stufe 2", "Time_Zone__c": "Europe/Berlin"}, as_user=integration)
        a.reps[short] = _rep(org, integration, short, a.partners[short], "Europe/Berlin")
    return a


@pytest.mark.parametrize("country, state, partner", [
    ("Niederlande", None, "polder"),
    ("Tschechien", None, "moldau"),
    ("Oesterreich", None, "donau"),
    ("Schweiz", "Tessin", "ticino"),
    ("Deutschland", "NRW", "ruhr"),
    ("Deutschland", "Nordrhein-Westfalen", "ruhr"),
])
def test_a_place_typed_in_german_reaches_the_partner_covering_it(alpen, country, state, partner):
    a = alpen
    lead = a.new_lead(f"Kunde in {state or country}", country, State=state)
    a.once(init=True)
    seen = a.lead(lead)
    assert (seen["partner"], seen["Zuweisung__c"]) == (partner, "Angeboten"), seen


def test_a_country_nobody_can_read_is_named_on_the_escalated_lead(alpen):
    """The Lead said "lead has no country" while its Country said "Narnia": the admin
    looking at it saw a country and no reason. It names the field and the value, as an
    Unroutable lead's reason does (explain already did)."""
    a = alpen
    typed = a.new_lead("Narnia GmbH", "Narnia")
    empty = a.new_lead("Ohne Land GmbH", None)
    a.once(init=True)
    seen = a.lead(typed)
    assert seen["Zuweisung__c"] == "Eskaliert", seen
    assert 'Country: "Narnia" is not a recognised country' in seen["Routing_Reason__c"], seen
    assert a.lead(empty)["Routing_Reason__c"].endswith("lead has no country")


@pytest.mark.parametrize("country, postal", [("DE", "D-80331"), ("DE", "d-80331"), ("Österreich", "A-1010"),
                                             ("CH", "CH-8001")])
def test_a_postal_code_written_with_its_country_letter_reaches_the_partner_covering_it(alpen, country, postal):
    """"D-80331 München", "A-1010 Wien", "CH-8001 Zürich": the postal code as German address
    books still write it, with the country's letters before it. A partner covering DE:80
    never matched D-80331 (the prefix compared was "D-")."""
    a = alpen
    org, integration = a.org, a.org.integration_user_id
    org.update("Account", a.partners["donau"], {"Vertriebsgebiet__c": "LI"}, system=True)
    for short, cover in (("muenchen", "DE:80"), ("wien", "AT:10"), ("zuerich", "CH:80")):
        a.partners[short] = org.create("Account", {
            "Name": f"{short.title()} GmbH", "IsPartner": True, "OwnerId": integration, "Vertriebsgebiet__c": cover,
            "Partner_Stufe__c": "Stufe 2", "Time_Zone__c": "Europe/Berlin"}, as_user=integration)
        a.reps[short] = _rep(org, integration, short, a.partners[short], "Europe/Berlin")
    lead = a.new_lead(f"Kunde {postal}", country, PostalCode=postal)
    a.once(init=True)
    seen = a.lead(lead)
    assert (seen["partner"], seen["Zuweisung__c"]) == ({"DE": "muenchen", "Österreich": "wien", "CH": "zuerich"}[country],
                                                       "Angeboten"), seen


@pytest.mark.parametrize("registered, typed", [("Müller Maschinenbau GmbH", "Mueller Maschinenbau GmbH"),
                                               ("Baeckerei Schaefer e.K.", "Bäckerei Schäfer"),
                                               ("Straßenbau Köln AG", "Strassenbau Koeln AG")])
def test_a_registered_deal_is_met_whether_its_umlauts_are_typed_or_spelt_out(alpen, registered, typed):
    """Rhein registered 'Müller Maschinenbau GmbH'; the web form brought 'Mueller
    Maschinenbau GmbH' (a keyboard without umlauts): the registration did not match and
    the lead went to whoever the rule picked, undercutting the partner that registered it."""
    from datetime import timedelta

    a = alpen
    today = a.now().date()
    a.org.update("Account", a.partners["rhein"], {"Vertriebsgebiet__c": "CH; DE"}, system=True)
    a.org.create("Opportunity", {
        "Name": f"{registered} - registration", "PartnerAccountId": a.partners["rhein"], "StageName": "Qualification",
        "CloseDate": today + timedelta(days=90), "Deal_Registration_Status__c": "Approved",
        "Registration_Expires__c": today + timedelta(days=30), "Registered_Company__c": registered,
    }, as_user=a.org.integration_user_id)
    lead = a.new_lead(typed, "DE")
    a.once(init=True)
    seen = a.lead(lead)
    assert seen["partner"] == "rhein" and "registration" in seen["Routing_Reason__c"].lower(), seen["Routing_Reason__c"]
