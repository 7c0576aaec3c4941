"""A partner never receives another partner's lead data through anything the connector writes.

A seeded org runs through several simulated hours with the shipped rules: offers,
rejections (some quoting the rejecting partner's own name), redistribution, lapses,
pools, reminders. Afterwards, for every lead a partner can see — its PartnerAccountId
is that partner, or it sits in a pool several partners pull from — the fields the
connector writes must not name another partner (by name or id) or carry another lead's
id or email; and every notification goes to one partner's reps and speaks only of
that partner's lead.
"""
from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from jobs.app import Connector
from jobs.config import load
from jobs.timeutil import CallableClock
from sandbox.simulator import Profile

from .rig import secret_env, write_config
from tests.emails import lead_of

# one worker runs the whole module: its org is started once
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("test_partner_isolation")]

SHIPPED_RULES = Path(__file__).resolve().parents[2] / "rules" / "defaults" / "rules.toml"
WRITTEN = ("Routing_Reason__c", "Routing_Rule__c", "Rejection_Reason__c", "Partner_Response__c")
PICKY = Profile("picky for the test", accept=0.3, reject=0.5, delay_hours=(0.5, 3.0))


def _predictive_rules(directory: Path) -> Path:
    """The shipped rules with every rule's strategy made predictive: its reasons speak of
    estimates, loads and the partners passed over."""
    text = SHIPPED_RULES.read_text()
    rules, hand_down = text.split("\n[hand_down]", 1)
    rules = re.sub(r'distribute = "(round_robin|weighted|least_loaded|best_fit|nearest)"', 'distribute = "predictive"',
                   rules)
    assert 'distribute = "predictive"' in rules
    path = directory / "predictive.toml"
    path.write_text(rules + "\n[hand_down]" + hand_down)
    return path


@pytest.fixture(scope="module", params=["shipped rules", "predictive rules"])
def run(request, tmp_path_factory) -> Any:
    import sandbox

    directory = tmp_path_factory.mktemp("isolation")
    rules_file = SHIPPED_RULES if request.param == "shipped rules" else _predictive_rules(directory)
    sb = sandbox.start(directory / "org", seed="demo", partners=24, leads=150, random_seed=5, autosave=None)
    if request.param == "predictive rules":  # few places each: the choice prices them, and its reasons say so
        for account in sb.org.records("Account"):
            if account.get("IsPartner"):
                sb.org.update("Account", account["Id"], {"Capacity__c": 4})
    old_env = {k: os.environ.get(k) for k in secret_env(sb.connection)}
    os.environ.update(secret_env(sb.connection))
    try:
        # reminders fall due soon after each offer, so the run sends some
        config = write_config(directory, sb, "client_credentials", level="warning", rules=rules_file,
                              extra="\n[offers]\nreminder_before_hours = 200.0\n")
        cx = Connector.from_config(load(config), clock=CallableClock(sb.clock.now))
        sb.simulator.set_profile("*", PICKY)
        partners = {a["Id"]: a["Name"] for a in sb.org.records("Account") if a.get("IsPartner")}
        try:
            sb.clock.advance(timedelta(seconds=2))
            cx.run_cycle(raise_errors=False)
            _reject_naming_ourselves(sb, partners)
            for _ in range(6):
                sb.clock.advance(timedelta(hours=6))
                sb.simulator.step(sb.clock.now())
                sb.clock.advance(timedelta(seconds=2))
                cx.run_cycle(raise_errors=False)
            yield sb, cx, partners
        finally:
            cx.client.close()
            cx.store.dispose()
    finally:
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        sb.stop()


def _reject_naming_ourselves(sb, partners: dict[str, str], count: int = 8) -> None:
    """Some reps reject with a reason that names their own company, as people do."""
    done = 0
    for lead in list(sb.org.records("Lead")):
        partner = lead.get("PartnerAccountId")
        if lead.get("Routing_Status__c") == "Offered" and partner in partners and lead["OwnerId"].startswith("005"):
            sb.org.update("Lead", lead["Id"], {"Partner_Response__c": "Rejected",
                                               "Rejection_Reason__c": f"{partners[partner]} is full this month"},
                          as_user=lead["OwnerId"])
            done += 1
            if done == count:
                return


def _others(partners: dict[str, str], mine: set[str]) -> list[tuple[str, str]]:
    """(what, text) pairs that would identify any partner not in `mine`."""
    out = []
    for pid, name in partners.items():
        if pid in mine:
            continue
        out += [(f"partner name {name!r}", name), (f"partner id {pid}", pid), (f"partner id {pid[:15]}", pid[:15])]
    return out


