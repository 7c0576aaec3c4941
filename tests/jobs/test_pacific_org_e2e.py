"""The full loop on Pacific Edge (tests/jobs/pacific_org.py): an org shaped unlike the demo
seed, its rules ending in `otherwise = "escalate"`."""
from __future__ import annotations

import pytest

from tests.jobs.pacific_org import pacific_fixture

pytestmark = pytest.mark.e2e

pacific = pytest.fixture(pacific_fixture)


def test_a_lead_escalated_after_its_offer_lapsed_says_the_offer_lapsed(pacific):
    """Near SF: offered to Pago Pago (14 km), which lets it lapse; the rule's otherwise
    escalates it. The Lead must not read as if nobody was ever near ("nobody within 50 km")."""
    k = pacific
    lead = k.new_lead("Near SF", "US", Latitude=37.80, Longitude=-122.27)
    k.once(init=True)
    v = k.view(lead)
    assert (v["partner"], v["Routing_Status__c"]) == ("pago", "Offered"), v
    k.once(hours=100)  # 24 working hours in Pago Pago are long over
    v = k.view(lead)
    assert v["Routing_Status__c"] == "Escalated" and v["OwnerId"] == k.queues["Channel_Escalations"], v
    assert "lapsed" in v["Routing_Reason__c"] and "Pago Pago Networks" in v["Routing_Reason__c"], v


def test_a_lead_escalated_after_a_rejection_says_who_rejected_it_and_why(pacific):
    """Postal 94107, no coordinates: Kiritimati (US:94) rejects it; the next rule needs
    coordinates and escalates. The Lead says the rejection, not only the missing coordinates."""
    k = pacific
    lead = k.new_lead("Mission Bay Labs", "US", PostalCode="94107")
    k.once(init=True)
    assert k.view(lead)["partner"] == "kiri", k.view(lead)
    k.reject(lead, "Out of territory")
    k.once(hours=0.1)
    v = k.view(lead)
    assert v["Routing_Status__c"] == "Escalated", v
    assert "rejected by Kiritimati Atoll IT" in v["Routing_Reason__c"] and "Out of territory" in v["Routing_Reason__c"], v


