"""`dry-run` and `explain` tell an ops person what `leadrouter once` will do, on Kestrel's
org (tests/jobs/kestrel_org.py): for leads of every kind of rule (a deal registration,
nearest, a pool, a distributor, a fiscal quarter, a weighted rotation, caps spent, a lead
left alone), before the first run and again with a state that has rotations and counts in
it, the preview names the same outcome, rule and partner (or queue) that `once` then
writes on the Lead.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.jobs.kestrel_org import kestrel_fixture, register_deal

pytestmark = pytest.mark.e2e

kestrel = pytest.fixture(kestrel_fixture)

LONDON = {"Latitude": 51.5155, "Longitude": -0.0922}
STATUS = {"offer": "Offered", "pool": "Offered", "escalate": "Escalated", "fallback": "Fallback",
          "unroutable": "Unroutable"}


def mixed_leads(k, tag: str) -> list[str]:
    register_deal(k, "pennine", f"{tag} Guildhall Partners")
    leads = [
        k.new_lead(f"{tag} Guildhall Partners", "GB", **LONDON),
        k.new_lead(f"{tag} Barbican Books", "GB", **LONDON),
        k.new_lead(f"{tag} Leeds Looms", "GB"),
        k.new_lead(f"{tag} Yokohama Yards", "JP"),
        k.new_lead(f"{tag} Perth Pearls", "AU"),
        k.new_lead(f"{tag} Auckland Apps", "NZ"),
        k.new_lead(f"{tag} Bengaluru Bytes", "IN", Expected_Close_Date__c="2031-03-20"),
        k.new_lead(f"{tag} Hyderabad Hubs", "IN", Expected_Close_Date__c="2031-08-20"),
        k.new_lead(f"{tag} Left Alone Pte", "SG", Do_Not_Route__c=True),
    ]
    leads += [k.new_lead(f"{tag} Sentosa {i}", "SG") for i in range(8)]
    return leads


def what_once_did(k, lead: str) -> tuple:
    v = k.view(lead)
    who = v["partner"] or v["OwnerId"]
    return v["Routing_Status__c"], v["Routing_Rule__c"], who


def what_preview_said(k, row: dict) -> tuple:
    outcome = row["outcome"]
    return STATUS.get(outcome, outcome), row.get("rule"), row.get("to")


def agree(k, leads: list[str]) -> None:
    rows = k.dry_run()
    said = {lead: rows.get(lead) for lead in leads}
    explained = {lead: k.explain(lead)["now"] for lead in leads}
    k.once()
    for lead in leads:
        status, rule, who = what_once_did(k, lead)
        row, ex = said[lead], explained[lead]
        if status is None:  # left alone
            assert row is None or row["outcome"] in ("left alone", "skip", "left_alone"), row
            continue
        assert row is not None, f"dry-run did not list {lead}, which once routed ({status}, {rule})"
        assert STATUS.get(row["outcome"]) == status, (lead, row, status, rule)
        assert row.get("rule") == rule, (lead, row, rule)
        name = k.org.get("Account", k.partners[who])["Name"] if who in k.partners else None
        if name:
            assert name in row["to"], (lead, row, name)
            assert name in ex["text"] or name in ex.get("summary", ""), (lead, ex.get("summary"))
        assert STATUS.get(ex["kind"]) == status, (lead, ex["kind"], status)


def test_dry_run_and_explain_agree_with_the_first_once(kestrel):
    k = kestrel
    k.once(init=True)  # the state exists, empty
    agree(k, mixed_leads(k, "First"))


def test_dry_run_and_explain_agree_with_once_when_rotations_and_caps_are_under_way(kestrel):
    k = kestrel
    k.org.update("Account", k.partners["merlion"], {"Daily_Cap__c": 2.0}, as_user=k.admin)
    k.once(init=True)
    mixed_leads(k, "Earlier")
    k.once()
    agree(k, mixed_leads(k, "Later"))


def test_validate_passes_kestrels_setup_whose_zone_and_fiscal_year_match_the_org(kestrel, capsys):
    from jobs.cli import main

    code = main(["validate", "--config", str(kestrel.config)])
    said = capsys.readouterr()
    assert code == 0 and "0 error(s)" in said.out + said.err, said.out + said.err


def test_validate_names_a_rule_file_whose_calendar_is_not_the_orgs(kestrel, capsys):
    """The rule file left at the shipped UTC and January: the org is Sydney's, July's."""
    from jobs.cli import main

    rules = kestrel.work / "rules.toml"
    rules.write_text(rules.read_text().replace('time_zone = "Australia/Sydney"\n', "")
                     .replace("fiscal_year_start_month = 7\n", ""))
    main(["validate", "--config", str(kestrel.config)])
    said = (lambda c: c.out + c.err)(capsys.readouterr())
    assert "Australia/Sydney" in said and "fiscal_year_start_month" in said, said


def test_dry_run_and_explain_take_the_leads_in_the_order_once_reads_them(kestrel):
    """`once` reads leads by SystemModstamp: a lead created first but edited after the others
    (a person fixed its phone number) is routed last, and a rotation gives it the last turn."""
    k = kestrel
    k.once(init=True)
    first, second, third = (k.new_lead(f"Docklands {n}", "GB") for n in ("One", "Two", "Three"))
    k.sb.clock.advance(timedelta(seconds=5))
    k.org.update("Lead", first, {"Phone": "+44 20 7946 0000"}, as_user=k.admin)
    agree(k, [first, second, third])


def test_dry_run_and_explain_agree_with_once_on_a_lead_a_person_sent_back_to_pending(kestrel):
    """A person sets Routing_Status__c = Pending on an offered lead: `once` withdraws the
    offer and routes it afresh past the partner that held it; the preview says the same."""
    k = kestrel
    lead = k.new_lead("Greenwich Glassworks", "GB")
    k.once(init=True)
    held = k.view(lead)["partner"]
    k.answer(lead, {"Routing_Status__c": "Pending"}, as_user=k.admin)
    k.sb.clock.advance(timedelta(seconds=2))
    agree(k, [lead])
    assert k.view(lead)["partner"] != held, k.view(lead)
