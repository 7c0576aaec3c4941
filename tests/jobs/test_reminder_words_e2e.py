"""Reminders as the partner's rep reads them in their mailbox: which lead, in their own
language, with the link that opens it — as the offer alert before them.

Before, an emailed reminder said only "Please accept or reject this lead before …": no
company, no link (the email names its lead only through a link in its body), and in English to a rep the alert had addressed in German."""
from __future__ import annotations

import pytest

from sandbox.simulator import Profile
from tests.emails import lead_of

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
ALWAYS_ACCEPT = Profile("always accept", accept=1.0, reject=0.0, delay_hours=(0.1, 0.2))


def in_german(org) -> None:
    for u in org.org.records("User"):
        if u.get("UserType") == "PowerPartner":
            org.org.update("User", u["Id"], {"LanguageLocaleKey": "de"})


def emails(org, subject_start: str) -> list:
    return [n for n in org.notifications.all("emailSimple") if n.inputs["emailSubject"].startswith(subject_start)]


def test_an_emailed_reminder_names_the_lead_links_to_it_and_speaks_the_reps_language(org, make_loop):
    in_german(org)
    loop = make_loop(org, settings={"notifications": {"mode": "email"}})
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    live = {lid: o for lid, o in loop.live().items() if o["kind"] == "offer"}
    assert live
    loop.cycle(hours=21)  # 24-hour window, reminders 4 hours before: due now
    loop.cycle(hours=1)
    sent = emails(org, "Angebot läuft bald ab")
    assert {lead_of(n) for n in sent} == set(live)
    for n in sent:
        lead_id = lead_of(n)
        company = loop.lead(lead_id)["Company"]
        assert company in n.inputs["emailSubject"]
        body = n.inputs["emailBody"]
        assert f"/lightning/r/Lead/{lead_id}/view" in body
        assert f"{live[lead_id]['deadline']:%Y-%m-%d %H:%M} UTC" in body and "annehmen oder ablehnen" in body
    assert not emails(org, "Lead offer expires soon")


def test_an_emailed_follow_up_names_the_lead_links_to_it_and_speaks_the_reps_language(org, make_loop):
    in_german(org)
    loop = make_loop(org, settings={"notifications": {"mode": "email"}, "offers": {"followup_days": 3}})
    org.simulator.set_profile("*", ALWAYS_ACCEPT)
    loop.cycle(partners_act=False)
    loop.cycle(hours=1)
    accepted = {r["Id"] for r in org.org.records("Lead") if r.get("Routing_Status__c") == "Accepted"
                and r.get("Status") == "Open - Not Contacted"}
    assert accepted
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle(hours=3 * 24)
    loop.cycle(hours=1)
    sent = emails(org, "Angenommener Lead noch nicht bearbeitet")
    assert sent and {lead_of(n) for n in sent} <= accepted
    for n in sent:
        lead_id = lead_of(n)
        assert loop.lead(lead_id)["Company"] in n.inputs["emailSubject"]
        assert f"/lightning/r/Lead/{lead_id}/view" in n.inputs["emailBody"]
        assert "Open - Not Contacted" in n.inputs["emailBody"]
    assert not emails(org, "Accepted lead not worked yet")
