""""Not our product/industry" for products, piece by piece: the words each place shows an
exclusion in (the Lead, the Account, `leadrouter feedback`, its JSON, status, the report),
the bar on a lead by any of its products, and a pool pick-up held to it. Fixed dates."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from jobs import feedback
from jobs.ops import feedback as feedback_command
from jobs.ops import report, status
from rules import RoutingState
from rules.model import Decision, DecisionKind, Lead, Pool
from tests.rules.conftest import NOW as RULES_NOW
from tests.rules.conftest import QUEUES, lead, partner, router_for

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=timezone.utc)
SUITE = "Security Suite"


def _adj() -> feedback.Adjustments:
    return feedback.Adjustments(
        at=NOW, excluded={"001A": {"Banking": 3}}, excluded_products={"001A": {SUITE: 2}, "001B": {"Analytics": 4}},
        took={"001A": {("industry", "Banking"): 1, ("product", SUITE): 0}, "001B": {("product", "Analytics"): 3}},
        names={"001A": "Acme", "001B": "Beta"})


def test_a_lead_is_barred_by_its_industry_or_any_of_its_products_in_any_case():
    adj = _adj()
    barred = adj.barred_for(Lead(id="00Q1", industry="Retail", products=frozenset({"networking", "security suite"})))
    assert set(barred) == {"001A"}
    assert barred["001A"].startswith(f"said 'Not our product/industry' 2× for {SUITE} leads, took 0 (feedback; undo: "
                                     "leadrouter feedback reset 001A)")
    # excluded from both the lead's industry and one of its products: its industry's why is the one said
    both = adj.barred_for(Lead(id="00Q2", industry="BANKING", products=frozenset({SUITE})))
    assert both["001A"].startswith("said 'Not our product/industry' 3× for Banking leads, took 1")
    assert adj.barred_for(Lead(id="00Q3", industry="Retail", products=frozenset({"Networking"}))) == {}
    assert set(adj.barred_for(Lead(id="00Q4", products=frozenset({"Analytics"})))) == {"001B"}


def test_json_keeps_the_industries_list_and_adds_the_products_beside_it():
    data = _adj().to_dict()
    assert data["count"] == 3
    assert data["excluded"] == [{"partner_id": "001A", "partner": "Acme", "industry": "Banking", "declines": 3,
                                 "accepted": 1}]
    assert data["excluded_products"] == [
        {"partner_id": "001A", "partner": "Acme", "product": SUITE, "declines": 2, "accepted": 0},
        {"partner_id": "001B", "partner": "Beta", "product": "Analytics", "declines": 4, "accepted": 3}]


def test_every_place_that_lists_adjustments_lists_the_products():
    adj, data = _adj(), _adj().to_dict()
    assert feedback.words(adj, "001A") == (
        "no Banking leads after 3 'Not our product/industry', took 1 · no Security Suite leads after 2 "
        "'Not our product/industry' — undo: leadrouter feedback reset 001A")
    assert feedback.words(adj, "001B") == ("no Analytics leads after 4 'Not our product/industry', took 3 — undo: "
                                           "leadrouter feedback reset 001B")
    text = feedback_command.render(data)
    assert "excluded  Acme: no Security Suite leads (product; 2 'Not our product/industry' declines, took 0)" in text
    assert "excluded  Acme: no Banking leads (industry; 3 'Not our product/industry' declines, took 1)" in text
    page = report.render(report.ReportData(title="t", generated_at="-", totals={}, partners=[], rejection_reasons={},
                                           feedback=data))
    section = page[page.index('id="feedback"'):]
    assert "3 automatic adjustment(s) in force" in section and "product excluded" in section
    assert "no Analytics leads after 4 &#x27;Not our product/industry&#x27; declines, took 3" in section
    line = " ".join(x.strip() for x in status.render({"state": "sqlite:///x", "schema_version": 6,
                                                       "feedback": data}).splitlines())
    assert "Acme no Banking; Acme no Security Suite; Beta no Analytics" in line


def test_the_lead_says_the_product_and_what_the_partner_took():
    adj = _adj()
    the_lead = Lead(id="00Q1", industry="Retail", products=frozenset({SUITE}))
    skipped = feedback.skipped(the_lead, adj)
    why = skipped["001A"]
    d = Decision(lead_id="00Q1", kind=DecisionKind.OFFER, reason="Covering partner: Beta — round robin",
                 explanation={"rules": [{"applied": True, "excluded_counts": {f"already {why} this lead": 1}}]})
    feedback.note(d, skipped, adj)
    assert d.reason == ("Covering partner: Beta — round robin · skipped by its own feedback: a partner said "
                        "'Not our product/industry' 2× for Security Suite leads, took 0")


def test_a_pool_pick_up_by_a_member_excluded_from_one_of_the_leads_products_is_refused():
    rules = """
