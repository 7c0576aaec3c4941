"""`leadrouter report` reads the partners' tiers as routing does, through the org's
mappings: Northwind's Partner_Level__c 'Level 3' is Gold, 'level 2' Silver. The report read
Partner_Tier__c straight from the snapshot, so every partner of such an org was of tier
'(none)' and the fairness per tier compared partners of different standing."""
from __future__ import annotations

import re

import pytest

from jobs.cli import main

pytestmark = pytest.mark.e2e


def test_the_report_groups_partners_by_the_tier_their_mapping_gives(other_org, capsys, tmp_path):
    sb, ids, config = other_org
    assert main(["once", "--init", "--config", str(config)]) == 0
    out = tmp_path / "report.html"
    assert main(["report", "--config", str(config), "--out", str(out)]) == 0
    capsys.readouterr()
    page = out.read_text()
    tiers = set(re.findall(r'class="label">([A-Za-z()]+) \(\d+ partners\)<', page))
    assert "(none)" not in tiers, tiers
    assert {"Gold", "Silver"} <= tiers, tiers
