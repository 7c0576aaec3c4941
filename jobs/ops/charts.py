"""Inline SVG charts for the HTML report.

Plain SVG strings rather than a charting library: the report must be one
self-contained file that opens offline (no CDN, no script bundle), and these three
shapes — horizontal bars, stacked bars, a small multi-line chart — are all it needs.
"""
from __future__ import annotations

from html import escape
from typing import Sequence

PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#f59e0b", "#7c3aed", "#0891b2", "#db2777", "#65a30d")


def _fmt(value: float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def hbar(chart_id: str, title: str, rows: Sequence[tuple[str, float]], *, unit: str = "", width: int = 640) -> str:
    """One bar per (label, value), largest first as given."""
    bar_h, gap, label_w = 18, 6, 200
    height = max(1, len(rows)) * (bar_h + gap) + 30
    top = max((v for _, v in rows), default=0) or 1
    plot_w = width - label_w - 70
    parts = [_open(chart_id, title, width, height)]
    if not rows:
        parts.append('<text x="10" y="40" class="empty">no data yet</text>')
    for i, (label, value) in enumerate(rows):
        y = 24 + i * (bar_h + gap)
        w = max(1.0, plot_w * value / top)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" class="label">{escape(_short(label))}</text>'
            f'<rect class="bar" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{PALETTE[0]}">'
            f"<title>{escape(label)}: {_fmt(value)}{escape(unit)}</title></rect>"
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" class="value">{_fmt(value)}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def stacked(chart_id: str, title: str, rows: Sequence[tuple[str, Sequence[float]]], series: Sequence[str], *, width: int = 640) -> str:
    """One stacked bar per row; `series` names the segments, with a legend."""
    bar_h, gap, label_w = 18, 6, 200
    height = max(1, len(rows)) * (bar_h + gap) + 56
    top = max((sum(v) for _, v in rows), default=0) or 1
    plot_w = width - label_w - 70
    parts = [_open(chart_id, title, width, height)]
    for s, name in enumerate(series):
        x = label_w + s * 110
        parts.append(
            f'<rect x="{x}" y="6" width="10" height="10" fill="{PALETTE[s % len(PALETTE)]}"></rect>'
            f'<text x="{x + 14}" y="15" class="legend">{escape(name)}</text>'
        )
    if not rows:
        parts.append('<text x="10" y="50" class="empty">no data yet</text>')
    for i, (label, values) in enumerate(rows):
        y = 30 + i * (bar_h + gap)
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" class="label">{escape(_short(label))}</text>')
        x = float(label_w)
        for s, value in enumerate(values):
            if value <= 0:
                continue
            w = plot_w * value / top
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{PALETTE[s % len(PALETTE)]}">'
                f"<title>{escape(label)} — {escape(series[s])}: {_fmt(value)}</title></rect>"
            )
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 13}" class="value">{_fmt(sum(values))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def lines(chart_id: str, title: str, labels: Sequence[str], series: dict[str, Sequence[float]], *, width: int = 640, height: int = 240) -> str:
    """A small multi-series line chart over ordered buckets (e.g. hours of the run)."""
    left, right, top_pad, bottom = 40, 20, 30, 30
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = max((max(v, default=0) for v in series.values()), default=0) or 1
    n = max(1, len(labels) - 1)
    parts = [_open(chart_id, title, width, height)]
    parts.append(f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" y2="{top_pad + plot_h}" class="axis"></line>')
    parts.append(f'<text x="{left - 4}" y="{top_pad + 4}" text-anchor="end" class="value">{_fmt(top)}</text>')
    for s, (name, values) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        pts = " ".join(
            f"{left + plot_w * i / n:.1f},{top_pad + plot_h - plot_h * v / top:.1f}" for i, v in enumerate(values)
        )
        parts.append(f'<polyline class="series" points="{pts}" fill="none" stroke="{colour}" stroke-width="2"></polyline>')
        parts.append(
            f'<rect x="{left + s * 120}" y="6" width="10" height="10" fill="{colour}"></rect>'
            f'<text x="{left + s * 120 + 14}" y="15" class="legend">{escape(name)}</text>'
        )
    if labels:
        parts.append(f'<text x="{left}" y="{height - 8}" class="label">{escape(labels[0])}</text>')
        parts.append(f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end" class="label">{escape(labels[-1])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _open(chart_id: str, title: str, width: int, height: int) -> str:
    return (
        f'<svg id="{escape(chart_id)}" class="chart" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" style="width:100%;height:auto;max-width:{width}px" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
    )


def _short(label: str, limit: int = 30) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
