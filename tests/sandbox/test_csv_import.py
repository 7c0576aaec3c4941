"""Loading a Salesforce Data Export into the sandbox: new ids, kept references, bad rows
reported with file, line and column, nothing aborted."""
from __future__ import annotations

import shutil
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from sandbox import ids
from sandbox.csv_import import load_export
from sandbox.store import Org

EXPORT = Path(__file__).parent / "data" / "export_small"


def export_id(prefix: str, n: int) -> str:
    # the example export's ids were minted for a "source org" on pod 8d
    return ids.make_id(prefix, n + 7000, pod="8d")


@pytest.fixture(scope="module")
def loaded():
    org = Org()
    return org, load_export(org, EXPORT)


def by(org, sobject, field, value):
    return next(r for r in org.records(sobject) if r[field] == value)


def issue_at(summary, file, line, column=None):
    found = [i for i in summary.issues if i.file == file and i.line == line and (column is None or i.column == column)]
    assert found, f"no issue reported at {file}:{line} {column or ''}; got {[str(i) for i in summary.issues]}"
    return found[0]


def test_every_record_gets_a_new_sandbox_id_and_the_map_knows_it(loaded):
    org, summary = loaded
    lead = by(org, "Lead", "LastName", "Costa")
    assert summary.new_id(export_id("00Q", 1)) == lead["Id"]
    assert lead["Id"] != export_id("00Q", 1)
    assert summary.new_id(export_id("00Q", 1)[:15]) == lead["Id"]  # 15-char form finds it too
    assert summary.counts["Lead"] == 4 and summary.counts["Account"] == 3 and summary.counts["User"] == 5


def test_references_follow_the_remapped_ids(loaded):
    org, summary = loaded
    nordlicht = by(org, "Account", "Name", "Nordlicht IT GmbH")
    lena = by(org, "Lead", "LastName", "Schulz")
    joerg = by(org, "User", "Username", "jo.mueller@nordlicht-it.example")
    # the export wrote these references as 15-char ids
    assert lena["PartnerAccountId"] == nordlicht["Id"]
    assert lena["OwnerId"] == joerg["Id"]
    reg = by(org, "Opportunity", "Registered_Company__c", "Globex Corporation")
    assert reg["PartnerAccountId"] == by(org, "Account", "Name", "BayCloud Partners LLC")["Id"]


def test_forward_references_are_filled_in_after_their_target_exists(loaded):
    org, _ = loaded
    child = by(org, "Account", "Name", "BayCloud Partners LLC")
    parent = by(org, "Account", "Name", "Continental Distribution Corp")
    assert child["ParentId"] == parent["Id"]  # the child row comes before its parent
    for username in ("jo.mueller@nordlicht-it.example", "ines.vos@nordlicht-it.example"):
        rep = by(org, "User", "Username", username)
        contact = org.get("Contact", rep["ContactId"])
        assert rep["AccountId"] == contact["AccountId"] == by(org, "Account", "Name", "Nordlicht IT GmbH")["Id"]
        assert rep["UserType"] == "PowerPartner" and rep["IsActive"] is True


def test_queues_the_sandbox_has_are_reused_and_new_pools_registered(loaded):
    org, _ = loaded
    inside_sales = [g for g in org.records("Group") if g["DeveloperName"] == "Inside_Sales"]
    assert len(inside_sales) == 1
    assert by(org, "Lead", "LastName", "Costa")["OwnerId"] == org.queue_ids["Inside_Sales"]
    pool = org.queue_ids["Partner_Pool_EMEA"]
    members = {m["UserOrGroupId"] for m in org.records("GroupMember") if m["GroupId"] == pool}
    assert members == {by(org, "User", "Username", u)["Id"]
                       for u in ("jo.mueller@nordlicht-it.example", "ines.vos@nordlicht-it.example")}
    assert any(q["QueueId"] == pool and q["SobjectType"] == "Lead" for q in org.records("QueueSobject"))


def test_values_arrive_typed_and_intact(loaded):
    org, _ = loaded
    ana = by(org, "Lead", "LastName", "Costa")
    assert ana["Street"] == "1 Market St\nSuite 400"  # a quoted line break stays inside the value
    assert ana["Deal_Amount__c"] == 45000.0 and ana["NumberOfEmployees"] == 250
    assert ana["Expected_Close_Date__c"] == date(2026, 6, 30)
    assert ana["CreatedDate"] == datetime(2025, 12, 1, 8, 0, tzinfo=timezone.utc)  # history kept
    assert ana["Products__c"] == "Cloud Migration;Analytics"
    assert by(org, "Lead", "LastName", "Schulz")["Company"] == 'Schulz "Präzision" AG'
    hostile = by(org, "Lead", "LastName", "Raman")
    assert hostile["Company"] == "'); DELETE --" and hostile["Do_Not_Route__c"] is True
    assert by(org, "User", "Username", "ines.vos@nordlicht-it.example")["IsActive"] is True  # "1"


def test_unknown_columns_are_skipped_with_a_warning(loaded):
    org, summary = loaded
    assert summary.skipped_columns == {"User.csv": ["ProfileId"], "Account.csv": ["Legacy_Score__c"],
                                       "Lead.csv": ["Legacy_Score__c"]}
    warning = issue_at(summary, "Account.csv", 1, "Legacy_Score__c")
    assert warning.severity == "warning" and "salesforce/ metadata" in warning.message


def test_a_row_missing_a_required_field_is_reported_and_skipped(loaded):
    org, summary = loaded
    error = issue_at(summary, "Account.csv", 5, "Name")
    assert error.severity == "error" and "REQUIRED_FIELD_MISSING" in error.message
    error = issue_at(summary, "Lead.csv", 7, "Company")
    assert error.severity == "error"
    assert not any(l["LastName"] == "Nguyen" for l in org.records("Lead"))


