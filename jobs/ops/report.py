"""`leadrouter report`: one self-contained HTML page a channel manager can open offline.

The page is data in, HTML out (`render`); gathering the figures from the state
database lives in `jobs.ops.figures`, so the page can be tested on hand-made data and
the figures on a real run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from statistics import mean
from typing import Any

from jobs.ops import charts
from jobs.printable import html_text as escape  # escaped, and org text on one line


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
class ActionItem:
    """A lead a channel manager must do something about, and why."""

    lead_id: str
    what: str  # escalated | unroutable | lapsed twice (and combinations)
    reason: str
    company: str = ""
    since: str = ""
    link: str = ""  # the Lead in the org, when the org's address is known


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
    actions: list[ActionItem] = field(default_factory=list)
    hours_to_accept: list[float] = field(default_factory=list)  # every accepted offer's, for the distribution
    concentration_percent: float = 10.0  # flag a partner that gets more than this share of the offers
    feedback: dict[str, Any] | None = None  # jobs.feedback.Adjustments.to_dict(): adjustments in force


TOP = 25  # partners shown in the per-partner charts; the heading says "top 25 of N"
ACTIONS_SHOWN = 200
# One word per thing, the same everywhere (the state says "lapsed", so does the page).
TILE_LABELS = {"leads": "leads seen", "offered": "leads offered", "offers": "offers made", "accepted": "accepted",
               "rejected": "rejected", "lapsed": "lapsed", "expired": "lapsed", "redistributed": "offered again",
               "escalated": "escalated", "unroutable": "unroutable", "open_offers": "open offers",
               "live_offers": "open offers"}
# Hours-to-accept buckets: (upper bound in hours, label)
ACCEPT_BUCKETS = ((1, "under 1 h"), (2, "1–2 h"), (4, "2–4 h"), (8, "4–8 h"), (24, "8–24 h"), (48, "1–2 days"),
                  (float("inf"), "over 2 days"))


def accept_distribution(hours: list[float]) -> list[tuple[str, float]]:
    counts = [0] * len(ACCEPT_BUCKETS)
    for h in hours:
        counts[next(i for i, (top, _) in enumerate(ACCEPT_BUCKETS) if h < top)] += 1
    return [(label, n) for (_, label), n in zip(ACCEPT_BUCKETS, counts)]


def concentration(partners: list[PartnerFigures], percent: float) -> list[tuple[PartnerFigures, float]]:
    """Partners that got more than `percent` % of all offers, largest share first. With
    few partners each one's fair share is large, so the line is at least twice that."""
    total = sum(p.offered for p in partners)
    if not total:
        return []
    line = max(percent, 2 * 100.0 / len(partners))
    over = [(p, 100.0 * p.offered / total) for p in partners if 100.0 * p.offered / total > line]
    return sorted(over, key=lambda x: -x[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


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
svg .axis{stroke:#6b7280}svg .gridline{stroke:#eef0f3}svg .tick{font-size:10px;fill:#4b5563}svg .axis-title{font-size:11px;fill:#111827;font-weight:600}svg .spike{fill:#b91c1c}
.meta.shown{margin:0 0 6px}
table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #f3f4f6;text-align:right}
th:first-child,td:first-child{text-align:left}
#actions td,#actions th{text-align:left;vertical-align:top}#actions td.reason{max-width:520px}
.flag{border:1px solid #f59e0b;background:#fffbeb;border-radius:8px;padding:4px 12px;margin:14px 0}
#actions{margin:14px 0}#actions .scroll{max-height:420px;overflow-y:auto}
"""

# After load, mark each chart with its drawn size so a headless browser (and a person
# opening devtools) can tell a rendered chart from an empty box.
_CHECK = """
window.addEventListener('load',function(){var n=0;document.querySelectorAll('svg.chart').forEach(function(s){
var b=s.getBBox();var marks=s.querySelectorAll('rect.bar,polyline.series').length;
s.setAttribute('data-rendered',(b.width>0&&b.height>0&&marks>0)?'yes':'no');s.setAttribute('data-marks',marks);if(marks>0)n++;});
document.body.setAttribute('data-charts-rendered',n);
var axes=0;document.querySelectorAll('svg.chart line.x-axis,svg.chart line.y-axis').forEach(function(l){var b=l.getBBox();if(b.width>0||b.height>0)axes++;});
document.body.setAttribute('data-axes-drawn',axes);
var rows=0;document.querySelectorAll('#actions tbody tr').forEach(function(r){if(r.offsetHeight>0)rows++;});
document.body.setAttribute('data-action-rows-visible',rows);});
"""


def _lead_cell(a: ActionItem) -> str:
    if a.link:
        return f'<a href="{escape(a.link)}">{escape(a.lead_id)}</a>'
    return escape(a.lead_id)


def _feedback_section(fb: dict[str, Any] | None) -> str:
    """Every automatic adjustment partners' feedback put in force, with its undo; and the
    coverage partners say is wrong."""
    if fb is None:
        return ""
    rows = [(t["partner"], "capacity throttled", f"{t['capacity']} of {t['declared']} open leads after "
             f"{t['declines']} 'No capacity' declines; recovers by one per accepted offer", t["partner_id"], "")
            for t in fb.get("throttled", ())]
    rows += [(e["partner"], f"{kind} excluded", f"no {e[kind]} leads after {e['declines']} "
              f"'Not our product/industry' declines, took {e.get('accepted', 0)}", e["partner_id"], "")
             for kind, key in (("industry", "excluded"), ("product", "excluded_products")) for e in fb.get(key, ())]
    rows += [(a["partner"], "area stopped", f"no {a['area']} leads after {a['declines']} 'Out of territory' "
              f"declines", a["partner_id"], f" --area {a['area']}") for a in fb.get("stopped", ())]
    body = "".join(f"<tr><td>{escape(who)}</td><td>{escape(what)}</td><td>{escape(detail)}</td>"
                   f"<td><code>leadrouter feedback reset {escape(pid)}{escape(area)}</code></td></tr>"
                   for who, what, detail, pid, area in rows)
    fixes = "".join(f"<li>{escape(c['partner'])}: {c['declines']} 'Out of territory' declines in "
                    f"{escape(c.get('area') or c['country'])} — {escape(c['fix'])}</li>"
                    for c in fb.get("out_of_territory", ()))
    quality = "".join(f"<tr><td>{escape(q['partner'])}</td><td>{q['average_rating']:.1f}</td><td>{q['ratings']}</td></tr>"
                      for q in fb.get("lead_quality", ()))
    org = fb.get("org_lead_quality")
    if org:  # set by the org's own people (internal users): no partner's
        quality += (f"<tr><td>(the org's own people)</td><td>{org['average_rating']:.1f}</td>"
                    f"<td>{org['ratings']}</td></tr>")
    if quality and fb.get("ratings_credited_to_holder"):
        from jobs.ops.feedback import credited_to_holder

        quality += f"<tr><td colspan=\"3\">{escape(credited_to_holder(fb['ratings_credited_to_holder']))}</td></tr>"
    return ('<div class="card" id="feedback"><h2>Partner feedback — '
            f'{len(rows)} automatic adjustment(s) in force</h2>'
            + (f"<table><thead><tr><th>partner</th><th>adjustment</th><th>why</th><th>undo</th></tr></thead>"
               f"<tbody>{body}</tbody></table>" if rows else "<p>none: no partner's rejection reasons changed its routing</p>")
            + (f"<h2>Coverage to review</h2><ul>{fixes}</ul>" if fixes else "")
            + (f"<h2>Partners' rating of lead quality (1–5, last 90 days)</h2><table><thead><tr><th>partner</th>"
               f"<th>average</th><th>ratings</th></tr></thead><tbody>{quality}</tbody></table>" if quality else "")
            + "</div>")


def _as_of(generated_at: str) -> str:
    """The heading's date: the state's, on Salesforce's clock (jobs/ops/figures.org_now)."""
    if generated_at in ("", "-"):
        return "no job has run yet"
    return f"figures as of {generated_at} (Salesforce's time at the connector's last run)"


def render(data: ReportData) -> str:
    tiles = "".join(
        f'<div class="tile"><b>{value:,}</b>{escape(TILE_LABELS.get(key, key.replace("_", " ")))}</div>'
        for key, value in data.totals.items()
    )
    n_partners = len(data.partners)
    shown = f"top {min(TOP, n_partners)} of {n_partners} partners by offers"
    by_volume = sorted(data.partners, key=lambda p: (-p.offered, p.name))[:TOP]
    leads_chart = charts.stacked(
        "chart-leads-per-partner",
        f"Leads per partner ({shown})",
        [(p.name, (p.accepted, p.rejected, p.lapsed, max(0, p.offered - p.accepted - p.rejected - p.lapsed))) for p in by_volume],
        ("accepted", "rejected", "lapsed", "open"), axis="offers",
    )
    answered = [p for p in data.partners if p.accepted + p.rejected + p.lapsed]
    rate_shown = f"top {min(TOP, len(answered))} of {len(answered)} partners with answers"
    rate_chart = charts.hbar(
        "chart-acceptance-rate",
        f"Acceptance rate per partner ({rate_shown})",
        [(p.name, round(p.acceptance_rate, 1)) for p in sorted(answered, key=lambda p: (-p.offered, p.name))[:TOP]],
        unit="%", axis="acceptance rate (%)",
    )
    hours = data.hours_to_accept or [h for p in data.partners for h in p.hours_to_accept]
    time_chart = charts.hbar(
        "chart-time-to-accept",
        f"Time from offer to acceptance, {len(hours):,} accepted offers",
        accept_distribution(hours), axis="accepted offers", sort=False,
    )
    time_note = (f"median {_percentile(hours, 0.5):.1f} h · 90 % within {_percentile(hours, 0.9):.1f} h"
                 if hours else "no accepted offers yet")
    reasons_chart = charts.hbar(
        "chart-rejection-reasons",
        "Rejection reasons",
        sorted(data.rejection_reasons.items(), key=lambda kv: (-kv[1], kv[0])), axis="rejections",
    )
    timeline_chart = charts.lines(
        "chart-lapses-escalations", "Offers, acceptances, lapses and escalations over the run", data.timeline_labels,
        data.timeline, y_title="count per interval",
    )
    flagged = concentration(data.partners, data.concentration_percent)
    flags = "".join(
        f"<li><b>{escape(p.name)}</b> got {share:.0f} % of all offers ({p.offered:,} of "
        f"{sum(q.offered for q in data.partners):,}) — above the "
        f"{max(data.concentration_percent, 200.0 / max(1, len(data.partners))):.0f} % line</li>"
        for p, share in flagged)
    concentration_html = (f'<div class="flag" id="concentration"><h2>Concentration</h2><ul>{flags}</ul></div>'
                          if flagged else "")
    action_rows = "".join(
        f"<tr><td>{_lead_cell(a)}</td><td>{escape(a.company)}</td><td>{escape(a.what)}</td>"
        f"<td class=\"reason\">{escape(a.reason)}</td><td>{escape(a.since)}</td></tr>"
        for a in data.actions[:ACTIONS_SHOWN])
    action_count = (f"{len(data.actions):,} lead(s)" + (f", the {ACTIONS_SHOWN} most recent shown"
                                                        if len(data.actions) > ACTIONS_SHOWN else ""))
    actions_html = (
        f'<div class="card" id="actions"><h2>Leads to act on — {action_count}</h2>'
        + (f'<div class="scroll"><table><thead><tr><th>lead</th><th>company</th><th>what</th><th>reason</th>'
           f'<th>since (UTC)</th></tr></thead><tbody>{action_rows}</tbody></table></div>' if data.actions
           else "<p>nothing to act on: no escalated or unroutable lead, none lapsed twice</p>")
        + "</div>")
    fairness = fairness_by_tier(data.partners)
    fairness_chart = charts.hbar(
        "chart-fairness",
        "Fairness among partners of the same tier (Gini of offers ×100; 0 = perfectly even)",
        [(f"{row['tier']} ({row['partners']} partners)", round(100 * row["gini"], 1)) for row in fairness],
        axis="Gini × 100",
    )
    fairness_rows = "".join(
        f"<tr><td>{escape(r['tier'])}</td><td>{r['partners']}</td><td>{r['min']}</td><td>{r['max']}</td>"
        f"<td>{r['mean']:.1f}</td><td>{r['gini']:.3f}</td></tr>"
        for r in fairness
    )
    feedback_html = _feedback_section(data.feedback)
    notes = "".join(f"<li>{escape(n)}</li>" for n in data.notes)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(data.title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_CSS}</style></head>
<body>
<h1>{escape(data.title)}</h1><div class="meta">{escape(_as_of(data.generated_at))}</div>
<div class="tiles">{tiles}</div>
{concentration_html}
{actions_html}
{feedback_html}
<div class="grid">
<div class="card"><h2>Leads per partner</h2><p class="meta shown">{escape(shown)}</p>{leads_chart}</div>
<div class="card"><h2>Acceptance rate</h2><p class="meta shown">{escape(rate_shown)}</p>{rate_chart}</div>
<div class="card"><h2>Time to accept</h2><p class="meta">{escape(time_note)}</p>{time_chart}</div>
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
