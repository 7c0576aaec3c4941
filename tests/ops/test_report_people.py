"""The report a channel manager acts on: the leads to chase with ids, links and reasons,
charts with axes, a real time-to-accept distribution, visible top-N, a concentration
flag, one vocabulary ("lapsed") — checked on hand-made data, in Chromium, and on a run."""
from __future__ import annotations

import re
import struct
import zlib
from html import unescape

import pytest

from jobs.cli import main
from jobs.ops.report import ActionItem, PartnerFigures, ReportData, render
from tests.ops.browser import dump_dom, screenshot


def many_partners() -> ReportData:
    partners = [PartnerFigures(f"001P{i:03d}", f"Partner {i:03d}", "Silver", offered=5, accepted=2, rejected=1, lapsed=1,
                               hours_to_accept=[0.5 + i % 30, 3.0]) for i in range(199)]
    partners.append(PartnerFigures("001BIG", "Big Fish Ltd", "Gold", offered=170, accepted=100, hours_to_accept=[30.0]))
    return ReportData(
        title="leadrouter report", generated_at="2026-11-23 10:00 UTC",
        totals={"leads": 1200, "offered": 1165, "accepted": 498, "rejected": 199, "lapsed": 199, "open_offers": 12},
        partners=partners, rejection_reasons={"Out of territory": 120, "No capacity": 79},
        timeline_labels=[f"23 Nov {h:02d}:00" for h in range(24)],
        timeline={"offered": [40.0] * 11 + [900.0] + [40.0] * 12, "accepted": [20.0] * 24,
                  "lapsed": [3.0] * 24, "escalated": [1.0] * 24},
        actions=[ActionItem("00Q000000000001AAA", "escalated", "Escalated: no partner covers JP; 3 cover APAC but "
                            'not "Security Suite" (rule set "All leads")', "Kumo KK", "2026-11-23 09:00",
                            "https://org.example/lightning/r/Lead/00Q000000000001AAA/view"),
                 ActionItem("00Q000000000002AAA", "unroutable", "Country: 'Atlantis' is not a recognised country",
                            "Sunken Co", "2026-11-23 09:30", "https://org.example/lightning/r/Lead/00Q000000000002AAA/view"),
                 ActionItem("00Q000000000003AAA", "lapsed twice", "Offered to Partner 007", "Slow Ltd", "2026-11-23 08:00")],
        hours_to_accept=[0.5, 0.7, 1.5, 3.0, 3.5, 6.0, 12.0, 30.0, 50.0],
    )


def text_of(html: str) -> str:
    """What a person reads: the page without tags, tooltips (svg <title>) or the script."""
    html = re.sub(r"<title>.*?</title>|<script>.*?</script>|<style>.*?</style>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def test_the_page_says_top_25_of_200_in_words_and_flags_a_partner_with_too_big_a_share():
    page = text_of(render(many_partners()))
    assert "top 25 of 200 partners by offers" in page
    assert re.search(r"Big Fish Ltd\s+got 15 % of all offers \(170 of 1,165\)", page)
    assert "Partner 001 got" not in page, "only partners above the line are flagged"


def test_one_vocabulary_and_no_raw_keys_as_labels():
    page = text_of(render(many_partners()))
    assert "lapsed" in page and "expired" not in page
    assert "open offers" in page
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", page), re.findall(r"\b[a-z]+_[a-z_]+\b", page)[:5]


def test_time_to_accept_is_a_distribution_of_every_accepted_offer():
    page = render(many_partners())
    chart = re.search(r'<svg id="chart-time-to-accept".*?</svg>', page, flags=re.S).group(0)
    bars = dict(re.findall(r"<title>([^<:]+): (\d+)</title></rect>", chart))
    assert bars == {"under 1 h": "2", "1–2 h": "1", "2–4 h": "2", "4–8 h": "1", "8–24 h": "1", "1–2 days": "1",
                    "over 2 days": "1"}
    assert "median 3.5 h" in text_of(page)


def test_the_action_list_has_ids_links_and_reasons():
    page = render(many_partners())
    assert '<a href="https://org.example/lightning/r/Lead/00Q000000000001AAA/view">00Q000000000001AAA</a>' in page
    read = text_of(page)
    assert "Leads to act on — 3 lead(s)" in read
    assert "Country: 'Atlantis' is not a recognised country" in read and "lapsed twice" in read


def _png_colours(png: bytes) -> int:
    """How many distinct bytes the image's pixel rows hold: a blank page has one or two."""
    pos, data = 8, b""
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        if kind == b"IDAT":
            data += png[pos + 8:pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(data)))