def test_validate_does_not_call_a_rules_own_hand_down_dead_for_matching_no_unrouted_lead(pacific, capsys):
    """A rule's own [ruleset.rule.hand_down] applies to leads its distributors accepted, never
    to an unrouted lead: validate, trying the rules on the org's unrouted leads, must not warn
    that it "may never match" (it skips the file's top-level [hand_down] for that reason)."""
    import json

    from jobs.cli import main

    k = pacific
    k.org.update("Account", k.partners["kiri"], {"Partner_Role__c": "Distributor"}, system=True)
    rules = k.work / "rules.toml"
    rules.write_text(rules.read_text().replace(
        '  name = "Postal coverage"\n  match = { geography = true }\n  distribute = "round_robin"\n',
        '  name = "Postal coverage"\n  match = { geography = true, role = "Distributor" }\n  distribute = "round_robin"\n\n'
        '    [ruleset.rule.hand_down]\n    match = { geography = true }\n    distribute = "round_robin"\n'))
    assert "[ruleset.rule.hand_down]" in rules.read_text()
    k.new_lead("Mission Bay Labs", "US", PostalCode="94107")
    capsys.readouterr()
    assert main(["validate", "--config", str(k.config), "--json"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    dead = [f for f in findings if "matched none" in f["message"]]
    assert not [f for f in dead if "hand-down" in f["key"]], dead


def test_explain_tells_the_lapse_before_the_escalation_it_caused(pacific, capsys):
    """The lapse and the escalation it led to happen in the same run (the same minute):
    explain's history must tell them in the order they happened, not every decision of a
    minute before every offer's end."""
    from jobs.cli import main

    k = pacific
    lead = k.new_lead("Near SF", "US", Latitude=37.80, Longitude=-122.27)
    k.once(init=True)
    k.once(hours=100)
    assert k.view(lead)["Routing_Status__c"] == "Escalated"
    capsys.readouterr()
    assert main(["explain", lead, "--config", str(k.config)]) == 0
    text = capsys.readouterr().out
    history = text.split("History, oldest first (times UTC):")[1].split("\n\n")[0].strip().splitlines()
    said = [line.split("  ", 2)[-1] for line in history]
    lapsed = next(i for i, s in enumerate(said) if s.startswith("lapsed at Pago Pago Networks"))
    escalated = next(i for i, s in enumerate(said) if s.startswith("escalated to"))
    offered = next(i for i, s in enumerate(said) if s.startswith("offered to Pago Pago Networks"))
    assert offered < lapsed < escalated, history


def test_dry_run_and_explain_of_a_lead_set_pending_pass_over_the_partner_that_let_it_lapse(pacific):
    """A person sets Pending on the escalated lead to have it routed again: `once` passes
    over Pago Pago, which let it lapse (a bar outlives the offer), and escalates it again.
    dry-run and explain must preview that, not an offer to Pago Pago."""
    k = pacific
    lead = k.new_lead("Near SF", "US", Latitude=37.80, Longitude=-122.27)
    k.once(init=True)
    k.once(hours=100)
    assert k.view(lead)["Routing_Status__c"] == "Escalated"
    k.org.update("Lead", lead, {"Routing_Status__c": "Pending"}, as_user=k.admin)
    previewed = k.dry_run()[lead]
    explained = k.explain(lead)["now"]
    k.once(hours=0.1)
    v = k.view(lead)
    assert v["Routing_Status__c"] == "Escalated" and v["partner"] is None, v
    assert (previewed["outcome"], previewed["to"]) == ("escalate", "Channel_Escalations"), previewed
    assert explained["kind"] == "escalate", explained["summary"]
    assert "Pago Pago Networks" not in (explained["explanation"].get("chosen") or {}).get("partner", ""), explained


def test_a_deal_registered_by_a_partner_without_a_rep_escalates_in_plain_words(pacific):
    """Ghost Partner registered the deal but has no rep to offer it to: the lead escalates,
    its reason saying so in a sentence an admin reads ("has no active rep")."""
    from tests.jobs.kestrel_org import register_deal

    k = pacific
    register_deal(k, "ghost", "Bay Widgets Inc")
    lead = k.new_lead("Bay Widgets", "US", PostalCode="94107")
    k.once(init=True)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["Routing_Rule__c"]) == ("Escalated", "Deal registration"), v
    assert v["Routing_Reason__c"].endswith("but Ghost Partner has no active rep"), v


def test_validate_names_a_rule_matching_on_partner_fields_the_mapping_leaves_out(pacific, capsys):
    """An ops person writes a partner.toml of their own to read coverage from another field,
    mapping only what they changed: the section replaces the shipped one whole, so the
    partners' coordinates and radius are no longer read and 'Nearby' can never offer anyone.
    validate must say which rule needs which attribute, and the fix."""
    import json

    from jobs.cli import main

    k = pacific
    mdir = k.work / "mappings"
    mdir.mkdir()
    (mdir / "partner.toml").write_text(
        '[partner]\nsobject = "Account"\nfilter = "IsPartner = true"\n\n[partner.fields]\nid = "Id"\nname = "Name"\n'
        'coverage = { field = "Coverage__c", transforms = ["coverage"] }\ntime_zone = "Time_Zone__c"\n')
    k.config.write_text(k.config.read_text() + f'\n[mappings]\ndir = "{mdir}"\n')
    k.new_lead("Near SF", "US", Latitude=37.80, Longitude=-122.27)
    capsys.readouterr()
    assert main(["validate", "--config", str(k.config), "--json"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    said = [f for f in findings if "Nearby" in f["key"] + f["message"] and "lat" in f["message"]]
    assert said, [f["message"] for f in findings]
    assert said[0]["severity"] == "warning" and "radius_km" in said[0]["message"], said[0]
    assert "partner.toml" in said[0]["fix"] and "BillingLatitude" in said[0]["fix"], said[0]
    # what the file maps is not named
    assert not [f for f in findings if "coverage" in f["message"] and "maps no" in f["message"]], findings


def test_validate_of_a_partner_toml_without_sobject_shows_the_partner_sections_own(pacific, capsys):
    """A partner.toml holding only [partner.fields]: the fix shows the [partner] section's
    shipped sobject (Account), not the Lead's."""
    import json

    from jobs.cli import main

    k = pacific
    mdir = k.work / "mappings"
    mdir.mkdir()
    (mdir / "partner.toml").write_text('[partner.fields]\ncoverage = { field = "Coverage__c", transforms = ["coverage"] }\n')
    k.config.write_text(k.config.read_text() + f'\n[mappings]\ndir = "{mdir}"\n')
    capsys.readouterr()
    assert main(["validate", "--config", str(k.config), "--json"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    said = next(f for f in findings if f["key"] == "partner.sobject")
    assert 'sobject = "Account"' in said["fix"] and '"Lead"' not in said["fix"], said
    assert "defaults/partner.toml" in said["fix"], said


def test_status_says_no_rep_left_when_only_the_orgs_own_users_changed(pacific, capsys):
    """Between two runs only the org's own users changed (the integration user logging in,
    an admin editing theirs): no partner rep left the [rep] filter, and `status` must not
    say "reps left"."""
    from jobs.cli import main

    k = pacific
    k.once(init=True)
    k.org.update("User", k.admin, {"Title": "Channel Director"}, system=True)
    k.once(hours=1)
    capsys.readouterr()
    assert main(["status", "--config", str(k.config)]) == 0
    text = capsys.readouterr().out
    sync = text.split("sync_partners", 1)[1].split("\n\n", 1)[0]
    assert "reps left" not in sync and "left" not in sync.split("\n")[1], sync


def test_a_lead_a_later_rule_escalates_also_says_why_the_earlier_rule_passed_it_on(pacific):
    """Kiritimati takes one lead a day (Daily_Cap__c 1). The second lead from a postal code it
    covers passes 'Postal coverage' for the cap, and 'Nearby' (no coordinates) escalates it:
    the Lead says the cap too, not only that the lead has no coordinates."""
    k = pacific
    k.org.update("Account", k.partners["kiri"], {"Daily_Cap__c": 1.0}, system=True)
    first = k.new_lead("Mission Bay Labs", "US", PostalCode="94107")
    second = k.new_lead("Dogpatch Data", "US", PostalCode="94107")
    k.once(init=True)
    assert k.view(first)["partner"] == "kiri"
    v = k.view(second)
    assert v["Routing_Status__c"] == "Escalated" and v["Routing_Rule__c"] == "Nearby", v
    reason = v["Routing_Reason__c"]
    assert reason.startswith("Escalated: Nearby: lead has no coordinates"), reason
    assert "Postal coverage" in reason and "daily cap" in reason, reason


def test_validate_does_not_call_a_pool_member_without_coverage_never_offered(pacific, capsys):
    """Pago Pago has no coverage, but its rep is in the pool a rule without any geography puts
    trade-show leads in: it pulls leads from there, so validate must not list it among the
    partners 'no rule offers a lead'."""
    import json

    from jobs.cli import main
    from sandbox.bootstrap import add_queue

    k = pacific
    queue = add_queue(k.org, "Partner_Pool_Pacific", "Pacific Pool")
    k.org.create("GroupMember", {"GroupId": queue, "UserOrGroupId": k.reps["pago"]}, as_user=k.org.integration_user_id)
    rules = k.work / "rules.toml"
    rules.write_text(rules.read_text().replace(
        '  [[ruleset.rule]]\n  name = "Postal coverage"',
        '  [[ruleset.rule]]\n  name = "Trade shows"\n  when = \'source == "Trade Show"\'\n  pool = "Partner_Pool_Pacific"\n\n'
        '  [[ruleset.rule]]\n  name = "Postal coverage"').replace(
        '  name = "Nearby"\n  match = { within_km = 50, partner_radius = true }\n  distribute = "nearest"',
        '  name = "Nearby"\n  match = { geography = true }\n  distribute = "round_robin"'))
    k.new_lead("Show Floor Inc", "US", PostalCode="94107", LeadSource="Trade Show")
    capsys.readouterr()
    assert main(["validate", "--config", str(k.config), "--json"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    bare = [f for f in findings if f["key"] == "coverage" and "with no coverage" in f["message"]]
    assert not [f for f in bare if "Pago Pago Networks" in f["message"]], bare


def test_explain_tells_a_lead_back_with_its_distributor_in_words(pacific, capsys):
    """Kiritimati is a distributor and Pago Pago its reseller. Kiritimati accepts, the lead goes
    down to Pago Pago, which rejects it: it is back with Kiritimati. explain's history says so
    in the admin's words, naming the distributor, not the state's "hand_back by rule 'hand_down'"."""
    from jobs.cli import main

    k = pacific
    k.org.update("Account", k.partners["kiri"], {"Partner_Role__c": "Distributor"}, system=True)
    k.org.update("Account", k.partners["pago"], {"ParentId": k.partners["kiri"], "Coverage__c": "US:94"}, system=True)
    rules = k.work / "rules.toml"
    rules.write_text(rules.read_text().replace(
        '  name = "Postal coverage"\n  match = { geography = true }\n  distribute = "round_robin"\n',
        '  name = "Postal coverage"\n  match = { geography = true, role = "Distributor" }\n  distribute = "round_robin"\n\n'
        '    [ruleset.rule.hand_down]\n    match = { geography = true }\n    distribute = "round_robin"\n'))
    lead = k.new_lead("Mission Bay Labs", "US", PostalCode="94107")
    k.once(init=True)
    assert k.view(lead)["partner"] == "kiri", k.view(lead)
    k.accept(lead)
    k.once(hours=0.1)
    assert k.view(lead)["partner"] == "pago", k.view(lead)
    k.reject(lead, "No capacity")
    k.once(hours=0.1)
    v = k.view(lead)
    assert (v["partner"], v["Routing_Status__c"]) == ("kiri", "Accepted"), v
    capsys.readouterr()
    assert main(["explain", lead, "--config", str(k.config)]) == 0
    history = capsys.readouterr().out.split("History, oldest first (times UTC):")[1].split("\n\n")[0]
    assert "hand_back" not in history and "'hand_down'" not in history, history
    assert "back to Kiritimati Atoll IT" in history, history


def test_validate_names_a_mistyped_fallback_queue_once_where_it_is_written(pacific, capsys):
    """The fallback queue is mistyped in [settings]; the rule set writes no `otherwise` of its
    own. validate says it once, at [settings] fallback_queue — not again at a
    ruleset[1].otherwise the file does not have, with a fix to edit that key."""
    import json

    from jobs.cli import main

    k = pacific
    rules = k.work / "rules.toml"
    rules.write_text(rules.read_text().replace('fallback_queue = "Unassigned_Partner_Leads"',
                                               'fallback_queue = "unassigned_partner_leads"'))
    capsys.readouterr()
    assert main(["validate", "--config", str(k.config), "--json"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    said = [f for f in findings if "unassigned_partner_leads" in f["message"]]
    assert [f["key"] for f in said] == ["settings.fallback_queue"], said
    assert "Unassigned_Partner_Leads" in said[0]["fix"], said


def test_validate_of_a_tier_the_router_does_not_know_shows_the_order_and_the_mapping_fix(pacific, capsys):
    """Pacific Edge calls its partners' levels Diamond and Elite; a rule says min_tier = "Elite".
    The fix lists the router's tiers lowest first (min_tier goes by that order) and shows how
    to map the org's own levels onto them."""
    import json

    from jobs.cli import main

    k = pacific
    rules = k.work / "rules.toml"
    rules.write_text(rules.read_text().replace(
        '  name = "Postal coverage"\n  match = { geography = true }',
        '  name = "Postal coverage"\n  match = { geography = true, min_tier = "Elite" }'))
    capsys.readouterr()
    assert main(["validate", "--config", str(k.config), "--json"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    said = next(f for f in findings if f["key"].endswith("match.min_tier"))
    assert "Registered, Silver, Gold, Platinum" in said["fix"], said
    assert "partner.toml" in said["fix"] and '"Elite" =' in said["fix"], said
