"""The state keeps what routing needs, not the person: fewer fields, a retention period."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from jobs.housekeeping import prune_ended_leads
from jobs.minimise import minimiser
from jobs.state import Store
from jobs.state import offers as of
from jobs.state import schema
from mappings import load_mappings
from rules.book import load_rules

NOW = datetime(2026, 6, 30, 23, 0, tzinfo=timezone.utc)
RECORD = {"Id": "00Q5g00000ABCDEFGH", "FirstName": "Jane", "LastName": "Doe", "Email": "jane.doe@acme.com", "Company": "Acme",
          "Country": "DE", "City": "Berlin"}


def book_with(tmp_path, condition: str | None):
    ms = load_mappings(None)
    path = None
    if condition:
        path = tmp_path / "rules.toml"
        path.write_text(f'''
[settings]
escalation_queue = "Channel_Escalations"

[[ruleset]]
name = "All"

  [[ruleset.rule]]
  name = "Named"
  when = '{condition}'
  match = {{ geography = true }}
''')
    return ms, load_rules(path, lead_attributes=ms.lead_attribute_types(),
                          partner_attributes=ms.partner_attribute_types())


def test_the_stored_copy_has_no_name_and_only_the_email_domain(tmp_path):
    ms, book = book_with(tmp_path, None)
    kept = minimiser(ms, book)(RECORD)
    assert "FirstName" not in kept and "LastName" not in kept
    assert kept["Email"] == "redacted@acme.com", "deal registrations still match on the domain"
    assert kept["Company"] == "Acme" and kept["Country"] == "DE"
    lead = ms.lead_converter()(kept)
    assert lead.email_domain == "acme.com"


def test_a_rule_that_reads_a_personal_attribute_keeps_it(tmp_path):
    ms, book = book_with(tmp_path, 'last_name != "Test"')
    kept = minimiser(ms, book)(RECORD)
    assert kept["LastName"] == "Doe" and "FirstName" not in kept


def test_ended_leads_leave_the_state_after_the_retention_period_held_ones_never(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/s.sqlite")
    old = NOW - timedelta(days=91)
    with store.begin() as conn:
        of.put_lead(conn, "00Q1", old, state="closed", record=RECORD)  # ended long ago: goes
        of.insert_offer(conn, lead_id="00Q1", kind="offer", partner_id="001A", attempt=1, offered_at=old,
                        status="closed")
        of.exclude(conn, "00Q1", "001B", "lapsed", "no answer", old)
        of.put_lead(conn, "00Q2", old, state="released")  # ended long ago but accepted offer: stays
        of.insert_offer(conn, lead_id="00Q2", kind="offer", partner_id="001A", attempt=1, offered_at=old,
                        status="accepted")
        of.put_lead(conn, "00Q3", NOW - timedelta(days=10), state="closed")  # recent: stays
        of.put_lead(conn, "00Q4", old, state="offered")  # live: stays
        assert prune_ended_leads(conn, NOW - timedelta(days=90)) == 1
    with store.connect() as conn:
        assert set(of.get_leads(conn, ["00Q1", "00Q2", "00Q3", "00Q4"])) == {"00Q2", "00Q3", "00Q4"}
        assert conn.execute(select(func.count()).select_from(schema.exclusions)).scalar() == 0
        assert [o["status"] for o in of.offers_for_lead(conn, "00Q2")] == ["accepted"]
    store.dispose()
