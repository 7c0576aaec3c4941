"""Feedback that acts (issue 17, item 3), piece by piece: the partners' rating of lead quality
in the lead score and the performance facts, the words on the Lead, and the report and
status rendering of every adjustment. Fixed dates: nothing here depends on today."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from jobs import feedback, ratings
from jobs.ops import report, status
from jobs.performance import attach
from rules.book import load_rules
from rules.model import Decision, DecisionKind, Lead, Partner
from rules.performance import PARTNER_ATTRIBUTES
from rules.predictive import Predictor, segment_of

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=timezone.utc)


def _lead(i: int, source: str, country: str = "DE") -> Lead:
    return Lead(id=f"00Q{i:015d}", country=country, industry="Retail", source=source, employees=50)


def test_leads_like_ones_rated_low_score_lower_and_no_ratings_change_nothing():
    p = Predictor()
    web, fair = _lead(1, "Web"), _lead(2, "Trade Show")
    assert p.score(web) == p.score(fair) and p.rating_lift(segment_of(web)) == 0.0
    p.rate([(_lead(10 + i, "Web"), 1) for i in range(20)] + [(_lead(40 + i, "Trade Show"), 5) for i in range(20)])
    assert p.score(web) < p.score(fair)
    low = p.rating_lift(segment_of(web))
    assert low < 0 < p.rating_lift(segment_of(fair))
    # segments nobody rated lift nothing, nor ones every rated lead shares; every lead rated alike: nothing at all
    assert p.rating_lift(segment_of(_lead(3, "Email", country="FR"))) == 0.0
    p.rate([(_lead(10 + i, s), 3) for i, s in enumerate(["Web", "Trade Show"] * 10)])
    assert p.rating_lift(segment_of(web)) == p.rating_lift(segment_of(fair)) == 0.0


def test_ratings_replace_the_ones_before_and_survive_the_model_as_json():
    p = Predictor()
    rated = [(_lead(10 + i, "Web"), 1) for i in range(5)] + [(_lead(40 + i, "Referral"), 5) for i in range(5)]
    p.rate(rated)
    once = p.rating_lift(segment_of(_lead(1, "Web")))
    p.rate(rated)  # read again at the next routing build: the same, not twice as much
    assert p.rating_lift(segment_of(_lead(1, "Web"))) == once < 0
    again = Predictor.from_dict(p.to_dict())
    assert again.rating_lift(segment_of(_lead(1, "Web"))) == once


def test_a_partners_average_rating_is_a_fact_rules_can_name(tmp_path):
    r = [ratings.Rating("00Q1", "001A", 2, NOW - timedelta(days=3)),
         ratings.Rating("00Q2", "001A", 4, NOW - timedelta(days=10)),
         ratings.Rating("00Q3", "001A", 1, NOW - timedelta(days=120)),  # before the 90 days
         ratings.Rating("00Q4", "001B", 5, NOW - timedelta(days=1))]
    q = ratings.quality(r, NOW)
    assert q == {"001A": (3.0, 2), "001B": (5.0, 1)}
    a, b, c = Partner(id="001A", name="A"), Partner(id="001B", name="B"), Partner(id="001C", name="C")
    attach([a, b, c], {}, q)
    assert (a.extra["lead_quality"], a.extra["lead_quality_ratings"]) == (3.0, 2)
    assert (c.extra["lead_quality"], c.extra["lead_quality_ratings"]) == (None, 0)
    assert {"lead_quality", "lead_quality_ratings"} <= set(PARTNER_ATTRIBUTES)
    rules = tmp_path / "r.toml"
    rules.write_text('[[ruleset]]\nname = "all"\n  [[ruleset.rule]]\n  name = "well rated"\n'
                     '  partners = "lead_quality >= 3.5"\n  distribute = "round_robin"\n')
    book = load_rules(rules, partner_attributes=PARTNER_ATTRIBUTES)
    assert ratings.wants_ratings(book)


def test_the_rating_picklist_reads_as_a_number():
    assert [ratings.rating_of(v) for v in ("1", "5", "3 - Fair", " 4", None, "", "0", "9", "x")] == \
        [1, 5, 3, 4, None, None, None, None, None]


def test_the_lead_names_whom_its_feedback_kept_away_within_its_255_characters():
    adj = feedback.Adjustments(at=NOW, stopped={"001A": {"US-CA": 3}}, names={"001A": "Acme Partners"})
    lead = Lead(id="00Q000000000000001", country="US", state="US-CA")
    router = SimpleNamespace(eligibility=SimpleNamespace(barred=None))
    feedback.hook(router, adj)  # the router skips whom the Lead will name
    skipped = feedback.skipped(lead, adj)
    assert "--area US-CA" in skipped["001A"] and router.eligibility.barred(lead)["001A"] == skipped["001A"]
    # a stop on a country keeps its states away too
    adj_country = feedback.Adjustments(at=NOW, stopped={"001A": {"US": 3}})
    assert "for US leads" in feedback.skipped(lead, adj_country)["001A"]
    assert feedback.skipped(Lead(id="x", country="CA", state="CA-ON"), adj_country) == {}

    why = skipped["001A"]
    d = Decision(lead_id=lead.id, kind=DecisionKind.OFFER, reason="Covering partner: Beta GmbH — round robin" + "x" * 200,
                 explanation={"rules": [{"applied": True, "excluded_counts": {f"already {why} this lead": 1}}]})
    feedback.note(d, skipped, adj)
    assert len(d.reason) <= 255 and d.explanation["feedback"] == {"001A": why}
    # offered to a partner, the Lead is one partner users see: the skipped partner goes unnamed there
    assert "Acme Partners" not in d.reason
    offered = Decision(lead_id=lead.id, kind=DecisionKind.OFFER, reason="Covering partner: Beta GmbH — round robin",
                       explanation={"rules": [{"applied": True, "excluded_counts": {f"already {why} this lead": 1}}]})
    feedback.note(offered, skipped, adj)
    assert offered.reason == ("Covering partner: Beta GmbH — round robin · skipped by its own feedback: "
                              "a partner said 'Out of territory' 3× for US-CA")
    assert offered.explanation["feedback"] == {"001A": why}  # explain and the report name it
    short = Decision(lead_id=lead.id, kind=DecisionKind.ESCALATE, reason=f"Escalated: none eligible (1 already {why} this lead)",
                     explanation={"rules": [{"applied": True, "excluded_counts": {f"already {why} this lead": 1}}]})
    feedback.note(short, skipped, adj)
    assert short.reason == ("Escalated: none eligible (1 kept away by its own feedback) · skipped by its own feedback: "
                            "Acme Partners said 'Out of territory' 3× for US-CA")
    # a partner no rule considered for this lead is not named
    other = Decision(lead_id=lead.id, kind=DecisionKind.OFFER, reason="r", explanation={"rules": []})
    feedback.note(other, skipped, adj)
    assert other.reason == "r"


def _adjustments() -> dict:
    return feedback.Adjustments(
        at=NOW, capacity={"001A": (3, 10, 3)}, excluded={"001B": {"Banking": 2}}, territory={"001C": {"US-CA": 3, "FR": 1}},
        stopped={"001C": {"US-CA": 3}}, quality={"001A": (2.5, 4)}, rated=[],
        names={"001A": "Acme", "001B": "Beta", "001C": "Gamma"}).to_dict()


def test_the_report_lists_every_adjustment_with_its_undo_and_the_coverage_to_review():
    data = report.ReportData(title="t", generated_at="2026-05-20 12:00 UTC", totals={}, partners=[],
                             rejection_reasons={}, feedback=_adjustments())
    page = report.render(data)
    section = page[page.index('id="feedback"'):]
    assert "3 automatic adjustment(s) in force" in section
    assert "capacity throttled" in section and "industry excluded" in section and "area stopped" in section
    assert "leadrouter feedback reset 001C --area US-CA" in section and "leadrouter feedback reset 001B" in section
    assert "Coverage to review" in section and "in FR" in section
    assert "<td>Acme</td><td>2.5</td><td>4</td>" in section
    quiet = report.render(report.ReportData(title="t", generated_at="-", totals={}, partners=[], rejection_reasons={},
                                            feedback=feedback.Adjustments(at=NOW).to_dict()))
    assert "0 automatic adjustment(s) in force" in quiet and "none: no partner" in quiet


def test_status_counts_the_adjustments_and_json_lists_them():
    fb = _adjustments()
    assert fb["count"] == 3 and len(fb["stopped"]) == 1 and fb["stopped"][0]["area"] == "US-CA"
    text = status.render({"state": "sqlite:///x", "schema_version": 6, "feedback": fb})
    joined = " ".join(line.strip() for line in text.splitlines())
    assert "3 adjustment(s) in force" in joined and "Gamma no US-CA" in joined and "2 coverage fix(es)" in joined


def test_explain_names_a_throttled_partner_a_rule_weighed_and_no_other():
    from types import SimpleNamespace

    from jobs.ops.explain import feedback_part, render

    adj = feedback.Adjustments(at=NOW, capacity={"001A": (3, 10, 3), "001Z": (1, 5, 4)})
    routing = SimpleNamespace(feedback=adj, learning=None, partners={}, queue_ids={}, pools={})
    names = SimpleNamespace(partner=lambda pid: {"001A": "Acme"}.get(pid, pid))
    ex = SimpleNamespace(trials=[SimpleNamespace(excluded={"001A": "at capacity (3 of 3 open)"}, scores=[])])
    part = feedback_part(Lead(id="00Q1"), {}, routing, names, ex)
    assert part["throttled"] == {"Acme": "capacity 3 of 10 open leads after 3 'No capacity' declines "
                                         "(feedback; undo: leadrouter feedback reset 001A)"}
    text = render("00Q1", {}, {"found": True, "kind": "offer", "explanation": {}, "feedback": part}, [], [],
                  names, no_state=None)
    assert "Throttled: Acme: capacity 3 of 10" in text
