"""The offer alert end to end: the rep a lead is offered to hears of it once per offer,
through Salesforce's emailSimple action, in their language, with what they need to act."""
from __future__ import annotations

from collections import Counter

import pytest

from sandbox.simulator import Profile
from tests.emails import lead_of

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
ALWAYS_REJECT = Profile("always reject", accept=0.0, reject=1.0, delay_hours=(0.1, 0.2))


def offers(loop) -> list[dict]:
    from jobs.state.schema import offers as table

    with loop.cx.store.connect() as conn:
        return [dict(r) for r in conn.execute(table.select().where(table.c.kind == "offer")).mappings()]


def alerts(org) -> list:
    return [n for n in org.notifications.all("emailSimple") if lead_of(n)]


def test_the_offered_rep_gets_one_alert_per_offer_and_no_more(org, loop):
    org.simulator.set_profile("*", ALWAYS_REJECT)
    loop.cycle()
    loop.cycle(hours=1)  # every partner rejects: each lead is offered to a second partner
    loop.cycle(hours=1)
    made = offers(loop)
    assert any(o["attempt"] > 1 for o in made), "redistribution made second offers (else this proves less)"
    per_offer = Counter((lead_of(n), n.inputs["recipientId"]) for n in alerts(org))
    assert per_offer == Counter((o["lead_id"], o["rep_id"]) for o in made)


def test_the_alert_names_the_lead_its_deadline_and_links_to_it(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    offer = offers(loop)[0]
    lead = loop.lead(offer["lead_id"])
    [alert] = [n for n in alerts(org) if lead_of(n) == offer["lead_id"]]
    body = alert.inputs["emailBody"]
    assert lead["Company"] in alert.inputs["emailSubject"] and lead["Company"] in body
    from mappings.geo import country_code, place_name

    assert place_name(country_code(lead["Country"])) in body and (lead.get("City") or "") in body
    assert f"{offer['deadline']:%Y-%m-%d %H:%M} UTC" in body
    assert f"/lightning/r/Lead/{offer['lead_id']}/view" in body
    for product in (lead.get("Products__c") or "").split(";"):
        assert product.strip() in body


def test_a_rep_reads_the_alert_in_their_own_language(org, make_loop):
    reps = [u for u in org.org.records("User") if u.get("UserType") == "PowerPartner"]
    for u in reps:
        org.org.update("User", u["Id"], {"LanguageLocaleKey": "de"})
    loop = make_loop(org)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    sent = alerts(org)
    assert sent and all(n.inputs["emailSubject"].startswith("Neuer Lead für Sie") for n in sent)
    assert all("Bitte bis" in n.inputs["emailBody"] for n in sent)


def test_alerts_can_be_left_to_a_flow(org, make_loop):
    loop = make_loop(org, settings={"notifications": {"mode": "custom", "offer_alert": "off"}})
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    assert offers(loop) and alerts(org) == []


def test_the_alert_says_the_same_from_memory_or_after_a_restart_and_no_name_the_state_drops(org, loop):
    """Alerts use what the lead stream kept of a lead when it converted it; a restarted
    connector reads the stored record instead. Both say the same, and neither names the
    person when the state does not keep the name (jobs/minimise.py)."""
    from jobs import alerts as al

    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    offer = offers(loop)[0]
    lead = loop.lead(offer["lead_id"])
    [sent] = [n for n in alerts(org) if lead_of(n) == offer["lead_id"]]
    assert offer["lead_id"] not in loop.cx.alert_facts, "what was remembered for the alert was used once and let go"
    # as the lead stream remembers it: converted from the full record, kept as the state keeps it
    al.remember(loop.cx, [(loop.cx.mappings.lead_converter()(lead), loop.cx.minimiser()(lead))])
    remembered = loop.cx.alert_facts.pop(offer["lead_id"])
    [(row, record)] = [x for x in al._confirmed_offers(loop.cx, [_entry_id(loop, offer["id"])])]
    assert record is not None, "a miss reads the stored record"
    from_record = al._facts(loop.cx, row, record, loop.cx.mappings.lead_converter())
    assert {k: from_record[k] for k in remembered} == remembered
    for personal in (lead.get("FirstName"), lead.get("LastName")):
        if personal and personal not in lead["Company"]:
            assert personal not in sent.inputs["emailBody"]


def _entry_id(loop, offer_id: int) -> int:
    from jobs.state.schema import outbox

    with loop.cx.store.connect() as conn:
        return conn.execute(outbox.select().where(outbox.c.offer_id == offer_id)).mappings().first()["id"]


def test_a_company_from_a_web_form_cannot_write_lines_of_its_own_into_the_alert(org, loop):
    """The partner rep reads the alert as the vendor's words: a Company with line breaks
    (or an ESC sequence) arrives as one plain line, and nothing else of the alert moves."""
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    like = loop.lead(offers(loop)[0]["lead_id"])
    hostile = "Acme\r\n\r\nURGENT: your portal password expires, log in at http://evil.example\x1b[8m"
    fields = {k: like[k] for k in ("LastName", "Country", "State", "PostalCode", "City", "Industry", "LeadSource",
                                   "Products__c") if like.get(k) is not None}
    new_id = org.org.create("Lead", {**fields, "Company": hostile})
    loop.cycle()
    sent = [n for n in alerts(org) if lead_of(n) == new_id]
    assert sent, "the new lead was offered like the one it copies"
    body, subject = sent[0].inputs["emailBody"], sent[0].inputs["emailSubject"]
    shown = "Acme URGENT: your portal password expires, log in at http://evil.example [8m"
    assert shown in body and shown in subject
    assert not any(line.startswith("URGENT") for line in body.splitlines())
    assert "\x1b" not in body + subject and "\r" not in body + subject
    assert org.org.get("Lead", new_id)["Company"] == hostile  # the org's own text is untouched


def test_the_alert_names_the_region_as_the_rep_reads_it_not_by_its_codes(org, loop):
    """"Williston, US-ND, US" says nothing to a partner: the alert names the state and the
    country (ISO 3166 names, pycountry's), in the rep's language where pycountry has one."""
    import re

    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lines = {}
    for n in alerts(org):
        lead = loop.lead(lead_of(n))
        lines[(lead.get("City"), lead["Country"])] = first = n.inputs["emailBody"].split("\n")[0]
        assert not re.search(r"\b[A-Z]{2}-[A-Z0-9]{1,3}\b", first), first
    assert "Williston, North Dakota, United States" in lines[("Williston", "US")]
    assert "Suibara, 新潟, 日本" in lines[("Suibara", "Japan")], "a Japanese rep reads Japanese names"
    assert "België" in lines[("Bornem", "BE")], "a Dutch-speaking rep reads Dutch names"
