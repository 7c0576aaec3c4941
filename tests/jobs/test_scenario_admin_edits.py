"""An admin edits the routing fields of a lead the connector still follows: sets
Routing_Status__c back to Pending (the README's way to have a lead routed again), or takes
the partner account off a live offer. The scenario org of test_scenario_lifecycle; after
each step the Lead as an admin sees it, and the org-only invariants of
tests/reliability/invariants_lifecycle.py."""
from __future__ import annotations

from datetime import timedelta

import pytest

from jobs import lifecycle
from tests.jobs import test_scenario_lifecycle as base

pytestmark = pytest.mark.e2e
so, sc, offered_partner = base.so, base.sc, base.offered_partner  # the scenario org and its loop

SYNC = timedelta(minutes=16)  # past the partner sync's interval: the next cycle reads accounts and users


def admin_sets(sc, lead: str, fields: dict) -> None:
    sc.sb.org.update("Lead", lead, fields, as_user=sc.so.admin)


def track_record(sc, partner_id: str):
    with sc.cx.store.connect() as conn:
        return lifecycle.load_state(conn).perf(partner_id)


# ------------------------------------------------------------------ the partner's track record
def test_withdrawals_and_takeovers_leave_the_partners_record_as_it_was_a_conversion_counts(so, sc):
    paused, taken, converted = (so.new_lead(n) for n in ("Alkmaar Kaas", "Bolsward Bier", "Culemborg Cement"))
    sc.step()
    by_lead = {x: offered_partner(sc, x) for x in (paused, taken, converted)}
    assert len(set(by_lead.values())) == 3
    sc.accept(converted)
    admin_sets(sc, taken, {"OwnerId": so.admin})
    sc.step()
    sc.sb.org.update("Account", by_lead[paused], {"Routing_Paused__c": True}, as_user=so.admin)
    sc.sb.org.update("Lead", converted, {"IsConverted": True, "Status": "Closed - Converted"}, system=True)
    sc.step(hours=SYNC.total_seconds() / 3600)
    assert sc.view(taken)["Routing_Status__c"] == "Released"
    assert sc.offers(paused)[0]["status"] == "closed" and offered_partner(sc, paused) != by_lead[paused]
    assert track_record(sc, by_lead[paused]).closed == 0, "a withdrawal is not the partner's conversion"
    assert track_record(sc, by_lead[taken]).closed == 0, "a takeover is not the partner's conversion"
    perf = track_record(sc, by_lead[converted])
    assert (perf.accepted, perf.closed) == (1, 1), perf
