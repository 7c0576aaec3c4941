"""A partner sync says the snapshot changed only when a partner, rep or registration did:
the incremental read's look-back re-reads records changed a little before the last
watermark, and each "changed" makes the lead stream re-check every live offer against
the snapshot (jobs/withdraw.py). Nothing changed in the org is no change."""
from __future__ import annotations

from datetime import timedelta


def _sync(loop):  # noqa: ANN001, ANN202
    loop.sb.clock.advance(timedelta(minutes=16))  # past [schedule] sync_partners
    return loop.cx.run_job("sync_partners").counts


def test_a_sync_that_reads_nothing_new_says_nothing_changed(org, make_loop):
    loop = make_loop(org)
    loop.cycle(partners_act=False)
    assert _sync(loop)["changed"] == 0, "the org's partners did not change since the last sync"


def test_a_sync_after_a_partner_changed_says_so(org, make_loop):
    loop = make_loop(org)
    loop.cycle(partners_act=False)
    _sync(loop)
    partner = next(a for a in org.org.records("Account") if a.get("IsPartner"))
    org.org.update("Account", partner["Id"], {"Routing_Paused__c": not partner.get("Routing_Paused__c")})
    assert _sync(loop)["changed"] == 1