@pytest.mark.browser
def test_chromium_shows_the_action_list_and_axes(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render(many_partners()), encoding="utf-8")
    dom = dump_dom(page)
    assert 'data-action-rows-visible="3"' in dom
    axes = int(re.search(r'data-axes-drawn="(\d+)"', dom).group(1))
    assert axes >= 7, "a value axis under every bar chart, both axes on the timeline"
    assert re.search(r'class="value spike">offered 900', dom), "the spike is labelled, not flattening the rest"
    shot = screenshot(page, tmp_path / "report.png", size="1200,1400")
    assert _png_colours(shot.read_bytes()) > 20


def test_report_from_a_run_lists_the_escalated_and_unroutable_leads_with_links(workdir, seeded_org, capsys):
    import time

    config = str(workdir / "leadrouter.toml")
    atlantis = seeded_org.org.create("Lead", {"LastName": "Nemo", "Company": "Sunken Co", "Country": "Atlantis"})
    time.sleep(1.1)
    assert main(["once", "--config", config]) == 0
    out = workdir / "report.html"
    assert main(["report", "--config", config, "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    url = seeded_org.connection["instance_url"].rstrip("/")
    assert f'<a href="{url}/lightning/r/Lead/{atlantis}/view">{atlantis}</a>' in html
    row = re.search(rf"{atlantis}</a></td>(.*?)</tr>", html, flags=re.S).group(1)
    assert "unroutable" in row and "Country: &quot;Atlantis&quot; is not a recognised country" in row
    escalated = [r for r in seeded_org.org.records("Lead") if r.get("Routing_Status__c") == "Escalated"]
    assert all(r["Id"] in html for r in escalated)


def test_the_action_list_takes_escalated_unroutable_and_twice_lapsed_leads_still_open(tmp_path):
    from datetime import datetime, timedelta, timezone

    from jobs.ops.figures import action_list
    from jobs.state import Store
    from jobs.state import schema as t

    at = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    leads = {"00QESC": "escalated", "00QUNR": "unroutable", "00QLAP": "offered", "00QTAKEN": "accepted",
             "00QONCE": "offered"}
    lapses = {"00QLAP": 2, "00QTAKEN": 2, "00QONCE": 1}
    try:
        with store.begin() as conn:
            for lid, state in leads.items():
                conn.execute(t.leads.insert().values(lead_id=lid, state=state, attempt=1, reason=f"why {lid}",
                                                     record={"Company": f"{lid} Ltd"}, updated_at=at))
            for lid, n in lapses.items():
                for k in range(n):
                    conn.execute(t.offers.insert().values(lead_id=lid, kind="offer", partner_id="001A", attempt=k + 1,
                                                          offered_at=at - timedelta(days=3 - k), status="lapsed"))
        with store.connect() as conn:
            items = {a.lead_id: a for a in action_list(conn, "https://acme.my.salesforce.com")}
    finally:
        store.dispose()
    assert set(items) == {"00QESC", "00QUNR", "00QLAP"}
    assert items["00QLAP"].what == "lapsed twice" and items["00QESC"].reason == "why 00QESC"
    assert items["00QUNR"].link == "https://acme.my.salesforce.com/lightning/r/Lead/00QUNR/view"
    assert items["00QUNR"].company == "00QUNR Ltd"
