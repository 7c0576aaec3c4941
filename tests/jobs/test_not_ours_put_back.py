"""A lead `leadrouter undo --apply` put back is left alone by every tool that asks
jobs/route.not_ours (once, dry-run, explain, validate), in the org's own words for how to
have it routed again; set to Pending it is the connector's again."""
from __future__ import annotations

import shutil

from jobs.route import not_ours
from mappings import load_mappings
from mappings.loader import DEFAULTS_DIR
from rules.model import Lead

PUT_BACK = {"Routing_Reason__c": "Put back by leadrouter undo --run r3f9c2a1b7d0"}


def test_a_lead_undo_put_back_is_left_alone_with_how_to_route_it_again():
    ms = load_mappings()
    state, why = not_ours(Lead(id="00Q000000000001"), ms, PUT_BACK)
    assert state == "released"
    assert why == ("Put back by leadrouter undo --run r3f9c2a1b7d0; to have it routed again, set Routing Status "
                   "to Pending: leadrouter routes it at its next run")


def test_set_to_pending_or_never_put_back_it_is_routed():
    ms = load_mappings()
    assert not_ours(Lead(id="00Q000000000001", routing_status="Pending"), ms, PUT_BACK) is None
    assert not_ours(Lead(id="00Q000000000001"), ms, {"Routing_Reason__c": "Offered to Contoso"}) is None
    assert not_ours(Lead(id="00Q000000000001"), ms, None) is None  # a read without the reason field


def test_an_org_with_its_own_status_field_is_told_its_own_field_and_word(tmp_path):
    folder = tmp_path / "mappings"
    shutil.copytree(DEFAULTS_DIR, folder)
    for name in ("writeback.toml", "lead.toml"):
        f = folder / name
        f.write_text(f.read_text().replace('routing_status = "Routing_Status__c"',
                                           'routing_status = { field = "Stage__c", map = { Pending = "Waiting" } }'
                                           if name == "writeback.toml" else
                                           'routing_status = { field = "Stage__c", map = { Waiting = "Pending" } }'))
    ms = load_mappings(folder)
    _, why = not_ours(Lead(id="00Q000000000001"), ms, PUT_BACK)
    assert why.endswith("set Stage__c to Waiting: leadrouter routes it at its next run"), why
