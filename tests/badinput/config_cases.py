"""The configuration half of the bad-input corpus: config, rule and mapping files gone wrong.

Each case takes a working set-up (a config file for the sandbox org, the corpus's rules,
optionally a copy of the shipped mappings) and breaks one thing. `words` must all
appear in what `leadrouter once` prints (case-insensitive): the file, the key and the
fix. `line` is the line of the mistake in the broken file, when a file has lines.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
CORPUS_RULES = (Path(__file__).resolve().parent / "rules.toml").read_text(encoding="utf-8")
SHIPPED_MAPPINGS = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "mappings" / "defaults").glob("*.toml")}

Edit = Callable[[str], str]


def same(text: str) -> str:
    return text


def after_line(pattern: str, insert: str) -> Edit:
    """Insert `insert` on the line after the first line matching `pattern`."""
    def edit(text: str) -> str:
        lines = text.splitlines()
        i = next(n for n, line in enumerate(lines) if re.search(pattern, line))
        return "\n".join(lines[: i + 1] + [insert] + lines[i + 1:]) + "\n"
    return edit


def replace(old: str, new: str, count: int = 1) -> Edit:
    def edit(text: str) -> str:
        assert old in text, f"case setup: {old!r} not in the file"
        return text.replace(old, new, count)
    return edit


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@dataclass(frozen=True)
class ConfigCase:
    id: str
    words: tuple[str, ...]
    config: Edit = same  # applied to the working config text
    rules: Edit = same  # applied to the corpus's rule file (tests/badinput/rules.toml)
    mappings: dict[str, Edit] = field(default_factory=dict)  # file name -> edit (a mappings dir is used)
    line_needle: str | None = None  # the broken line, found in the broken file by this text
    broken_file: str = "config"  # "config" | "rules" | a mapping file name
    env: dict[str, str] = field(default_factory=dict)
    no_config_file: bool = False
    files: dict[str, str] = field(default_factory=dict)  # extra files next to the config
    # other lines that point a person at the same mistake just as well (a table header)
    also_line_needles: tuple[str, ...] = ()


CASES: list[ConfigCase] = [
    # ---------------------------------------------------------------- the config file
    ConfigCase("unknown_section_is_named_with_the_nearest_key",
               ("leadrouter.toml", "routng", "did you mean", "routing"),
               config=lambda t: t + '\n[routng]\nrules = "x.toml"\n', line_needle="[routng]"),
    ConfigCase("unknown_key_is_named_with_the_nearest_key",
               ("leadrouter.toml", "remindr_before_hours", "did you mean", "reminder_before_hours"),
               config=lambda t: t + "\n[offers]\nremindr_before_hours = 2\n", line_needle="remindr_before_hours"),
    ConfigCase("text_where_seconds_belong_names_the_key",
               ("leadrouter.toml", "schedule.leads", "integer"),
               config=lambda t: t + '\n[schedule]\nleads = "often"\n', line_needle="leads = "),
    ConfigCase("negative_lookback_names_the_key_and_the_bound",
               ("leadrouter.toml", "routing.lookback_seconds", "greater than or equal to 0"),
               config=replace("lookback_seconds = 0", "lookback_seconds = -5"), line_needle="lookback_seconds"),
    # a duration past what a clock can count passed validate, then failed every run of a job
    # (OverflowError) or `once` itself
    ConfigCase("reminder_hours_of_infinity_names_the_key",
               ("leadrouter.toml", "offers.reminder_before_hours", "finite"),
               config=lambda t: t + "\n[offers]\nreminder_before_hours = inf\n", line_needle="reminder_before_hours"),
    ConfigCase("follow_up_days_past_the_calendar_names_the_key_and_the_bound",
               ("leadrouter.toml", "offers.followup_days", "less than or equal to 3650"),
               config=lambda t: t + "\n[offers]\nfollowup_days = 1e300\n", line_needle="followup_days"),
    ConfigCase("lookback_of_a_lifetime_names_the_key_and_the_bound",
               ("leadrouter.toml", "routing.lookback_seconds", "less than or equal to 604800"),
               config=replace("lookback_seconds = 0", "lookback_seconds = 9223372036854775807"),
               line_needle="lookback_seconds"),
    ConfigCase("backfill_past_the_calendar_names_the_key_and_the_bound",
               ("leadrouter.toml", "routing.backfill_hours", "less than or equal to 87600"),
               config=replace("lookback_seconds = 0", "lookback_seconds = 0\nbackfill_hours = 1e300"),
               line_needle="backfill_hours"),
    ConfigCase("retention_of_forever_names_the_key_and_the_bound",
               ("leadrouter.toml", "state.retention_days", "less than or equal to 36500"),
               config=replace('url = "sqlite:', 'retention_days = 9223372036854775807\nurl = "sqlite:'),
               line_needle="retention_days"),
    ConfigCase("a_schedule_of_centuries_names_the_key_and_the_bound",
               ("leadrouter.toml", "schedule.leads", "less than or equal to 604800"),
               config=lambda t: t + "\n[schedule]\nleads = 99999999999999999999\n", line_needle="leads = "),
    ConfigCase("literal_client_secret_is_refused_and_the_fix_named",
               ("leadrouter.toml", "client_secret", "secrets do not belong", "_env"),
               config=after_line(r"^\[salesforce\.auth\]", 'client_secret = "Sup3r-Secret-Value-42"'),
               line_needle="client_secret ="),
    ConfigCase("literal_password_is_refused_and_the_fix_named",
               ("leadrouter.toml", "password", "secrets do not belong", "password_env"),
               config=after_line(r"^\[salesforce\.auth\]", 'password = "hunter2-Hunter2"'), line_needle="password ="),
    ConfigCase("literal_refresh_token_is_refused_and_the_fix_named",
               ("leadrouter.toml", "refresh_token", "secrets do not belong", "refresh_token_env"),
               config=after_line(r"^\[salesforce\.auth\]", 'refresh_token = "5Aep861-Refresh-Token-Value"'),
               line_needle="refresh_token ="),
    ConfigCase("pasted_private_key_is_refused_and_the_fix_named",
               ("leadrouter.toml", "private_key", "secrets do not belong", "_file"),
               config=after_line(r"^\[salesforce\.auth\]", 'private_key = """-----BEGIN PRIVATE KEY-----\n'
                                 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7Pasted\n-----END PRIVATE KEY-----"""'),
               line_needle="private_key = "),
    ConfigCase("access_token_in_the_file_is_refused",
               ("leadrouter.toml", "access_token", "auth method"),
               config=after_line(r"^\[salesforce\]", 'access_token = "00D000000000001!AQ0AQPastedSessionToken"'),
               line_needle="access_token ="),
    ConfigCase("missing_salesforce_section_points_at_the_example",
               ("leadrouter.toml", "[salesforce]", "config.example.toml"),
               config=lambda t: t[t.index("[state]"):]),
    ConfigCase("unknown_auth_method_lists_the_methods",
               ("leadrouter.toml", "salesforce.auth", "jwt_bearer", "client_credentials"),
               config=replace('method = "jwt_bearer"', 'method = "magic_link"'), line_needle="method =",
               also_line_needles=("[salesforce.auth]",)),
    ConfigCase("missing_client_id_names_it",
               ("leadrouter.toml", "client_id", "missing"),
               config=lambda t: re.sub(r"(?m)^client_id = .*\n", "", t)),
    ConfigCase("file_that_is_not_toml_names_the_line",
               ("leadrouter.toml", "not valid TOML", "line"),
               config=lambda t: t + "\n[log\nlevel = debug\n"),
    ConfigCase("missing_config_file_says_to_copy_the_example",
               ("leadrouter.toml", "no such config file", "config.example.toml"), no_config_file=True),
    ConfigCase("unsupported_database_names_the_supported_ones",
               ("leadrouter.toml", "state.url", "sqlite", "postgresql"),
               config=replace('url = "sqlite:///state.sqlite"', 'url = "mysql://db/leads"'), line_needle="mysql"),
    ConfigCase("unknown_log_level_lists_the_levels",
               ("leadrouter.toml", "log.level", "debug", "warning"),
               config=replace('level = "debug"', 'level = "loud"'), line_needle='level = "loud"'),
    ConfigCase("plain_http_login_url_is_refused",
               ("leadrouter.toml", "login_url", "https://"),
               config=lambda t: re.sub(r'(?m)^login_url = "https://', 'login_url = "http://', t),
               line_needle="login_url"),
    ConfigCase("a_pasted_token_endpoint_as_login_url_names_the_address_to_use",
               ("leadrouter.toml", "login_url", "without a path", "https://login.salesforce.com"),
               config=lambda t: re.sub(r'(?m)^login_url = ".*"',
                                       'login_url = "https://login.salesforce.com/services/oauth2/token"', t),
               line_needle="login_url"),
    ConfigCase("a_lightning_ui_address_as_login_url_names_the_my_domain",
               ("leadrouter.toml", "login_url", "https://acme.my.salesforce.com"),
               config=lambda t: re.sub(r'(?m)^login_url = ".*"', 'login_url = "https://acme.lightning.force.com/"', t),
               line_needle="login_url"),
    ConfigCase("api_version_in_words_names_the_form",
               ("leadrouter.toml", "api_version", "62.0"),
               config=lambda t: re.sub(r'(?m)^api_version = ".*"', 'api_version = "latest"', t),
               line_needle="api_version"),
    ConfigCase("missing_ca_bundle_names_the_key",
               ("leadrouter.toml", "ca_bundle", "not a readable file"),
               config=lambda t: re.sub(r'(?m)^ca_bundle = ".*"', 'ca_bundle = "no-such-ca.pem"', t),
               line_needle="ca_bundle"),
    ConfigCase("secret_given_twice_says_pick_one",
               ("leadrouter.toml", "private_key", "either", "not both"),
               config=after_line(r"^private_key_file", 'private_key_env = "LEADROUTER_PRIVATE_KEY"')),
    ConfigCase("reminders_scheduled_after_the_deadline_are_refused",
               ("leadrouter.toml", "schedule.offers", "reminder_before_hours"),
               config=lambda t: t + "\n[schedule]\noffers = 7200\n\n[offers]\nreminder_before_hours = 1.0\n"),
    ConfigCase("unset_secret_variable_is_named_with_the_fix",
               ("LR_BADINPUT_NOT_SET", "not set", "export"),
               config=lambda t: re.sub(r"(?ms)^\[salesforce\.auth\]\n.*?\n\n",
                                       '[salesforce.auth]\nmethod = "client_credentials"\nclient_id = "x"\n'
                                       'client_secret_env = "LR_BADINPUT_NOT_SET"\n\n', t)),
    ConfigCase("key_file_that_is_not_a_key_is_named",
               ("private key", "not-a-key.pem", "private_key_file"),
               files={"not-a-key.pem": "-----BEGIN CERTIFICATE-----\nnot a key at all\n-----END CERTIFICATE-----\n"},
               config=lambda t: re.sub(r'(?m)^private_key_file = ".*"', 'private_key_file = "not-a-key.pem"', t)),
    ConfigCase("missing_key_file_is_named_with_the_path",
               ("no-such.key", "cannot read", "private_key_file"),
               config=lambda t: re.sub(r'(?m)^private_key_file = ".*"', 'private_key_file = "no-such.key"', t)),
    ConfigCase("unreachable_org_says_which_url_could_not_be_reached",
               ("127.0.0.1:9", "login_url"),
               config=lambda t: re.sub(r'(?m)^login_url = ".*"', 'login_url = "https://127.0.0.1:9"', t)),
    ConfigCase("unknown_key_under_salesforce_names_it",
               ("leadrouter.toml", "timout", "did you mean", "timeout"),
               config=after_line(r"^\[salesforce\]", "timout = 5"), line_needle="timout"),
    # ---------------------------------------------------------------- the rule file
    ConfigCase("missing_rule_file_is_named",
               ("no-such-rules.toml",), broken_file="rules",
               config=lambda t: re.sub(r'(?m)^rules = ".*"', 'rules = "no-such-rules.toml"', t)),
    ConfigCase("empty_rule_file_says_what_is_missing", ("rules.toml", "ruleset"), broken_file="rules",
               rules=lambda t: ""),
    ConfigCase("rule_on_a_misspelt_attribute_suggests_the_real_one",
               ("rules.toml", "countyr", "country"), broken_file="rules",
               rules=replace("when = 'country != null and country != \"\"'",
                             "when = 'countyr != null and countyr != \"\"'"), line_needle="countyr"),
    ConfigCase("rule_with_broken_syntax_names_its_line", ("rules.toml", "when"), broken_file="rules",
               rules=replace('when = "employees >= 1000"', 'when = "employees >= "'), line_needle="employees >= "),
    ConfigCase("escalation_queue_not_in_the_org_is_named",
               ("rules.toml", "Escalations_Typo", "Channel_Escalations"), broken_file="rules",
               rules=replace('escalation_queue = "Channel_Escalations"', 'escalation_queue = "Escalations_Typo"')),
    ConfigCase("zero_attempts_is_refused", ("rules.toml", "max_attempts"), broken_file="rules",
               rules=replace("max_attempts = 3", "max_attempts = 0"), line_needle="max_attempts"),
    ConfigCase("workday_ending_before_it_starts_is_refused", ("rules.toml", "workday"), broken_file="rules",
               rules=replace("workday = [9, 17]", "workday = [17, 9]"), line_needle="workday"),
    ConfigCase("unknown_territory_in_a_rule_is_named", ("rules.toml", "Atlantis"), broken_file="rules",
               rules=replace('territories = ["NA"]', 'territories = ["Atlantis"]'), line_needle="Atlantis"),
    ConfigCase("misspelt_rule_key_suggests_the_real_one", ("rules.toml", "distribte", "distribute"),
               broken_file="rules", rules=replace('distribute = "least_loaded"', 'distribte = "least_loaded"'),
               line_needle="distribte"),
    ConfigCase("negative_offer_window_is_refused", ("rules.toml", "offer_hours"), broken_file="rules",
               rules=replace("offer_hours = 48", "offer_hours = -1"), line_needle="offer_hours = -1"),
    ConfigCase("date_arithmetic_past_9999_names_the_condition_and_the_range",
               ("rules.toml", "Big deals", "9999-12-31", "0001-01-01"), broken_file="rules",
               rules=replace('when = "employees >= 1000"',
                             'when = \'employees >= 1000 and close_date < d"9999-12-31" + t"P1D"\''),
               line_needle='t"P1D"'),
    ConfigCase("unknown_distribution_lists_the_known_ones", ("rules.toml", "lottery", "round_robin"),
               broken_file="rules", rules=replace('distribute = "round_robin"', 'distribute = "lottery"'),
               line_needle="lottery"),
    # ---------------------------------------------------------------- the mapping files
    ConfigCase("missing_mappings_directory_is_named", ("no-such-mappings",), broken_file="lead.toml",
               config=lambda t: t + '\n[mappings]\ndir = "no-such-mappings"\n'),
    ConfigCase("mapping_to_a_field_the_org_lacks_suggests_the_real_one",
               ("lead.toml", "Compnay", "Company"), broken_file="lead.toml",
               mappings={"lead.toml": replace('company = { field = "Company"', 'company = { field = "Compnay"')},
               line_needle="Compnay"),
    ConfigCase("misspelt_attribute_suggests_the_real_one", ("lead.toml", "compnay", "company"),
               broken_file="lead.toml",
               mappings={"lead.toml": replace('company = { field = "Company"', 'compnay = { field = "Company"')},
               line_needle="compnay"),
    ConfigCase("unknown_transform_lists_the_known_ones", ("lead.toml", "titlecase", "trim"),
               broken_file="lead.toml",
               mappings={"lead.toml": replace('city = { field = "City", transforms = ["trim"] }',
                                              'city = { field = "City", transforms = ["titlecase"] }')},
               line_needle="titlecase"),
    ConfigCase("filter_with_an_open_quote_is_refused", ("partner.toml", "filter", "quote"),
               broken_file="partner.toml",
               mappings={"partner.toml": replace('filter = "IsPartner = true"', "filter = \"IsPartner = 'true\"")},
               line_needle="IsPartner = 'true"),
    # a field of a type that never holds the attribute's kind of value: every lead (or partner)
    # it reads would be Unroutable (left out), so the start stops instead, naming both types
    ConfigCase("amount_read_from_a_checkbox_stops_the_start_naming_both_types",
               ("lead.toml", "amount", "IsConverted", "boolean", "float"), broken_file="lead.toml",
               mappings={"lead.toml": replace('amount = "Deal_Amount__c"', 'amount = "IsConverted"')},
               line_needle='amount = "IsConverted"'),
    ConfigCase("close_date_read_from_an_email_field_stops_the_start",
               ("lead.toml", "close_date", "Email", "email", "date"), broken_file="lead.toml",
               mappings={"lead.toml": replace('close_date = "Expected_Close_Date__c"', 'close_date = "Email"')},
               line_needle='close_date = "Email"'),
    ConfigCase("required_as_words_names_the_key", ("lead.toml", "required"), broken_file="lead.toml",
               mappings={"lead.toml": replace('id = { field = "Id", required = true }',
                                              'id = { field = "Id", required = "yes please" }')},
               line_needle="yes please"),
    ConfigCase("writeback_to_a_read_only_field_is_refused", ("writeback.toml", "CreatedDate"),
               broken_file="writeback.toml",
               mappings={"writeback.toml": replace('reason = { field = "Routing_Reason__c", length = 255 }',
                                                   'reason = { field = "CreatedDate" }')},
               line_needle="CreatedDate"),
]