[settings]
escalation_queue = "Channel_Escalations"
business_hours = false
offer_hours = 24

[[ruleset]]
name = "All"
  [[ruleset.rule]]
  name = "Pool"
  match = { geography = true }
  pool = "Partner_Pool_NA"
"""
    members = [partner("001A", coverage=("US",)), partner("001B", coverage=("US",))]
    pool = Pool(id=QUEUES["Partner_Pool_NA"], name="NA", developer_name="Partner_Pool_NA",
                member_rep_ids=frozenset(r.id for p in members for r in p.reps),
                member_partner_ids=frozenset(p.id for p in members))
    router = router_for(rules, members, pools=[pool])
    feedback.hook(router, _adj())  # as a routing build hooks it (jobs/partners.py)
    state = RoutingState()
    suite = lead(products={SUITE, "Networking"})
    why = router.admits(suite, "Pool", "001A", state, RULES_NOW)
    assert why == "its own feedback keeps it from such leads: said 'Not our product/industry' 2× for " \
                  "Security Suite leads, took 0", why
    assert router.admits(suite, "Pool", "001B", state, RULES_NOW) is None
    assert router.admits(lead(products={"Networking"}), "Pool", "001A", state, RULES_NOW) is None


def _gathered(tmp_path, answers: list[tuple[str, str, str, str | None, str]], reviewed: datetime | None = None,
              name: str = "state"):
    """gather() over a state holding these answers, the i-th (10 - i) days and i hours before NOW:
    (offer kind, status, "Industry", "Products__c", partner)."""
    from jobs.state import Store, schema
    from rules.model import Partner

    store = Store(f"sqlite:///{tmp_path}/{name}.sqlite")
    try:
        with store.begin() as conn:
            for i, (kind, status_, industry, products, pid) in enumerate(answers):
                lid, at = f"00Q{i:015d}", NOW - timedelta(days=10 - i % 10, hours=i)
                conn.execute(schema.leads.insert().values(
                    lead_id=lid, state="offered", attempt=1, updated_at=at,
                    record={"Id": lid, "Industry": industry, "Products__c": products}))
                conn.execute(schema.offers.insert().values(
                    lead_id=lid, kind=kind, partner_id=pid, attempt=1, offered_at=at, status=status_,
                    accepted_at=at if status_ == "accepted" else None,
                    closed_at=at if status_ == "rejected" else None,
                    close_reason=f"{feedback.NOT_OUR_FIT}: no" if status_ == "rejected" else None))
            if reviewed is not None:
                feedback.reset(conn, "001A", reviewed)
        with store.connect() as conn:
            return feedback.gather(conn, {"001A": Partner(id="001A", name="Acme")}, _to_lead, NOW, org={})
    finally:
        store.dispose()


def _to_lead(rec: dict) -> Lead:
    return Lead(id=rec["Id"], industry=rec.get("Industry"),
                products=frozenset(p for p in (rec.get("Products__c") or "").split(";") if p))


def test_pool_pick_ups_count_as_leads_taken_and_names_meet_in_any_case(tmp_path):
    adj = _gathered(tmp_path, [
        ("offer", "rejected", "Banking", SUITE, "001A"), ("offer", "rejected", "banking", "security suite", "001A"),
        ("pool", "accepted", "Banking", "Analytics", "001A"), ("pool", "accepted", "BANKING", None, "001A")])
    assert adj.excluded == {} and adj.excluded_products == {"001A": {SUITE: 2}}
    assert adj.took["001A"] == {("industry", "Banking"): 2, ("product", SUITE): 0}
    # one taken against two declines: excluded all the same, and it says so
    adj = _gathered(tmp_path, name="b", answers=[
        ("offer", "rejected", "Banking", None, "001A"), ("offer", "rejected", "Banking", None, "001A"),
        ("offer", "accepted", "Banking", None, "001A")])
    assert adj.excluded == {"001A": {"Banking": 2}}
    assert adj.barred_for(Lead(id="x", industry="Banking"))["001A"].startswith(
        "said 'Not our product/industry' 2× for Banking leads, took 1")


def test_a_review_counts_the_leads_taken_afresh_too(tmp_path):
    answers = [("offer", "accepted", "Banking", None, "001A"), ("offer", "accepted", "Banking", None, "001A"),
               ("offer", "rejected", "Banking", None, "001A"), ("offer", "rejected", "Banking", None, "001A")]
    assert _gathered(tmp_path, answers, name="a").excluded == {}  # two taken, two declined
    # reviewed between the leads taken and the declines: the declines stand alone
    adj = _gathered(tmp_path, answers, reviewed=NOW - timedelta(days=8, hours=12), name="b")
    assert adj.excluded == {"001A": {"Banking": 2}} and adj.took["001A"] == {("industry", "Banking"): 0}
