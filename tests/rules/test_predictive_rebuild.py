"""jobs/learning.py: the learner rebuilt from the offers we kept and the org's conversions,
each outcome with the lead's segment as we last read it."""
from __future__ import annotations

import os
from datetime import timedelta

from connector import ConnectorConfig, SalesforceClient
from jobs import learning
from jobs.state import Store
from jobs.state import offers as of
from mappings import load_mappings
from rules.model import Partner
from tests.jobs.conftest import SECRET_ENV, connector_config_data


def _record(lead_id, industry):
    return {"Id": lead_id, "Company": f"Company {lead_id[-4:]}", "LastName": "Buyer", "Country": "US",
            "Industry": industry, "LeadSource": "Web", "NumberOfEmployees": 500, "Status": "Open - Not Contacted"}


def test_the_learner_is_rebuilt_from_history_and_prefers_who_converted(sandbox_factory, tmp_path):
    sb = sandbox_factory()
    now = sb.clock.now()
    good = sb.org.create("Account", {"Name": "Good Partners", "IsPartner": True})
    poor = sb.org.create("Account", {"Name": "Poor Partners", "IsPartner": True})
    store = Store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    t = now - timedelta(days=20)
    with store.begin() as conn:
        for i in range(12):
            for pid in (good, poor):
                converts = pid == good and i % 2 == 0
                fields = {"LastName": "Buyer", "Company": f"Co {i}", "Industry": "Banking", "Country": "US"}
                if converts:
                    fields.update({"IsConverted": True, "ConvertedDate": (now - timedelta(days=2)).date(),
                                   "PartnerAccountId": pid, "Status": "Closed - Converted"})
                lead_id = sb.org.create("Lead", fields, system=True)
                of.put_lead(conn, lead_id, t, state="accepted", record=_record(lead_id, "Banking"))
                offer = of.insert_offer(conn, lead_id=lead_id, kind="offer", partner_id=pid, attempt=1, offered_at=t)
                of.set_offer(conn, offer, status="accepted", accepted_at=t + timedelta(hours=2))
                if not converts:  # the partner closed it unconverted
                    of.set_offer(conn, offer, status="lost", closed_at=now - timedelta(days=1))
    os.environ[SECRET_ENV] = sb.connection["client_secret"]
    client = SalesforceClient.connect(ConnectorConfig.model_validate(connector_config_data(sb, notify="none")),
                                      clock=sb.clock.now)
    partners = [Partner(id=good, name="Good Partners", tier="Silver"), Partner(id=poor, name="Poor Partners", tier="Silver")]
    to_lead = load_mappings(None).lead_converter()
    with store.connect() as conn:
        learner = learning.rebuild(conn, client, partners, to_lead, now, seed=1, half_life_days=None)
    probe = to_lead(_record("00Q000000000999AAA", "Banking"))
    g, p = learner.estimate(partners[0], probe), learner.estimate(partners[1], probe)
    assert g.convert > 2 * p.convert and g.accept > 0.9  # every offer was accepted
    assert g.evidence == 24 and p.evidence == 24  # 12 accepted + 12 closed each: nothing counted twice


def test_an_acceptance_withdrawn_by_a_person_teaches_the_learner_nothing_about_conversion(sandbox_factory, tmp_path):
    """A person took the accepted leads over (or asked for them to be routed again): the
    partner neither converted nor lost them, so its conversion estimate stays at the prior
    and only its acceptances count as evidence."""
    sb = sandbox_factory()
    now = sb.clock.now()
    pid = sb.org.create("Account", {"Name": "Taken Over Partners", "IsPartner": True})
    store = Store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    t = now - timedelta(days=20)
    with store.begin() as conn:
        for i in range(12):
            lead_id = sb.org.create("Lead", {"LastName": "Buyer", "Company": f"Co {i}", "Industry": "Banking",
                                             "Country": "US"}, system=True)
            of.put_lead(conn, lead_id, t, state="released", record=_record(lead_id, "Banking"))
            offer = of.insert_offer(conn, lead_id=lead_id, kind="offer", partner_id=pid, attempt=1, offered_at=t)
            of.set_offer(conn, offer, status="accepted", accepted_at=t + timedelta(hours=2))
            of.set_offer(conn, offer, status="closed", closed_at=now - timedelta(days=1),
                         close_reason="withdrawn: a person took the lead over")
    os.environ[SECRET_ENV] = sb.connection["client_secret"]
    client = SalesforceClient.connect(ConnectorConfig.model_validate(connector_config_data(sb, notify="none")),
                                      clock=sb.clock.now)
    partner = Partner(id=pid, name="Taken Over Partners", tier="Silver")
    to_lead = load_mappings(None).lead_converter()
    probe = to_lead(_record("00Q000000000999AAA", "Banking"))
    with store.connect() as conn:
        learner = learning.rebuild(conn, client, [partner], to_lead, now, seed=1, half_life_days=None)
        assert learner.estimate(partner, probe).evidence == 12  # the acceptances; no loss
        # the running connector's path: what the offers table gained is the 12 acceptances only
        live = learning.Live(learning.rebuild(conn, client, [], to_lead, now - timedelta(days=400)), {pid: partner},
                             to_lead, now - timedelta(days=30))
        assert learning.catch_up(conn, live, now) == 12