def test_a_refused_value_is_dropped_and_the_row_kept(loaded):
    org, summary = loaded
    lena = by(org, "Lead", "LastName", "Schulz")
    assert lena["Email"] is None and lena["Routing_Status__c"] is None
    assert "INVALID_EMAIL_ADDRESS" in issue_at(summary, "Lead.csv", 5, "Email").message
    assert "restricted picklist" in issue_at(summary, "Lead.csv", 5, "Routing_Status__c").message


def test_a_refused_required_value_skips_the_row(loaded):
    org, summary = loaded
    error = issue_at(summary, "Opportunity.csv", 3, "StageName")
    assert error.severity == "error" and "Won Maybe" in error.message
    assert [o["Name"] for o in org.records("Opportunity")] == ["Globex - Cloud Migration"]


def test_line_numbers_count_multi_line_values_and_short_rows_are_errors(loaded):
    _, summary = loaded
    short = issue_at(summary, "Lead.csv", 6)  # after a two-line Street on lines 2-3
    assert short.severity == "error" and "4 values for 27 columns" in short.message
    assert str(short).startswith("error: Lead.csv:6:")


def test_inactive_or_missing_owners_fall_back_to_the_integration_user(loaded):
    org, summary = loaded
    assert by(org, "Lead", "LastName", "O'Brien")["OwnerId"] == org.integration_user_id
    assert "inactive user" in issue_at(summary, "Lead.csv", 4, "OwnerId").message
    assert by(org, "Lead", "LastName", "Raman")["OwnerId"] == org.integration_user_id
    assert "not in the export" in issue_at(summary, "Lead.csv", 9, "OwnerId").message


def test_deleted_rows_and_unknown_files_are_left_out(loaded):
    org, summary = loaded
    assert not any(l["LastName"] == "Away" for l in org.records("Lead", include_deleted=True))
    assert issue_at(summary, "Task.csv", 1).severity == "warning"


def test_a_folder_without_export_files_is_refused_with_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist; unzip the export"):
        load_export(Org(), tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(FileNotFoundError, match="is it the unzipped Data Export folder"):
        load_export(Org(), tmp_path)


def test_a_windows_1252_export_still_loads_with_a_warning(tmp_path):
    (tmp_path / "Lead.csv").write_bytes('"LastName","Company"\n"Müller","Bäckerei"\n'.encode("cp1252"))
    org = Org()
    summary = load_export(org, tmp_path)
    assert by(org, "Lead", "LastName", "Müller")["Company"] == "Bäckerei"
    assert "choose UTF-8" in summary.warnings[0].message


def test_file_names_match_whatever_their_case(tmp_path):
    shutil.copy(EXPORT / "Account.csv", tmp_path / "account.csv")
    org = Org()
    summary = load_export(org, tmp_path)
    assert summary.counts["Account"] == 3
    # users were not exported: owners fall back, the import still completes
    assert all(a["OwnerId"] == org.integration_user_id for a in org.records("Account") if a["IsPartner"])


def test_a_number_written_with_a_thousands_separator_is_dropped_not_its_row(tmp_path):
    """An export edited in a spreadsheet writes 12,500.00: the org refuses the value, not the
    lead (the module's promise: a value the org would refuse is dropped from its row)."""
    (tmp_path / "Lead.csv").write_text('"LastName","Company","Deal_Amount__c","NumberOfEmployees"\n'
                                       '"Berg","Bergen Bryggeri AS","12,500.00","40"\n', encoding="utf-8")
    org = Org()
    summary = load_export(org, tmp_path)
    lead = by(org, "Lead", "LastName", "Berg")
    assert lead["Deal_Amount__c"] is None and lead["NumberOfEmployees"] == 40
    warning = issue_at(summary, "Lead.csv", 2, "Deal_Amount__c")
    assert warning.severity == "warning" and "12,500.00" in warning.message


def test_a_malformed_date_is_left_blank_and_named_not_its_row(tmp_path):
    """A date the org cannot read ("30/06/2026" from a spreadsheet, a 31st of June) leaves
    that field blank, with a warning naming file, line, column and value; the lead itself is
    imported, as a refused number is. A Data Import Wizard user is told of every value the
    org refused, row by row, and never loses the rest of the file for it."""
    (tmp_path / "Lead.csv").write_text(
        '"LastName","Company","Expected_Close_Date__c","CreatedDate"\n'
        '"Berg","Bergen Bryggeri AS","30/06/2026","2025-12-01T08:00:00.000Z"\n'
        '"Ek","Ek Trading AB","2026-06-31",""\n'
        '"Lund","Lund Data AB","2026-06-30","last week"\n', encoding="utf-8")
    org = Org()
    summary = load_export(org, tmp_path)
    assert not summary.errors, [str(i) for i in summary.errors]
    assert by(org, "Lead", "LastName", "Berg")["Expected_Close_Date__c"] is None
    assert by(org, "Lead", "LastName", "Berg")["CreatedDate"] == datetime(2025, 12, 1, 8, 0, tzinfo=timezone.utc)
    assert by(org, "Lead", "LastName", "Ek")["Expected_Close_Date__c"] is None
    assert by(org, "Lead", "LastName", "Lund")["Expected_Close_Date__c"] == date(2026, 6, 30)
    for line, column, value in ((2, "Expected_Close_Date__c", "30/06/2026"), (3, "Expected_Close_Date__c", "2026-06-31"),
                                (4, "CreatedDate", "last week")):
        warning = issue_at(summary, "Lead.csv", line, column)
        assert warning.severity == "warning" and repr(value) in warning.message and "left blank" in warning.message
        assert str(warning).startswith(f"warning: Lead.csv:{line} column {column}:")
