"""`leadrouter report`: one self-contained HTML page a channel manager can open offline.

The page is data in, HTML out (`render`); gathering the figures from the state
database lives in `jobs.ops.figures`, so the page can be tested on hand-made data and
the figures on a real run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from statistics import mean
from typing import Any

from jobs.ops import charts


@dataclass
class PartnerFigures:
    partner_id: str
    name: str
    tier: str | None = None
    offered: int = 0
    accepted: int = 0
    rejected: int = 0
    lapsed: int = 0
    hours_to_accept: list[float] = field(default_factory=list)

    @property
    def acceptance_rate(self) -> float:
        answered = self.accepted + self.rejected + self.lapsed
        return 100.0 * self.accepted / answered if answered else 0.0

    @property
    def median_hours_to_accept(self) -> float | None:
        if not self.hours_to_accept:
            return None
        ordered = sorted(self.hours_to_accept)
        mid = len(ordered) // 2
        return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass
class ReportData:
    title: str
    generated_at: str
    totals: dict[str, int]
    partners: list[PartnerFigures]
    rejection_reasons: dict[str, int]
    timeline_labels: list[str] = field(default_factory=list)
    timeline: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def fairness_by_tier(partners: list[PartnerFigures]) -> list[dict[str, Any]]:
    """Spread of offers among partners of equal standing (same tier).

    Gini 0 means every partner of the tier got the same number of offers; rules may
    legitimately skew it (weights, capacity), which is why it is shown, not enforced.
    """
    by_tier: dict[str, list[int]] = {}
    for p in partners:
        by_tier.setdefault(p.tier or "(none)", []).append(p.offered)
    rows = []
    for tier in sorted(by_tier):
        counts = sorted(by_tier[tier])
        n, total = len(counts), sum(counts)
        gini = 0.0
        if n > 1 and total:
            gini = sum((2 * (i + 1) - n - 1) * c for i, c in enumerate(counts)) / (n * total)
        rows.append(
            {"tier": tier, "partners": n, "min": counts[0], "max": counts[-1], "mean": mean(counts), "gini": gini}
        )
    return rows


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#111827;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.meta{color:#6b7280;margin-bottom:16px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(130px,1fr));gap:10px}
.tile{border:1px solid #e5e7eb;border-radius:8px;padding:10px}.tile b{display:block;font-size:22px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:18px}
.card{border:1px solid #e5e7eb;border-radius:8px;padding:12px;overflow-x:auto}
svg .label,svg .value,svg .legend{font-size:11px;fill:#374151}svg .empty{fill:#9ca3af}
svg .axis{stroke:#9ca3af}
table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #f3f4f6;text-align:right}
th:first-child,td:first-child{text-align:left}
"""

# After load, mark each chart with its drawn size so a headless browser (and a person
# opening devtools) can tell a rendered chart from an empty box.
_CHECK = """
window.addEventListener('load',function(){var n=0;document.querySelectorAll('svg.chart').forEach(function(s){
var b=s.getBBox();var marks=s.querySelectorAll('rect.bar,polyline.series').length;
s.setAttribute('data-rendered',(b.width>0&&b.height>0&&marks>0)?'yes':'no');s.setAttribute('data-marks',marks);if(marks>0)n++;});
document.body.setAttribute('data-charts-rendered',n);});
"""


def render(data: ReportData) -> str:
    tiles = "".join(
        f'<div class="tile"><b>{value:,}</b>{escape(key)}</div>' for key, value in data.totals.items()
    )
    by_volume = sorted(data.partners, key=lambda p: (-p.offered, p.name))[:25]
    leads_chart = charts.stacked(
        "chart-leads-per-partner",
        "Leads per partner (top 25 by offers)",
        [(p.name, (p.accepted, p.rejected, p.lapsed, max(0, p.offered - p.accepted - p.rejected - p.lapsed))) for p in by_volume],
        ("accepted", "rejected", "lapsed", "open"),
    )
    answered = [p for p in data.partners if p.accepted + p.rejected + p.lapsed]
    rate_chart = charts.hbar(
        "chart-acceptance-rate",
        "Acceptance rate per partner (top 25 by offers)",
        [(p.name, round(p.acceptance_rate, 1)) for p in sorted(answered, key=lambda p: (-p.offered, p.name))[:25]],
        unit="%",
    )
    timed = [p for p in data.partners if p.median_hours_to_accept is not None]
    time_chart = charts.hbar(
        "chart-time-to-accept",
        "Median hours to accept (fastest 25)",
        [(p.name, round(p.median_hours_to_accept or 0.0, 1)) for p in sorted(timed, key=lambda p: (p.median_hours_to_accept, p.name))[:25]],
        unit=" h",
    )
    reasons_chart = charts.hbar(
        "chart-rejection-reasons",
        "Rejection reasons",
        sorted(data.rejection_reasons.items(), key=lambda kv: (-kv[1], kv[0])),
    )
    timeline_chart = charts.lines(
        "chart-lapses-escalations", "Offers, acceptances, lapses and escalations over the run", data.timeline_labels, data.timeline
    )
    fairness = fairness_by_tier(data.partners)
    fairness_chart = charts.hbar(
        "chart-fairness",
        "Fairness among partners of the same tier (Gini of offers ×100; 0 = perfectly even)",
        [(f"{row['tier']} ({row['partners']} partners)", round(100 * row["gini"], 1)) for row in fairness],
    )
    fairness_rows = "".join(
        f"<tr><td>{escape(r['tier'])}</td><td>{r['partners']}</td><td>{r['min']}</td><td>{r['max']}</td>"
        f"<td>{r['mean']:.1f}</td><td>{r['gini']:.3f}</td></tr>"
        for r in fairness
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in data.notes)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(data.title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_CSS}</style></head>
<body>
<h1>{escape(data.title)}</h1><div class="meta">generated {escape(data.generated_at)}</div>
<div class="tiles">{tiles}</div>
<div class="grid">
<div class="card"><h2>Leads per partner</h2>{leads_chart}</div>
<div class="card"><h2>Acceptance rate</h2>{rate_chart}</div>
<div class="card"><h2>Time to accept</h2>{time_chart}</div>
<div class="card"><h2>Rejection reasons</h2>{reasons_chart}</div>
<div class="card"><h2>Lapses and escalations</h2>{timeline_chart}</div>
<div class="card"><h2>Fairness</h2>{fairness_chart}
<table><thead><tr><th>tier</th><th>partners</th><th>min</th><th>max</th><th>mean</th><th>Gini</th></tr></thead>
<tbody>{fairness_rows}</tbody></table></div>
</div>
{f"<h2>Notes</h2><ul>{notes}</ul>" if notes else ""}
<script>{_CHECK}</script>
</body></html>
"""
