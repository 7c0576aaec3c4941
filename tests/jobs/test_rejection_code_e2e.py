"""A rejection's reason code does not follow the lead to the next partner, end to end over
HTTPS: partner A's rep rejects with a code from the portal component, the connector (started
as `leadrouter` starts, checks against the org included) offers the lead to partner B, and
B's rep, reading the Lead with its own session, sees no code, reason or response of A's;
who rejected with which code stays in the Lead's field history. An org without the code
field (salesforce/ deployed before it existed), or whose integration user may not edit it,
starts and routes all the same, with one warning naming the fix, and `leadrouter validate`
names the field too."""
from __future__ import annotations

import copy
import json

import pytest
from structlog.testing import capture_logs

from jobs.app import Connector
from jobs.cli import main
from jobs.config import load
from jobs.ops.demo import write_config
from jobs.timeutil import CallableClock

from .conftest import Loop, as_user
from .rules_for_tests import write_rules
from .test_portal_answer_e2e import ANSWERS, NEVER_ANSWER, an_offer, answer_as_rep

pytestmark = pytest.mark.e2e

CODE = "Rejection_Reason_Code__c"
ANSWER_FIELDS = ("Partner_Response__c", "Rejection_Reason__c", CODE)


def _config(sb, tmp_path):
    cfg = write_config(tmp_path, sb.connection, write_rules(tmp_path))
    cfg.write_text(cfg.read_text().replace('url = "sqlite:///leadrouter.sqlite"',
                                           f'url = "sqlite:///{tmp_path}/state.sqlite"'))
    return cfg


def start(sb, cfg) -> Loop:
    """The connector as `leadrouter once` / `run` assembles it: logged in, mappings and rules
    checked against the org (or, the check having passed today, the optional fields alone)."""
    return Loop(sb, Connector.from_config(load(cfg), clock=CallableClock(sb.clock.now)))


def stop(loop: Loop) -> None:
    loop.cx.client.close()
    loop.cx.store.dispose()


def about_code(logs) -> list[dict]:
    return [e for e in logs if e["event"] == "mapping_warning" and CODE in e["problem"]]