def _visible_to(lead: dict[str, Any], pools: dict[str, set[str]]) -> set[str] | None:
    """The partners that can see this lead, or None when it sits with the vendor only."""
    if lead.get("PartnerAccountId"):
        return {lead["PartnerAccountId"]}
    owner = lead.get("OwnerId") or ""
    if owner in pools:
        return set()  # a pool: every member partner sees it, so it may name none of them
    return None


def _pools(sb) -> dict[str, set[str]]:
    queues = {g["Id"] for g in sb.org.records("Group")
              if g.get("Type") == "Queue" and (g.get("DeveloperName") or "").startswith("Partner_Pool_")}
    return {q_: set() for q_ in queues}


def test_the_run_exercised_offers_rejections_redistribution_and_pools(run):
    sb, cx, partners = run
    from jobs.state.schema import offers

    with cx.store.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(offers.select())]
    assert sum(r["status"] == "rejected" for r in rows) >= 5
    assert sum(r["attempt"] > 1 for r in rows) >= 5, "leads moved on to other partners"
    assert any(r["kind"] == "pool" for r in rows)
    named = {r["lead_id"] for r in rows if r["status"] == "rejected" and "is full this month" in (r["close_reason"] or "")}
    moved_on = {r["lead_id"] for r in rows if r["lead_id"] in named and r["attempt"] > 1}
    assert moved_on, "leads rejected with the rejecting partner's own name went on to someone else"
    if any(r.distribute == "predictive" for r in cx.book.rules):
        reasons = [lead.get("Routing_Reason__c") or "" for lead in sb.org.records("Lead")]
        assert sum("predicted fit" in r or "fairness floor" in r for r in reasons) >= 5, "the predictive run chose"
        assert sum("capacity price" in r for r in reasons) >= 3, "and priced partners' places"


def test_a_lead_a_partner_can_see_names_no_other_partner(run):
    sb, _, partners = run
    pools = _pools(sb)
    leaks = []
    for lead in sb.org.records("Lead"):
        mine = _visible_to(lead, pools)
        if mine is None:
            continue
        text = " | ".join(str(lead.get(f) or "") for f in WRITTEN)
        for what, needle in _others(partners, mine):
            if needle in text:
                leaks.append(f"{lead['Id']} (seen by {sorted(mine) or 'a pool'}): {what} in {text!r}")
                break
    assert leaks == [], "\n".join(leaks[:10])


def test_a_lead_a_partner_can_see_carries_no_other_leads_data(run):
    sb, _, _ = run
    pools = _pools(sb)
    leads = list(sb.org.records("Lead"))
    leaks = []
    for lead in leads:
        if _visible_to(lead, pools) is None:
            continue
        text = " | ".join(str(lead.get(f) or "") for f in WRITTEN)
        for other in leads:
            if other["Id"] == lead["Id"]:
                continue
            for needle in (other["Id"], other["Id"][:15], other.get("Email")):
                if needle and needle in text:
                    leaks.append(f"{lead['Id']} carries {other['Id']}'s data: {text!r}")
    assert leaks == [], "\n".join(leaks[:10])


def test_every_notification_goes_to_one_partner_and_speaks_only_of_its_lead(run):
    sb, _, partners = run
    sent = sb.notifications.all()
    assert sent, "the run sent reminders (otherwise this proves nothing)"
    users = {u["Id"]: u for u in sb.org.records("User")}
    leads = {r["Id"]: r for r in sb.org.records("Lead", include_deleted=True)}
    problems = []
    for n in sent:
        recipients = n.inputs.get("recipientIds") or [n.inputs.get("recipientId")]
        accounts = {users[r].get("AccountId") for r in recipients if r in users}
        target = n.inputs.get("targetId") or lead_of(n)
        if len(accounts) > 1:
            problems.append(f"one notification to reps of several partners: {sorted(accounts)}")
        text = " | ".join(str(n.inputs.get(k) or "") for k in ("title", "body", "emailSubject", "emailBody"))
        for what, needle in _others(partners, {a for a in accounts if a}):
            if needle in text:
                problems.append(f"notification about {target} names {what}: {text!r}")
        for lead_id, lead in leads.items():
            if lead_id == target:
                continue
            if lead_id in text or (lead.get("Email") and lead["Email"] in text):
                problems.append(f"notification about {target} carries lead {lead_id}'s data")
    assert problems == [], "\n".join(problems[:10])
