"""The words on the Lead an admin reads: a field by the label the org gave it, a queue by its
label and what brings it back, a partner by its name, Routing_Rule__c capitalised as every
value the connector writes there. End to end against the sandbox, read as an admin does."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .test_admin_view_e2e import _admin, _offered
from .test_admin_wording_e2e import API_NAME, as_admin
from .test_portal_answer_e2e import ANSWERS, answer_as_rep

pytestmark = pytest.mark.e2e


# ---------------------------------------------------------------- an unreadable lead: its field by its label

@pytest.fixture
def relabelled(sandbox_factory, tmp_path, monkeypatch):
    """The demo org whose admin labelled Deal_Amount__c "Deal Size", and mappings that need it."""
    from mappings import load_mappings
    from mappings import loader
    from sandbox import schema as schema_module
    from sandbox.schema import default_sfdx_dir

    from .conftest import Loop, build_connector
    from .rules_for_tests import write_rules

    sfdx = tmp_path / "sfdx"
    shutil.copytree(default_sfdx_dir(), sfdx)
    field = sfdx / "force-app/main/default/objects/Lead/fields/Deal_Amount__c.field-meta.xml"
    field.write_text(field.read_text().replace("<label>Deal Amount</label>", "<label>Deal Size</label>"))
    monkeypatch.setattr(schema_module, "_default_schema", schema_module.load_schema(sfdx))
    maps = tmp_path / "mappings"
    shutil.copytree(Path(loader.__file__).parent / "defaults", maps)
    lead_toml = maps / "lead.toml"
    lead_toml.write_text(lead_toml.read_text().replace('amount = "Deal_Amount__c"',
                                                       'amount = { field = "Deal_Amount__c", required = true }'))
    sb = sandbox_factory(seed="demo", partners=10, leads=5, random_seed=3)
    cx = build_connector(sb, f"sqlite:///{tmp_path}/state.sqlite", rules=write_rules(tmp_path))
    cx.mappings = load_mappings(maps)
    yield sb, Loop(sb, cx)
    cx.client.close()
    cx.store.dispose()


def test_an_unreadable_lead_names_the_empty_field_by_its_label(relabelled):
    """A lead without the Deal Size the mappings require is Unroutable: its reason said
    "Deal_Amount__c: required, but empty", a name the admin finds only in Setup."""
    sb, loop = relabelled
    admin = next(u["Id"] for u in sb.org.table("User").values() if u["IsActive"] and not u.get("AccountId")
                 and u["Id"] != sb.org.integration_user_id)
    lead_id = sb.org.create("Lead", {"LastName": "Ohne Betrag", "Company": "No Amount Ltd", "Country": "US",
                                     "Status": "Open - Not Contacted"}, as_user=admin)
    loop.cycle(partners_act=False)
    lead = as_admin(sb, lead_id)
    assert lead["Routing_Status__c"] == "Unroutable", lead
    assert lead["Routing_Reason__c"] == "Deal Size: required, but empty", lead["Routing_Reason__c"]


# ---------------------------------------------------------------- the escalation queue gone: by its label, and the fix

def test_a_lead_held_for_a_missing_escalation_queue_names_it_as_the_admin_knew_it_and_the_fix(org, loop):
    """The admin knew the escalation queue as "Channel Escalations Desk" (its label); it is
    deleted while the connector runs. The held lead named it Channel_Escalations (its API
    name) and said nothing of what to do: it names the label and the fix, within 255."""
    queue_id = loop.queue_id("Channel_Escalations")
    admin = _admin(org, loop)
    org.org.update("Group", queue_id, {"Name": "Channel Escalations Desk"}, as_user=org.org.integration_user_id)
    lead_id, offer = _offered(org, loop, only=True)
    org.org.delete("Group", queue_id, as_user=admin)
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
    loop.cycle(hours=1, partners_act=False)
    lead = as_admin(org, lead_id)
    reason = lead["Routing_Reason__c"]
    assert (lead["Routing_Status__c"], lead["Routing_Rule__c"]) == ("Unroutable", "Escalation held"), lead
    assert reason.startswith("Escalation held: queue Channel Escalations Desk is not in the org (create it, or name "
                             "another as the rules' escalation queue); the lead escalates once it is. rejected by "), reason
    assert "Channel_Escalations" not in reason and len(reason) <= 255, reason


# ---------------------------------------------------------------- Routing_Rule__c: capitalised, as the others

def test_a_lead_escalated_after_its_last_attempt_says_escalation_capitalised(org, tmp_path):
    """No partner took the lead in the offers allowed: the connector escalates it itself.
    Routing_Rule__c read "escalation", unlike every other value it writes there
    ("Taken over by a person", "Escalation held", a rule's name)."""
    from .conftest import Loop, build_connector
    from .rules_for_tests import BASE, ROTATION

    rules = tmp_path / "one_attempt.toml"
    rules.write_text(BASE.replace("max_attempts = 3", "max_attempts = 1") + ROTATION)
    cx = build_connector(org, f"sqlite:///{tmp_path}/state.sqlite", rules=rules)
    try:
        loop = Loop(org, cx)
        lead_id, offer = _offered(org, loop)
        answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
        loop.cycle(partners_act=False)
        lead = as_admin(org, lead_id)
        assert lead["Routing_Status__c"] == "Escalated", lead
        assert lead["Routing_Rule__c"] == "Escalation", lead
    finally:
        cx.client.close()
        cx.store.dispose()


# ---------------------------------------------------------------- a partner by its name, not its Id

def test_a_partner_account_set_by_a_person_is_named_not_by_its_id(org, loop):
    """A person sets the Lead's partner account to an Account the partner snapshot does not
    hold (no longer a partner): the reason said "the partner account was set to 001…"."""
    lead_id, offer = _offered(org, loop)
    admin = _admin(org, loop)
    other = next(a for a in sorted(org.org.records("Account"), key=lambda a: a["Id"])
                 if a.get("IsPartner") and a["Id"] != offer["partner_id"])
    org.org.update("Account", other["Id"], {"IsPartner": False}, as_user=admin)
    loop.cycle(partners_act=False)  # the partner sync no longer reads it
    org.org.update("Lead", lead_id, {"PartnerAccountId": other["Id"]}, as_user=admin)
    loop.cycle(partners_act=False)
    lead = as_admin(org, lead_id)
    reason = lead["Routing_Reason__c"]
    assert lead["Routing_Status__c"] == "Released", lead
    assert reason.startswith(f"taken over by a person: the partner account was set to {other['Name']} at "), reason
    assert other["Id"][:15] not in reason, reason


@pytest.fixture
def strict_partners(org, tmp_path):
    """The demo org, with partner mappings that need each partner's Billing Country, and one
    offer a lead."""
    from mappings import load_mappings
    from mappings import loader

    from .conftest import Loop, build_connector
    from .rules_for_tests import BASE, ROTATION

    maps = tmp_path / "mappings"
    shutil.copytree(Path(loader.__file__).parent / "defaults", maps)
    partner_toml = maps / "partner.toml"
    text = partner_toml.read_text()
    old = 'country = { field = "BillingCountry", transforms = ["country"] }'
    assert old in text
    partner_toml.write_text(text.replace(old, 'country = { field = "BillingCountry", transforms = ["country"], '
                                              'required = true }'))
    rules = tmp_path / "one_attempt.toml"  # a lead one partner rejects escalates, saying who
    rules.write_text(BASE.replace("max_attempts = 3", "max_attempts = 1") + ROTATION)
    cx = build_connector(org, f"sqlite:///{tmp_path}/state.sqlite", rules=rules)
    cx.mappings = load_mappings(maps)
    yield Loop(org, cx)
    cx.client.close()
    cx.store.dispose()


def test_a_partner_the_mappings_can_no_longer_read_is_named_by_its_name(org, strict_partners):
    """The offered partner loses its Billing Country, which the mappings need: it stays in the
    snapshot (no offer is withdrawn for a typo) but routing cannot read it. It then rejects
    the lead, which escalates: the reason said "rejected by 001…"."""
    loop = strict_partners
    lead_id, offer = _offered(org, loop)
    name = org.org.get("Account", offer["partner_id"])["Name"]
    org.org.update("Account", offer["partner_id"], {"BillingCountry": None}, as_user=_admin(org, loop))
    loop.cycle(partners_act=False)
    assert offer["partner_id"] not in loop.cx.routing().partners  # read no more
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
    loop.cycle(partners_act=False)
    lead = as_admin(org, lead_id)
    reason = lead["Routing_Reason__c"]
    assert lead["Routing_Status__c"] == "Escalated", lead
    assert reason.startswith(f"rejected by {name}: "), reason
    assert offer["partner_id"][:15] not in reason, reason


def test_a_pool_that_let_a_lead_lapse_is_named_by_its_label(org, make_loop):
    """A pool lets a lead lapse; the lead moves on, and the Lead says why the pool was not
    asked again: it named the pool Partner_Pool_NA (its API name), not as the admin sees it."""
    from .test_pool_answers_e2e import NEVER_ANSWER

    queue = next(g for g in org.org.records("Group") if g.get("DeveloperName") == "Partner_Pool_NA")
    org.org.update("Group", queue["Id"], {"Name": "North America Partner Pool"}, as_user=org.org.integration_user_id)
    loop = make_loop(org, pools=True)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id = next(lid for lid, o in sorted(loop.live().items()) if o["queue_id"] == queue["Id"])
    loop.cycle(hours=25, partners_act=False)
    reason = as_admin(org, lead_id)["Routing_Reason__c"]
    assert "pool North America Partner Pool already lapsed this lead" in reason, reason
    assert "Partner_Pool_NA" not in reason, reason


# ---------------------------------------------------------------- another org's fields, by its labels

@pytest.fixture
def alpen(sandbox_factory, tmp_path, monkeypatch):
    from .alpen_org import alpen_fixture

    return alpen_fixture(sandbox_factory, tmp_path, monkeypatch)


def test_a_lead_kept_in_house_in_a_german_org_names_its_box_and_status_field_by_their_labels(alpen):
    """Alpen ticks "Nicht routen" (Nicht_Routen__c) and keeps the status in "Zuweisungsstatus"
    (Zuweisung__c): the reason named both by their API names."""
    a = alpen
    lead = a.new_lead("Hausintern GmbH", "DE")
    a.once(init=True)
    a.org.update("Lead", lead, {"Nicht_Routen__c": True}, as_user=a.admin)
    a.once(hours=1)
    seen = a.lead(lead)
    reason = seen["Routing_Reason__c"]
    assert seen["Zuweisung__c"] == "Freigegeben", seen
    assert reason.startswith("Nicht routen is ticked"), reason
    assert reason.endswith("untick Nicht routen and set Zuweisungsstatus to Ausstehend: leadrouter routes it at its "
                           "next run"), reason
    assert not API_NAME.search(reason), reason


def test_a_lead_no_partner_covers_in_a_german_org_says_the_orgs_status_word(alpen):
    """No Alpen partner covers France: the lead escalates, its status "Eskaliert" as the org
    spells it; its reason began "Escalated: ", a status word this org does not have."""
    a = alpen
    lead = a.new_lead("Pariser Kunde SARL", "FR")
    a.once(init=True)
    seen = a.lead(lead)
    assert seen["Zuweisung__c"] == "Eskaliert", seen
    assert seen["Routing_Reason__c"].startswith("Eskaliert: Anyone covering: "), seen["Routing_Reason__c"]
