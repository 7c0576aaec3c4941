"""`leadrouter validate` names every planted mistake at once: file, key and fix."""
from __future__ import annotations

import json
import re

import pytest

from jobs.cli import main
from jobs.ops.validate import validate


def plant(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_the_shipped_files_validate_cleanly_against_the_sandbox_org(workdir):
    findings = validate(workdir / "leadrouter.toml")
    assert [f for f in findings if f.severity == "error"] == []
    # the shipped rules name "Trade Show", a source the org's picklist has yet to carry: not a finding
    assert not [f for f in findings if "source is never" in f.message], findings


def test_every_planted_error_is_reported_with_file_key_and_fix(workdir, capsys):
    config, rules, lead_map = workdir / "leadrouter.toml", workdir / "rules.toml", workdir / "mappings" / "lead.toml"
    config.write_text(config.read_text() + "\n[schedule]\nleeds = 60\n")  # unknown key
    plant(config, "reminder_before_hours = 1.0", 'reminder_before_hours = "soon"')  # wrong type
    plant(lead_map, 'company = { field = "Company"', 'company = { field = "Compnay"')  # field typo (org)
    plant(lead_map, 'rating = "Rating"', 'rating = { field = "Rating", map = { Hott = "Hot" } }')  # not a picklist value (org)
    plant(rules, '"Partner_Pool_NA"', '"Partner_Pool_NAA"')  # queue typo (org)
    plant(rules, "rating == \"Hot\"", "ratng == \"Hot\"")  # attribute typo
    plant(rules, 'distribute = "least_loaded"', 'distribute = "least_loded"')  # unknown strategy

    code = main(["validate", "--config", str(config), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["ok"] is False
    errors = [f for f in out["findings"] if f["severity"] == "error"]

    def find(file_part, key_part, text_part, among=errors):
        hits = [f for f in among if file_part in f["file"] and key_part in f["key"]
                and text_part in (f["message"] + " " + (f["fix"] or ""))]
        assert hits, f"no error in {file_part} at {key_part} mentioning {text_part!r}:\n" + "\n".join(map(str, errors))
        assert all(h["fix"] for h in hits), hits
        return hits[0]

    find("leadrouter.toml", "schedule.leeds", "schedule.leads")
    assert find("leadrouter.toml", "reminder_before_hours", "number")["line"]
    find("lead.toml", "company", "Company")
    find("lead.toml", "rating", "Hot", among=out["findings"])  # a dead map entry is a warning, still named
    find("rules.toml", "", "Partner_Pool_NA'")
    find("rules.toml", "", "rating")
    find("rules.toml", "distribute", "least_loaded")
    assert len(errors) >= 6


def test_offline_validation_reads_no_org(workdir, capsys):
    config = workdir / "leadrouter.toml"
    plant(config, 'login_url = "https://127.0.0.1', 'login_url = "https://127.0.0.2')  # nothing listens there
    assert main(["validate", "--config", str(config), "--offline"]) == 0
    assert "0 error(s)" in capsys.readouterr().out


def test_an_unreachable_org_is_an_error_that_says_what_to_check(workdir, capsys):
    config = workdir / "leadrouter.toml"
    plant(config, 'login_url = "https://127.0.0.1:', 'login_url = "https://127.0.0.1:1')
    assert main(["validate", "--config", str(config), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    org = [f for f in out["findings"] if f["key"] == "salesforce"]
    assert org and "login_url" in org[0]["fix"]


def test_a_broken_mapping_file_is_named_with_its_line_even_offline(workdir, capsys):
    lead_map = workdir / "mappings" / "lead.toml"
    plant(lead_map, 'city = { field = "City", transforms = ["trim"] }', 'city = { field = "City", transforms = ["trimm"] }')
    assert main(["validate", "--config", str(workdir / "leadrouter.toml"), "--offline"]) == 1
    out = capsys.readouterr().out
    assert "lead.toml:" in out and "trimm" in out and "did you mean 'trim'" in out


def test_a_parent_account_cycle_is_reported_naming_the_accounts(workdir, seeded_org):
    """A distributor whose ParentId is itself would hand its leads down to itself for ever."""
    org = seeded_org.org
    partner = next(a for a in org.records("Account") if a.get("IsPartner"))
    before = partner.get("ParentId")
    org.update("Account", partner["Id"], {"ParentId": partner["Id"]})
    try:
        findings = validate(workdir / "leadrouter.toml")
    finally:
        org.update("Account", partner["Id"], {"ParentId": before})
    cycles = [f for f in findings if "ParentId makes a cycle" in f.message]
    assert cycles and partner["Name"] in cycles[0].message and cycles[0].fix
    assert cycles[0].severity == "warning"


def test_a_partner_time_zone_that_is_not_an_iana_name_is_warned_with_the_zone_meant(workdir, seeded_org):
    """"Berlin" in Time_Zone__c: the partner's offer windows would count in the org's zone and its daily
    cap on the org's day, silently; validate names the account, the value and the zone meant."""
    org = seeded_org.org
    partner = next(a for a in org.records("Account") if a.get("IsPartner"))
    before = partner.get("Time_Zone__c")
    org.update("Account", partner["Id"], {"Time_Zone__c": "Berlin"})
    try:
        findings = validate(workdir / "leadrouter.toml")
    finally:
        org.update("Account", partner["Id"], {"Time_Zone__c": before})
    zones = [f for f in findings if "time zone 'Berlin'" in f.message]
    assert len(zones) == 1 and partner["Name"] in zones[0].message, findings
    assert zones[0].severity == "warning" and zones[0].fix == "set Time_Zone__c to 'Europe/Berlin'"
    assert not [f for f in validate(workdir / "leadrouter.toml") if "time zone" in f.message]


def test_an_org_refusing_the_queue_check_is_a_finding_not_a_traceback(workdir, seeded_org):
    """The integration user without read access to Group (queues): validate says so and how to fix it."""
    from jobs.config import load
    from jobs.ops.validate import _connect

    real = _connect(load(workdir / "leadrouter.toml"), None)

    class NoQueues:
        """The real client, but Salesforce refuses reading Group, as for a user without the permission set."""

        def __getattr__(self, name):
            return getattr(real, name)

        def query(self, soql):
            from connector.errors import ConfigError, Failure

            if "FROM Group" in soql:
                raise ConfigError(Failure("config", "INSUFFICIENT_ACCESS", "sObject type 'Group' is not supported",
                                          fix="give the integration user read access to queues"))
            return real.query(soql)

    findings = validate(workdir / "leadrouter.toml", client=NoQueues())
    [refused] = [f for f in findings if "refused the queue check" in f.message]
    assert refused.severity == "error" and "read access to queues" in refused.fix
    assert "read access to queues" not in refused.message and "fix:" not in refused.message, refused  # said once


def test_offer_alerts_without_the_partner_portal_url_are_a_warning_and_a_lead_page_is_an_error(workdir):
    """Partner reps log in to the portal: an alert linking into the org's own pages shows them an error."""
    config = workdir / "leadrouter.toml"
    base = config.read_text()
    [unset] = [f for f in validate(config) if f.key == "notifications.portal_url"]
    assert unset.severity == "warning" and "partner users cannot open" in unset.message and "/s" in unset.fix
    config.write_text(base + '\n[notifications]\nportal_url = "https://partners.example.com/s/lead/00Q5g00000ABCDE"\n')
    [wrong] = [f for f in validate(config) if f.key == "notifications.portal_url"]
    assert wrong.severity == "error" and "base URL" in wrong.message
    config.write_text(base + '\n[notifications]\nportal_url = "https://partners.example.com/s"\n')
    assert [f for f in validate(config) if f.key == "notifications.portal_url"] == []
    config.write_text(base + '\n[notifications]\noffer_alert = "off"\n')
    assert [f for f in validate(config) if f.key == "notifications.portal_url"] == []


def test_the_portal_url_is_asked_for_only_when_messages_carrying_the_link_go_out_and_says_which(workdir):
    """The link is in offer alerts (sent by offer_alert, whatever mode says: the demo config's
    mode is "none", its offer_alert "email", so its alerts go out) and in reminders and
    follow-ups (sent by mode). validate asks for portal_url when one of them goes out, naming
    which, and says nothing when none does."""
    config = workdir / "leadrouter.toml"
    base = config.read_text()
    assert "[notifications]" not in base  # the demo config: mode "none", offer_alert "email"
    [alerts] = [f for f in validate(config) if f.key == "notifications.portal_url"]
    assert "offer alerts" in alerts.message and "reminders" not in alerts.message, alerts
    config.write_text(base + '\n[notifications]\nmode = "email"\noffer_alert = "off"\n')
    [reminders] = [f for f in validate(config) if f.key == "notifications.portal_url"]
    assert reminders.severity == "warning" and "reminders and follow-ups" in reminders.message, reminders
    assert "offer alerts" not in reminders.message, reminders
    config.write_text(base + '\n[notifications]\nmode = "none"\noffer_alert = "off"\n')
    assert [f for f in validate(config) if f.key == "notifications.portal_url"] == []


def test_a_rule_file_counting_quarters_from_another_month_than_the_org_is_warned_with_the_setting(workdir, seeded_org):
    """An org whose fiscal year starts in April: "this quarter" in the rules must be its quarter."""
    org = seeded_org.org
    org.update("Organization", org.organization_id, {"FiscalYearStartMonth": 4}, system=True)
    try:
        findings = validate(workdir / "leadrouter.toml")
        plant(workdir / "rules.toml", "[settings]\n", "[settings]\nfiscal_year_start_month = 4\n")
        agreed = validate(workdir / "leadrouter.toml")
    finally:
        org.update("Organization", org.organization_id, {"FiscalYearStartMonth": 1}, system=True)
    [fiscal] = [f for f in findings if f.key == "settings.fiscal_year_start_month"]
    assert fiscal.severity == "warning" and "starts in April" in fiscal.message and "from January" in fiscal.message
    assert fiscal.fix == "set fiscal_year_start_month = 4 under [settings]" and fiscal.file.endswith("rules.toml")
    assert not [f for f in agreed if f.key == "settings.fiscal_year_start_month"]


def test_a_rule_file_on_another_time_zone_than_the_org_is_warned_with_the_setting(workdir, seeded_org):
    org = seeded_org.org
    org.update("Organization", org.organization_id, {"TimeZoneSidKey": "America/Los_Angeles"}, system=True)
    try:
        findings = validate(workdir / "leadrouter.toml")
        plant(workdir / "rules.toml", "[settings]\n", '[settings]\ntime_zone = "America/Los_Angeles"\n')
        agreed = validate(workdir / "leadrouter.toml")
    finally:
        org.update("Organization", org.organization_id, {"TimeZoneSidKey": "GMT"}, system=True)
    [tz] = [f for f in findings if f.key == "settings.time_zone"]
    assert tz.severity == "warning" and "America/Los_Angeles" in tz.message and "UTC" in tz.message
    assert tz.fix == 'set time_zone = "America/Los_Angeles" under [settings]'
    assert not [f for f in agreed if f.key == "settings.time_zone"]


@pytest.mark.parametrize("org_zone, ours", [
    ("Asia/Kolkata", "Asia/Calcutta"),  # the rule file on the old name
    ("Europe/Kiev", "Europe/Kyiv"),  # the org on the old name, the rule file on the new
    ("America/Indiana/Indianapolis", "US/East-Indiana"),
    ("GMT", "Etc/UTC"),
])
def test_a_rule_file_on_another_name_of_the_orgs_own_time_zone_is_not_warned(workdir, seeded_org, org_zone, ours):
    """An alias is the same clock: the day turns at the org's hour, and validate must not
    tell the admin otherwise (nor ask for a change that changes nothing)."""
    org = seeded_org.org
    org.update("Organization", org.organization_id, {"TimeZoneSidKey": org_zone}, system=True)
    try:
        plant(workdir / "rules.toml", 'time_zone = "UTC"', f'time_zone = "{ours}"')
        findings = validate(workdir / "leadrouter.toml")
        plant(workdir / "rules.toml", f'time_zone = "{ours}"', 'time_zone = "Asia/Tokyo"')
        differs = validate(workdir / "leadrouter.toml")
    finally:
        org.update("Organization", org.organization_id, {"TimeZoneSidKey": "GMT"}, system=True)
    assert not [f for f in findings if f.key == "settings.time_zone"], findings
    assert [f for f in differs if f.key == "settings.time_zone"], "another clock is still warned"


def test_an_org_time_zone_this_python_does_not_know_is_not_given_as_the_fix(workdir, seeded_org):
    """Salesforce adds zones before a host's tz database has them: the fix must not be a
    time_zone the rule file then fails on (the connector would not start)."""
    org = seeded_org.org
    org.update("Organization", org.organization_id, {"TimeZoneSidKey": "America/Atlantis_City"}, system=True)
    try:
        findings = validate(workdir / "leadrouter.toml")
    finally:
        org.update("Organization", org.organization_id, {"TimeZoneSidKey": "GMT"}, system=True)
    [tz] = [f for f in findings if f.key == "settings.time_zone"]
    assert "America/Atlantis_City" in tz.message and "does not know" in tz.message, tz.message
    assert not tz.fix.startswith("set time_zone") and "pip install -U tzdata" in tz.fix, tz.fix


def test_an_integration_user_that_cannot_create_tasks_is_warned_the_leads_will_not_show_reminders(workdir, seeded_org):
    """Reminders show on the Lead as completed Tasks: without Edit Tasks they still go out,
    but nothing shows where an admin looks. validate says so before the first run."""
    from connector.errors import ConfigError, Failure
    from jobs.config import load
    from jobs.ops.validate import _connect

    config = workdir / "leadrouter.toml"
    text = config.read_text()
    assert "[notifications]" not in text
    config.write_text(text + '\n[notifications]\nmode = "email"\nportal_url = "https://partners.example.com/s"\n')
    real = _connect(load(config), None)
    assert not [f for f in validate(config, client=real) if f.file == "org: Task"]

    class NoTasks:
        """The real client, but Task is not there for this user (no Edit Tasks)."""

        def __getattr__(self, name):
            return getattr(real, name)

        def describe(self, name):
            if name == "Task":
                raise ConfigError(Failure("config", "NOT_FOUND", "The requested resource does not exist"))
            return real.describe(name)

    [warned] = [f for f in validate(config, client=NoTasks()) if f.file == "org: Task"]
    assert warned.severity == "warning" and "EditTask" in warned.fix and "reminder_tasks" in warned.fix


def test_an_offers_status_the_org_lead_status_lacks_is_warned_with_the_value_meant(workdir):
    """[offers] names Lead Status values; one the org's picklist lacks would never match, so
    closed leads would keep their places in partners' capacity and untouched ones never be
    followed up — silently. validate says which value was meant."""
    config = workdir / "leadrouter.toml"
    assert not [f for f in validate(config) if f.key.startswith("offers.")]
    text = config.read_text()
    if "[offers]" not in text:
        text += "\n[offers]\n"
    config.write_text(text.replace("[offers]\n", '[offers]\nclosed_unconverted_statuses = ["Closed - Not converted"]\n'
                                                  'untouched_status = "Nobody Called"\n', 1))
    found = {f.key: f for f in validate(config) if f.key.startswith("offers.")}
    closed, untouched = found["offers.closed_unconverted_statuses"], found["offers.untouched_status"]
    assert closed.severity == "warning" and "'Closed - Not Converted'" in closed.fix and "capacity" in closed.message
    assert "Open - Not Contacted" in untouched.fix and "follow-up" in untouched.message


@pytest.mark.parametrize("written, fix", [
    ('"48h"', "offer_hours = 48 "), ('"2 days"', "a number of hours"), ("-1", "offer_hours = 48"),
])
def test_an_offer_window_that_is_not_a_number_of_hours_says_how_to_write_one(workdir, capsys, written, fix):
    plant(workdir / "rules.toml", "offer_hours = 72", f"offer_hours = {written}")
    assert main(["validate", "--config", str(workdir / "leadrouter.toml"), "--json"]) == 1
    found = [f for f in json.loads(capsys.readouterr().out)["findings"] if f["key"].endswith("offer_hours")]
    assert len(found) == 1 and found[0]["line"] and fix in (found[0].get("fix") or ""), found


@pytest.mark.parametrize("key, written, fix", [
    ("max_attempts", '"3"', "max_attempts = 3 "), ("business_hours", '"yes"', "business_hours = true or false"),
    ("escalation_queue", "7", 'escalation_queue = "7"'),
])
def test_a_setting_of_the_wrong_type_says_how_to_write_it(workdir, capsys, key, written, fix):
    plant(workdir / "rules.toml", "[settings]\n", f"[settings]\n{key} = {written}\n")
    text = (workdir / "rules.toml").read_text()
    (workdir / "rules.toml").write_text(re.sub(rf"(?m)^({key} = (?!{re.escape(written)}).*)$", r"# \1", text))
    assert main(["validate", "--config", str(workdir / "leadrouter.toml"), "--json"]) == 1
    found = [f for f in json.loads(capsys.readouterr().out)["findings"] if f["key"] == f"settings.{key}"]
    assert len(found) == 1 and fix in (found[0].get("fix") or ""), found


def test_a_key_file_that_is_not_there_is_named_as_once_names_it(workdir, capsys):
    """validate said 'the JWT private key could not be used (SecretResolutionError)' where
    once says which file cannot be read."""
    config = workdir / "leadrouter.toml"
    config.write_text(re.sub(r'(?m)^private_key_file = "(.*)"', r'private_key_file = "\1.missing"', config.read_text()))
    assert main(["validate", "--config", str(config)]) == 1
    said = capsys.readouterr().out
    assert ".missing" in said and "cannot read" in said and "No such file" in said, said
    assert "SecretResolutionError" not in said, said


def test_a_login_url_whose_host_does_not_exist_is_named_as_such(workdir, capsys):
    """A misspelt My Domain (.invalid never resolves) was urllib3's 'HTTPSConnectionPool(host=…):
    Max retries exceeded … NameResolutionError(…)', cut off mid-sentence."""
    config = workdir / "leadrouter.toml"
    config.write_text(re.sub(r'(?m)^login_url = ".*"', 'login_url = "https://acme-dev.my.salesforce.invalid"',
                             config.read_text()))
    assert main(["validate", "--config", str(config)]) == 1
    said = capsys.readouterr().out
    assert "acme-dev.my.salesforce.invalid" in said and "does not resolve" in said and "login_url" in said, said
    assert "HTTPSConnectionPool" not in said and "Max retries" not in said, said


def test_a_state_database_server_that_does_not_answer_is_said_not_ready_to_run(workdir, capsys):
    """validate said 'ready to run' with [state] url on a PostgreSQL server that refuses
    connections; status then exited 4 and once could not start."""
    config = workdir / "leadrouter.toml"
    config.write_text(re.sub(r'(?m)^url = "sqlite:.*"', 'url = "postgresql+psycopg://leadrouter@127.0.0.1:1/leadrouter"',
                             config.read_text()))
    assert "127.0.0.1:1" in config.read_text()
    main(["validate", "--config", str(config)])
    said = capsys.readouterr().out
    assert "state.url" in said and "cannot reach the state database" in said and "ready to run" not in said, said


def test_a_rule_whose_leads_an_earlier_rule_all_takes_is_said_pre_empted_not_matching_none(workdir):
    """A rule that would take leads of the sample, had an earlier rule not taken each of them
    first, is pre-empted: "matched none" would send ops hunting in a condition that is right."""
    rules = workdir / "rules.toml"
    plant(rules, '  [[ruleset.rule]]\n  name = "Other sources: regional pool"',
          '  [[ruleset.rule]]\n  name = "Other sources: regional pool"\n  pool = { NA = "Partner_Pool_NA", EMEA = '
          '"Partner_Pool_EMEA", APAC = "Partner_Pool_APAC" }\n  offer_hours = 72\n\n'
          '  [[ruleset.rule]]\n  name = "North America, too late"\n  match = { geography = true, territories = ["NA"] }\n'
          '  distribute = "round_robin"\n\n'
          '  [[ruleset.rule]]\n  name = "Giants only"\n  when = "employees >= 100000000"\n'
          '  distribute = "round_robin"\n\n'
          '  [[ruleset.rule]]\n  name = "Old pool"')
    said = {f.key: f for f in validate(workdir / "leadrouter.toml")}
    late = said["rule 'North America, too late'"]
    assert "pre-empted by " in late.message and "'Other sources: regional pool' (" in late.message, late
    assert "matched none" not in late.message and late.line
    giants = said["rule 'Giants only'"]
    assert "matched none of the" in giants.message and "pre-empted" not in giants.message, giants


def test_no_notifications_while_offers_have_deadlines_is_said_once_with_how_to_turn_them_on(workdir):
    config = workdir / "leadrouter.toml"
    base = config.read_text()
    [off] = [f for f in validate(config) if f.key == "notifications.mode"]
    assert off.severity == "warning", off  # the default, never chosen: nobody is reminded of an offer
    assert "(the default)" in off.message and "no reminder" in off.message, off
    # offer_alert is "email" by default, mode or not: the alerts go out, and validate says so
    # (it said "no offer alert" while it asked for portal_url for the alerts' links)
    assert "no offer alert" not in off.message and 'offer alerts by email (offer_alert = "email")' in off.message, off
    assert "24 to 72 h in rules.toml" in off.message, off  # the shipped rules' offer windows
    assert 'mode = "custom"' in off.fix and 'mode = "email"' in off.fix
    config.write_text(base + '\n[notifications]\nmode = "none"\n')
    [chosen] = [f for f in validate(config) if f.key == "notifications.mode"]
    assert chosen.severity == "note" and "Flow" in chosen.message, chosen  # chosen: a Flow may tell them
    config.write_text(base + '\n[notifications]\nmode = "none"\noffer_alert = "off"\n')
    [silent] = [f for f in validate(config) if f.key == "notifications.mode"]
    assert "no offer alert" in silent.message and "no reminder" in silent.message, silent
    config.write_text(base + '\n[notifications]\nmode = "email"\n')
    assert [f for f in validate(config) if f.key == "notifications.mode"] == []
