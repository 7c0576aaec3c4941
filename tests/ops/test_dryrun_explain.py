"""dry-run and explain show what would happen, and write nothing to the org."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

from jobs.cli import main


def lead_fields(sb):
    with sb.org.lock:
        return {r["Id"]: (r["OwnerId"], r.get("Routing_Status__c"), r["SystemModstamp"]) for r in sb.org.records("Lead")}


def test_dry_run_routes_every_unrouted_lead_and_writes_nothing(workdir, seeded_org, capsys):
    before = lead_fields(seeded_org)
    seeded_org.counters.reset()
    assert main(["dry-run", "--config", str(workdir / "leadrouter.toml"), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(before)
    assert {r["outcome"] for r in rows} <= {"offer", "pool", "escalate", "fallback", "unroutable"}
    assert any(r["outcome"] == "offer" and " / " in r["to"] for r in rows)  # partner / rep
    assert lead_fields(seeded_org) == before
    counts = seeded_org.counters.snapshot()
    assert not any("composite" in k or k.startswith("PATCH") for k, v in counts.get("endpoints", {}).items() if v)


def test_dry_run_with_other_rules_lists_only_the_leads_that_would_change(workdir, capsys):
    proposed = workdir / "proposed.toml"
    text = (workdir / "rules.toml").read_text()
    # events and referrals lose their own process: a change a reviewer must see
    old = """when = 'source in ["Partner Referral", "Trade Show"]'"""
    assert old in text
    proposed.write_text(text.replace(old, "when = 'false'", 1))
    assert main(["dry-run", "--config", str(workdir / "leadrouter.toml"), "--rules", str(proposed), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows, "the proposed rules change outcomes, the diff must list them"
    assert all(r["before"] != r["after"] for r in rows)
    assert any("Events" not in r["after"] for r in rows)


def test_dry_run_with_a_broken_rule_file_names_the_problem(workdir, capsys):
    broken = workdir / "broken.toml"
    broken.write_text((workdir / "rules.toml").read_text().replace('distribute = "least_loaded"', 'distribute = "lest_loaded"', 1))
    assert main(["dry-run", "--config", str(workdir / "leadrouter.toml"), "--rules", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "broken.toml" in err and "least_loaded" in err


def test_explain_gives_the_trace_of_one_lead(workdir, seeded_org, capsys):
    lead_id = sorted(lead_fields(seeded_org))[4]
    assert main(["explain", lead_id[:15], "--config", str(workdir / "leadrouter.toml"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    now = out["now"]
    assert now["found"] and now["kind"] in {"offer", "pool", "escalate", "fallback", "unroutable"}
    assert lead_id in now["text"]
    assert out["history"] == []  # nothing decided yet: no state database


def test_explain_an_unknown_lead_says_so(workdir, capsys):
    assert main(["explain", "00Q5g00000ZZZZZ", "--config", str(workdir / "leadrouter.toml")]) == 1
    assert "not found in the org" in capsys.readouterr().out


def test_explain_given_an_account_id_says_it_is_not_a_lead(workdir, seeded_org, capsys):
    account = next(a for a in seeded_org.org.records("Account") if a.get("IsPartner"))
    assert main(["explain", account["Id"], "--config", str(workdir / "leadrouter.toml")]) == 1
    assert "not a Lead id: those begin with 00Q, this one with 001" in capsys.readouterr().out


def test_explain_of_an_id_mistyped_in_its_last_letters_says_so_not_a_mapping_problem(workdir, seeded_org, capsys):
    """An 18-character id whose three check letters do not fit its first 15 (one letter
    mistyped): Salesforce answers INVALID_QUERY_FILTER_OPERATOR 'invalid ID field'. That is
    no mapping filter and no configuration problem: the id is named, with the id meant."""
    lead = next(r["Id"] for r in seeded_org.org.records("Lead"))
    mistyped = lead[:15] + ("AAB" if lead[15:] != "AAB" else "AAC")
    try:
        code = main(["explain", mistyped, "--config", str(workdir / "leadrouter.toml")])
    except SystemExit as e:
        code = e.code
    said = capsys.readouterr().err
    assert code == 2 and mistyped in said and f"did you mean {lead}?" in said, said
    assert "mapping" not in said and "SELECT" not in said and "configuration problem" not in said, said


def test_an_invalid_id_in_a_query_is_not_blamed_on_a_mapping_filter():
    from connector.errors import classify

    failure = classify({"errorCode": "INVALID_QUERY_FILTER_OPERATOR",
                        "message": "\nSELECT Id FROM Lead WHERE Id IN ('00Q5g0000000001EAB')\n"
                                   "ERROR at Row:1:Column:35\ninvalid ID field: 00Q5g0000000001EAB"})
    assert "id" in failure.fix and "filter" not in failure.fix, failure


def test_validate_and_dry_run_accept_the_score_and_performance_facts_as_once_does(workdir, capsys):
    """A rule naming the lead score or a partner performance fact is valid everywhere:
    `validate` and `dry-run` read the same attributes as the running connector."""
    proposed = workdir / "learning.toml"
    text = (workdir / "rules.toml").read_text()
    old = """when = 'source in ["Partner Referral", "Trade Show"]'"""
    assert old in text
    proposed.write_text(text.replace(old, """when = 'score >= 0.0 and source in ["Partner Referral", "Trade Show"]'""", 1))
    config = workdir / "learning-config.toml"
    config.write_text((workdir / "leadrouter.toml").read_text().replace(str(workdir / "rules.toml"), str(proposed)))
    assert str(proposed) in config.read_text()
    code = main(["validate", "--config", str(config), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert (code, report["errors"]) == (0, 0), report["findings"]
    assert any(f["file"].endswith("learning.toml") for f in report["findings"]), "the proposed rule file was read"
    assert main(["dry-run", "--config", str(config), "--format", "json"]) == 0
    capsys.readouterr()


def test_validate_names_an_api_version_the_org_does_not_serve_and_the_one_to_use(workdir, capsys):
    """Every query and describe would answer NOT_FOUND: one finding says why, not a traceback."""
    config = workdir / "leadrouter.toml"
    config.write_text(config.read_text().replace('api_version = "62.0"', 'api_version = "48.0"'))
    assert 'api_version = "48.0"' in config.read_text()
    assert main(["validate", "--config", str(config), "--json"]) != 0
    report = json.loads(capsys.readouterr().out)
    [finding] = [f for f in report["findings"] if f["key"] == "salesforce.api_version"]
    assert "'48.0' is not served by this org" in finding["message"] and 'api_version = "62.0"' in finding["fix"]
    assert report["errors"] == 1, report["findings"]


def test_dry_run_ends_with_a_count_per_outcome_a_channel_manager_reads(workdir, seeded_org, capsys):
    assert main(["dry-run", "--config", str(workdir / "leadrouter.toml")]) == 0
    footer = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ leads: \d+ [a-z]+(, \d+ [a-z]+)* \(nothing was written\)", footer), footer


def test_explain_names_an_expired_registration_that_matched_the_lead_and_the_date_it_expired(workdir, seeded_org,
                                                                                              capsys):
    """An approved registration past its expiry (the org's date) no longer protects the deal:
    explain says so, naming the registration, its partner and the date, not nothing."""
    org = seeded_org.org
    today = org.clock.now().date()  # the org's clock, never the host's
    expired_on = today - timedelta(days=3)
    partner = next(a for a in org.records("Account") if a.get("IsPartner"))
    lead_id = org.create("Lead", {"LastName": "Quarry", "Company": "Zephyrine Quarry Holdings", "Country": "US",
                                  "State": "CA", "City": "San Francisco", "PostalCode": "94105", "LeadSource": "Web",
                                  "Email": "jo@zephyrine-quarry.example"})
    reg_id = org.create("Opportunity", {
        "Name": "Zephyrine expansion", "PartnerAccountId": partner["Id"], "StageName": "Qualification",
        "CloseDate": today + timedelta(days=90), "Deal_Registration_Status__c": "Approved",
        "Registration_Expires__c": expired_on, "Registered_Company__c": "Zephyrine Quarry Holdings",
        "Registered_Email_Domain__c": "zephyrine-quarry.example"}, as_user=org.integration_user_id)
    try:
        assert main(["explain", lead_id, "--config", str(workdir / "leadrouter.toml")]) == 0
        said = capsys.readouterr().out
        assert (f"registration 'Zephyrine expansion' ({reg_id}) for {partner['Name']} expired on "
                f"{expired_on:%Y-%m-%d}; not protecting") in said, said
    finally:
        org.delete("Opportunity", reg_id)
        org.delete("Lead", lead_id)


def test_explain_takes_the_leads_url_as_pasted_from_the_browser(workdir, seeded_org, capsys):
    """The README says the id is in the Lead's URL; the URL itself was 'not a Salesforce id'."""
    lead = next(r["Id"] for r in seeded_org.org.records("Lead"))
    url = f"https://acme.lightning.force.com/lightning/r/Lead/{lead}/view"
    assert main(["explain", url, "--config", str(workdir / "leadrouter.toml"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lead_id"] == lead


def _tiers_in_lower_case(text: str) -> str:
    for old, new in (('min_tier = "Gold"', 'min_tier = "gold"'), ('tiers = ["Platinum"]', 'tiers = ["platinum"]'),
                     ("\nGold = 3", "\ngold = 3"), ("\nPlatinum = 4", "\nPLATINUM = 4"),
                     ('["Registered", "Silver", "Gold", "Platinum"]', '["registered", "silver", "gold", "platinum"]')):
        assert old in text, old
        text = text.replace(old, new)
    return text


def test_tiers_a_rule_file_writes_in_another_case_route_as_the_orgs_spelling_does(workdir, seeded_org, capsys):
    """Programs matched whatever their case, tiers did not: `tiers = ["platinum"]` and
    `min_tier = "gold"` were errors, `platinum = 10` under [settings.tier_weights] too, and a
    partner condition `tier == "gold"` read every partner's tier as "gold" — so weighted
    offers looked up the weight of "gold", found none, and weighed Gold as 1. Salesforce
    compares picklist values without case; so do tiers now, and explain names the org's."""
    rules, config = workdir / "rules.toml", str(workdir / "leadrouter.toml")
    weighted = 'name = "Anyone covering the country"\n'
    base = rules.read_text().replace(
        weighted, weighted + """  partners = 'tier in ["Registered", "Silver", "Gold", "Platinum"]'\n""")
    rules.write_text(base)
    lower = workdir / "lower.toml"
    lower.write_text(_tiers_in_lower_case(base))

    assert main(["dry-run", "--config", config, "--rules", str(lower), "--format", "json"]) == 0
    changed = json.loads(capsys.readouterr().out)
    assert changed == [], changed

    rules.write_text(lower.read_text())
    assert main(["validate", "--config", config, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)["findings"]
    assert not [f for f in found if f["file"].endswith("rules.toml") and (
        "tier" in f["key"] or "tier" in f["message"] and ("never" in f["message"] or "unknown" in f["message"]))], found

    assert main(["dry-run", "--config", config, "--format", "json"]) == 0
    weighted_leads = [r for r in json.loads(capsys.readouterr().out) if r.get("rule") == "Anyone covering the country"]
    assert weighted_leads, "the seeded org has leads only the weighted rule places"
    assert main(["explain", weighted_leads[0]["lead_id"], "--config", config]) == 0
    said = capsys.readouterr().out
    named = re.findall(r"weighted by tier \((\w+): weight ([\d.]+)\)", said)
    assert named and all(t in ("Registered", "Silver", "Gold", "Platinum") for t, _ in named), said
    assert all(float(w) == {"Registered": 1, "Silver": 2, "Gold": 3, "Platinum": 4}[t] for t, w in named), said


def test_explain_names_a_lead_owned_by_a_person_by_their_name(workdir, seeded_org, capsys):
    """A lead a salesperson of the vendor owns (no rep, no queue): the admin reads who, not
    a 005… id to look up."""
    lead_id = sorted(lead_fields(seeded_org))[5]
    owner, was = seeded_org.org.admin_user_id, lead_fields(seeded_org)[lead_id][0]
    name = seeded_org.org.get("User", owner)["Name"]
    seeded_org.org.update("Lead", lead_id, {"OwnerId": owner})
    try:
        assert main(["explain", lead_id, "--config", str(workdir / "leadrouter.toml")]) == 0
    finally:  # the module's org is shared: the other tests route this lead as seeded
        seeded_org.org.update("Lead", lead_id, {"OwnerId": was})
    now = next(line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("Now:"))
    assert f"owner {name};" in now and owner not in now, now


def test_explain_names_a_queue_by_the_label_the_admin_knows_it_by(workdir, seeded_org, capsys):
    lead_id = sorted(lead_fields(seeded_org))[6]
    was = lead_fields(seeded_org)[lead_id][0]
    [queue] = [g for g in seeded_org.org.records("Group") if g.get("DeveloperName") == "Channel_Escalations"]
    seeded_org.org.update("Lead", lead_id, {"OwnerId": queue["Id"]})
    try:
        assert main(["explain", lead_id, "--config", str(workdir / "leadrouter.toml")]) == 0
    finally:  # the module's org is shared: the other tests route this lead as seeded
        seeded_org.org.update("Lead", lead_id, {"OwnerId": was})
    now = next(line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("Now:"))
    assert f"owner queue {queue['Name']};" in now and queue["Name"] != "Channel_Escalations", now