def lead_as_rep(sb, lead_id: str, rep_id: str) -> dict:
    """The Lead as the rep's own session reads it (the portal page), over HTTPS."""
    http, base = as_user(sb, rep_id)
    with http:
        r = http.get(f"{base}/sobjects/Lead/{lead_id}", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def reshape_lead(sb, change) -> None:
    """This org's Lead as `change` leaves it (its own schema: the default one is shared by
    every org of the process)."""
    with sb.org.lock:
        schema = copy.deepcopy(sb.org.schema)
        lead = schema.object("Lead")
        change(lead)
        lead._reindex()
        sb.org.schema = schema


def rejected_on(loop: Loop, fields: dict, *, system: bool = False) -> tuple[str, dict, dict]:
    """A's rep rejects one offer with `fields`; after a cycle: (lead id, A's offer, B's offer)."""
    loop.sb.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, first = an_offer(loop)
    if system:  # the rep's own field-level security lets it edit what the integration user may not
        loop.sb.org.update("Lead", lead_id, fields, as_user=first["rep_id"], system=True)
    else:
        answer_as_rep(loop.sb, lead_id, first["rep_id"], fields)
    loop.cycle(partners_act=False)
    assert loop.offers(lead_id)[0]["status"] == "rejected"
    second = loop.live()[lead_id]
    assert second["kind"] == "offer" and second["partner_id"] != first["partner_id"], second
    return lead_id, first, second


def validate_findings(cfg, capsys) -> list[dict]:
    capsys.readouterr()
    code = main(["validate", "--config", str(cfg), "--json"])
    found = json.loads(capsys.readouterr().out)["findings"]
    assert code == 0, found
    return [f for f in found if CODE in f["message"]]


def test_the_next_partner_sees_no_code_and_the_history_keeps_who_rejected_with_which(org, tmp_path):
    cfg = _config(org, tmp_path)
    with capture_logs() as logs:
        loop = start(org, cfg)
    try:
        assert about_code(logs) == []
        lead_id, first, second = rejected_on(loop, ANSWERS["reject_out_of_territory"]["fields"])
        seen = lead_as_rep(org, lead_id, second["rep_id"])
        assert seen["OwnerId"] == second["rep_id"]
        assert {f: seen[f] for f in ANSWER_FIELDS} == dict.fromkeys(ANSWER_FIELDS)
        assert seen["Routing_Status__c"] == "Offered"
        history = list(loop.cx.client.query(
            "SELECT Field, OldValue, NewValue, CreatedById FROM LeadHistory "
            f"WHERE LeadId = '{lead_id}' AND Field IN ('{CODE}', 'Rejection_Reason__c') ORDER BY CreatedDate"))
        me = loop.cx.client.query("SELECT Id FROM User WHERE Username = "
                                  f"'{org.connection['username']}'")
        integration = next(iter(me))["Id"]
        said = [(h["Field"], h["NewValue"], h["CreatedById"]) for h in history]
        assert (CODE, "Out of territory", first["rep_id"]) in said
        assert ("Rejection_Reason__c", "Out of territory: We only cover Bavaria", first["rep_id"]) in said
        assert (CODE, None, integration) in said  # cleared by the connector, after A's rep set it
    finally:
        stop(loop)


def test_an_org_without_the_code_field_starts_routes_and_names_it_once(org, tmp_path, capsys):
    reshape_lead(org, lambda lead: lead.fields.pop(CODE))
    cfg = _config(org, tmp_path)
    with capture_logs() as logs:
        loop = start(org, cfg)
        try:
            # the rep answers through the page layout: there is no code to give
            lead_id, _, second = rejected_on(loop, {"Partner_Response__c": "Rejected",
                                                    "Rejection_Reason__c": "No capacity: full this month"})
            loop.cycle(partners_act=False)
        finally:
            stop(loop)
    warning, = about_code(logs)
    assert "not in the org" in warning["problem"] and "deploy the field" in warning["problem"]
    assert "LeadRouter_Integration" in warning["problem"]
    assert not [e for e in logs if e.get("log_level") == "error"], [e for e in logs if e.get("log_level") == "error"]
    lead = org.org.get("Lead", lead_id)
    assert (lead["OwnerId"], lead["Partner_Response__c"], lead["Rejection_Reason__c"]) == (second["rep_id"], None, None)

    # a second start, the full check having passed today: the field is still left out of writes
    with capture_logs() as logs:
        loop = start(org, cfg)
        try:
            assert loop.cx.mappings.writeback_left_out() == {"rejection_code"}
            loop.cycle(hours=100)  # every live offer lapses and moves on: writes that clear the answer
        finally:
            stop(loop)
    assert not [e for e in logs if e.get("log_level") == "error"]  # no write refused for the missing field
    assert len(about_code(logs)) == 1

    finding, = validate_findings(cfg, capsys)
    assert finding["severity"] == "warning" and "rejection_code" in finding["message"]


def test_a_code_field_the_integration_user_may_not_edit_is_left_alone_with_one_warning(org, tmp_path, capsys):
    def read_only(lead):
        lead.fields[CODE].updateable = False

    reshape_lead(org, read_only)
    cfg = _config(org, tmp_path)
    with capture_logs() as logs:
        loop = start(org, cfg)
        try:
            lead_id, _, second = rejected_on(loop, ANSWERS["reject_out_of_territory"]["fields"], system=True)
        finally:
            stop(loop)
    warning, = about_code(logs)
    assert "not editable by the integration user" in warning["problem"]
    assert not [e for e in logs if e.get("log_level") == "error"]
    lead = org.org.get("Lead", lead_id)
    # the rest of the answer is cleared; the code stays until the permission is granted
    assert (lead["OwnerId"], lead["Partner_Response__c"], lead["Rejection_Reason__c"]) == (second["rep_id"], None, None)
    assert lead[CODE] == "Out of territory"

    finding, = validate_findings(cfg, capsys)
    assert finding["severity"] == "warning" and "not editable" in finding["message"]


def test_a_code_field_gone_while_running_is_left_out_and_the_lead_still_moves_on(org, tmp_path):
    loop = start(org, _config(org, tmp_path))
    try:
        org.simulator.set_profile("*", NEVER_ANSWER)
        loop.cycle()
        lead_id, first = an_offer(loop)
        reshape_lead(org, lambda lead: lead.fields.pop(CODE))  # an admin deletes the field meanwhile
        answer_as_rep(org, lead_id, first["rep_id"], {"Partner_Response__c": "Rejected",
                                                      "Rejection_Reason__c": "Bad data: the phone is wrong"})
        with capture_logs() as logs:
            loop.cycle(partners_act=False)  # the offer to B is refused for the field: B's write goes again
            loop.cycle(partners_act=False)
        assert not [e for e in logs if e.get("log_level") == "error"], [e for e in logs if e.get("log_level") == "error"]
        left, = [e for e in logs if e["event"] == "optional_field_left_out"]
        assert left["attribute"] == "rejection_code" and "LeadRouter_Integration" in left["fix"]
        second = loop.live()[lead_id]
        assert second["kind"] == "offer" and second["partner_id"] != first["partner_id"]
        lead = org.org.get("Lead", lead_id)
        assert (lead["OwnerId"], lead["Routing_Status__c"], lead["Partner_Response__c"]) == (
            second["rep_id"], "Offered", None)
    finally:
        stop(loop)
