"""The Opportunities that make a partner an incumbent (jobs/incumbents.py): an org whose
Opportunities have no partner field, or hides them, says so in the log and the partners'
sync goes on; what an Opportunity teaches, and when."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from structlog.testing import capture_logs
import structlog

from connector.errors import ConfigError, Failure
from jobs import incumbents
from rules.state import RoutingState

NOW = datetime(2031, 3, 3, 9, 0, tzinfo=timezone.utc)


class NoPartnerField:
    def read_incremental(self, sobject, fields, **_):
        raise ConfigError(Failure("config", "INVALID_FIELD", "No such column 'PartnerAccountId' on entity 'Opportunity'"))


def test_an_org_whose_opportunities_name_no_partner_logs_it_and_reads_none():
    cx = SimpleNamespace(client=NoPartnerField(), mappings=None, lookback=timedelta(seconds=5),
                         log=lambda **bound: structlog.get_logger().bind(**bound))
    with capture_logs() as logs:
        assert incumbents.read(cx, NOW, None) == []
    [said] = [e for e in logs if e["event"] == "incumbent_opportunities_not_read"]
    assert said["log_level"] == "warning" and "PartnerAccountId" in said["error"] and "accepted leads" in said["fix"]


def test_an_open_opportunity_dates_the_partners_work_at_its_last_change_a_won_one_at_its_close():
    state = RoutingState()
    records = [
        {"PartnerAccountId": "001OPEN", "Account": {"Name": "Acme Ltd", "Website": "https://acme.example"},
         "IsWon": False, "LastModifiedDate": "2031-03-01T10:00:00.000+0000", "CloseDate": "2031-06-30"},
        {"PartnerAccountId": "001WON", "Account": {"Name": "Acme", "Website": None}, "IsWon": True,
         "LastModifiedDate": "2031-03-02T10:00:00.000+0000", "CloseDate": "2031-02-01"},
        {"PartnerAccountId": "001NOACCOUNT", "Account": None, "IsWon": False,
         "LastModifiedDate": "2031-03-02T10:00:00.000+0000"},
    ]
    assert incumbents.learn(state, records, "PartnerAccountId", NOW) == (2, 0)
    assert state.incumbent("ACME", None) == "001OPEN"  # worked on 1 March; the won one closed on 1 February
    assert state.incumbent(None, "acme.example") == "001OPEN"
    assert set(p for p, _, _ in state.incumbents.values()) == {"001OPEN"}
