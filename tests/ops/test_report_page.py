import re

import pytest

from jobs.ops.report import PartnerFigures, ReportData, fairness_by_tier, render
from tests.ops.browser import dump_dom


def sample() -> ReportData:
    partners = [
        PartnerFigures("001A", "Alpine Systems", "Gold", offered=12, accepted=7, rejected=3, lapsed=1, hours_to_accept=[1.5, 2.0, 6.0]),
        PartnerFigures("001B", "O'Brien & Sons <script>", "Gold", offered=10, accepted=2, rejected=5, lapsed=3, hours_to_accept=[20.0]),
        PartnerFigures("001C", "Nordlicht GmbH", "Silver", offered=4, accepted=4, hours_to_accept=[0.5, 1.0]),
    ]
    return ReportData(
        title="leadrouter report",
        generated_at="2026-11-23 10:00 UTC",
        totals={"leads": 30, "offered": 26, "accepted": 13, "rejected": 8, "expired": 4, "escalated": 1, "unroutable": 2},
        partners=partners,
        rejection_reasons={"Outside our territory": 5, "No capacity this month": 3},
        timeline_labels=["0h", "12h", "24h"],
        timeline={"offered": [10, 12, 4], "accepted": [2, 6, 5], "lapsed": [0, 1, 3], "escalated": [0, 0, 1]},
    )


def test_fairness_is_zero_when_partners_of_a_tier_got_the_same_number_of_offers():
    even = [PartnerFigures(str(i), f"P{i}", "Gold", offered=5) for i in range(4)]
    skewed = [PartnerFigures(str(i), f"P{i}", "Silver", offered=n) for i, n in enumerate((0, 0, 0, 20))]
    rows = {r["tier"]: r for r in fairness_by_tier(even + skewed)}
    assert rows["Gold"]["gini"] == 0
    assert rows["Silver"]["gini"] == pytest.approx(0.75)


def test_partner_names_are_escaped_in_the_page():
    html = render(sample())
    assert html.count("<script>") == 1  # only the page's own chart check
    assert "O&#x27;Brien &amp; Sons &lt;script&gt;" in html


@pytest.mark.browser
def test_report_charts_render_in_headless_chromium(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render(sample()), encoding="utf-8")
    dom = dump_dom(page)
    charts = re.findall(r'<svg id="(chart-[a-z-]+)"[^>]*data-rendered="(\w+)"', dom)
    assert {name for name, _ in charts} == {
        "chart-leads-per-partner",
        "chart-acceptance-rate",
        "chart-time-to-accept",
        "chart-rejection-reasons",
        "chart-lapses-escalations",
        "chart-fairness",
    }
    assert all(state == "yes" for _, state in charts), charts
    assert 'data-charts-rendered="6"' in dom
