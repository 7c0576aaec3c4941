"""Lead.Offer_Seconds_Left__c, the package's formula field `(Offer_Deadline__c - NOW()) * 86400`:
Salesforce evaluates a formula when the record is read (REST, SOQL, the UI API the portal
component reads through), by its own clock, and refuses a write to it. The portal component
counts down from it so that a rep's laptop clock decides nothing. The sandbox evaluates it by
the org clock (org.clock), never the host's; it models this one formula shape and its
metadata check refuses any other with a clear message."""
from __future__ import annotations

from datetime import datetime, timedelta
from xml.etree import ElementTree as ET

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sandbox.metadata import NS
from sandbox.metadata_check import field_problems
from tests.sandbox.test_partner_sharing import Rep, org  # noqa: F401 (the fixture)

pytestmark = pytest.mark.e2e

FIELD = "Offer_Seconds_Left__c"


def _lead(sb, deadline: datetime | None) -> str:
    return sb.org.create("Lead", {"LastName": "Formula", "Company": "Clockwork GmbH", "Routing_Status__c": "Offered",
                                  "Offer_Deadline__c": deadline})  # fmt: skip


def _near(value, expected: float) -> bool:
    # the org clock runs on between the write and the read: two seconds of slack, no more
    return value is not None and expected - 2 <= value <= expected


def test_seconds_left_is_computed_on_read_by_the_org_clock(sandbox, sf):
    lead = _lead(sandbox, sandbox.clock.now() + timedelta(minutes=10))
    assert _near(sf.Lead.get(lead)[FIELD], 600)
    row = sf.query(f"SELECT Id, {FIELD} FROM Lead WHERE Id = '{lead}'")["records"][0]
    assert _near(row[FIELD], 600)
    ui = sf.restful(f"ui-api/records/{lead}", params={"fields": f"Lead.{FIELD}"})
    assert _near(ui["fields"][FIELD]["value"], 600)

    # the org's clock moves, the host's does not: the value follows the org's
    sandbox.clock.advance(timedelta(minutes=15))
    assert _near(sf.Lead.get(lead)[FIELD], -300)
    row = sf.query(f"SELECT {FIELD} FROM Lead WHERE Id = '{lead}'")["records"][0]
    assert _near(row[FIELD], -300)
    ui = sf.restful(f"ui-api/records/{lead}", params={"fields": f"Lead.{FIELD}"})
    assert _near(ui["fields"][FIELD]["value"], -300)
    # a filter reads it by the same clock
    lapsed = sf.query(f"SELECT Id FROM Lead WHERE {FIELD} < 0")["records"]
    assert [r["Id"] for r in lapsed] == [lead]
    # stored nowhere: the org's own row holds no value that could go stale
    assert sandbox.org.get("Lead", lead).get(FIELD) is None


def test_seconds_left_is_blank_without_a_deadline(sandbox, sf):
    lead = _lead(sandbox, None)
    assert sf.Lead.get(lead)[FIELD] is None
    assert sf.query(f"SELECT {FIELD} FROM Lead WHERE Id = '{lead}'")["records"][0][FIELD] is None


def test_a_write_to_the_formula_field_is_refused(sandbox, sf):
    lead = _lead(sandbox, sandbox.clock.now())
    for write in (lambda: sf.Lead.update(lead, {FIELD: 5}),
                  lambda: sf.Lead.create({"LastName": "X", "Company": "Y", FIELD: 5})):  # fmt: skip
        with pytest.raises(SalesforceMalformedRequest) as refused:
            write()
        error = refused.value.content[0]
        assert error["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
        assert FIELD in error["message"] and error["fields"] == [FIELD]


def test_describe_says_calculated_and_read_only(sf):
    f = next(f for f in sf.Lead.describe()["fields"] if f["name"] == FIELD)
    assert (f["type"], f["calculated"], f["createable"], f["updateable"], f["nillable"]) == (
        "double", True, False, False, True)
    assert f["calculatedFormula"] == "(Offer_Deadline__c - NOW()) * 86400"
    assert (f["precision"], f["scale"]) == (18, 0)


def test_the_partner_rep_reads_it_through_the_ui_api_and_cannot_write_it(org):  # noqa: F811
    lead = org.ids["lead_A1"]
    org.org.update("Lead", lead, {"Offer_Deadline__c": org.clock.now() + timedelta(hours=2)})
    rep = Rep(org, org.ids["A1"])
    got = rep.http.get(f"{rep.base}/ui-api/records/{lead}", timeout=10,
                       params={"fields": "Lead.Offer_Deadline__c", "optionalFields": f"Lead.{FIELD}"})  # fmt: skip
    assert got.status_code == 200, got.text
    assert _near(got.json()["fields"][FIELD]["value"], 7200)
    refused = rep.http.patch(f"{rep.base}/ui-api/records/{lead}", json={"fields": {FIELD: 1}}, timeout=10)
    assert (refused.status_code, refused.json()[0]["errorCode"]) == (400, "INVALID_FIELD_FOR_INSERT_UPDATE")


def _formula_field(formula: str, **extra: str) -> ET.Element:
    parts = {"fullName": "Left__c", "label": "Left", "formula": formula, "formulaTreatBlanksAs": "BlankAsBlank",
             "precision": "18", "scale": "0", "type": "Number", **extra}  # fmt: skip
    body = "".join(f"<{k}>{v}</{k}>" for k, v in parts.items())
    return ET.fromstring(f'<CustomField xmlns="{NS[1:-1]}">{body}</CustomField>')


def test_the_metadata_check_takes_this_formula_shape_and_refuses_others():
    assert field_problems("Left__c", _formula_field("(Offer_Deadline__c - NOW()) * 86400")) == []
    assert field_problems("Left__c", _formula_field("( Offer_Deadline__c-now() )*1440")) == []
    other = field_problems("Left__c", _formula_field("IF(ISBLANK(Offer_Deadline__c), 0, 1)"))
    assert len(other) == 1 and "(<DateTime field> - NOW()) * <number>" in other[0], other
    text = field_problems("Left__c", _formula_field("(Offer_Deadline__c - NOW()) * 86400", type="Text"))
    assert any("Number" in p for p in text), text
    zero = field_problems("Left__c", _formula_field("(Offer_Deadline__c - NOW()) * 86400",
                                                    formulaTreatBlanksAs="BlankAsZero"))  # fmt: skip
    assert any("BlankAsBlank" in p for p in zero), zero
    tracked = field_problems("Left__c", _formula_field("(Offer_Deadline__c - NOW()) * 86400", trackHistory="true"))
    assert any("formula" in p.lower() for p in tracked), tracked
