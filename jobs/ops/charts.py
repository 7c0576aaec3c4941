"""Inline SVG charts for the HTML report.

Plain SVG strings rather than a charting library: the report must be one
self-contained file that opens offline (no CDN, no script bundle), and these three
shapes — horizontal bars, stacked bars, a small multi-line chart — are all it needs.
"""
from __future__ import annotations

import math
from typing import Sequence

from jobs.printable import html_text as escape  # escaped, and org text on one line

PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#f59e0b", "#7c3aed", "#0891b2", "#db2777", "#65a30d")


def _fmt(value: float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def hbar(chart_id: str, title: str, rows: Sequence[tuple[str, float]], *, unit: str = "", width: int = 640,
         axis: str = "", sort: bool = True) -> str:
    """One bar per (label, value), in the order given, with a value axis underneath."""
    bar_h, gap, label_w = 18, 6, 200
    height = max(1, len(rows)) * (bar_h + gap) + 30 + AXIS_H
    top = nice_top(max((v for _, v in rows), default=0))
    plot_w = width - label_w - 70
    parts = [_open(chart_id, title, width, height)]
    parts.append(value_axis(label_w, plot_w, 24 + max(1, len(rows)) * (bar_h + gap), top, axis, unit))
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


def stacked(chart_id: str, title: str, rows: Sequence[tuple[str, Sequence[float]]], series: Sequence[str], *,
            width: int = 640, axis: str = "") -> str:
    """One stacked bar per row; `series` names the segments, with a legend and a value axis."""
    bar_h, gap, label_w = 18, 6, 200
    height = max(1, len(rows)) * (bar_h + gap) + 56 + AXIS_H
    top = nice_top(max((sum(v) for _, v in rows), default=0))
    plot_w = width - label_w - 70
    parts = [_open(chart_id, title, width, height)]
    parts.append(value_axis(label_w, plot_w, 30 + max(1, len(rows)) * (bar_h + gap), top, axis, ""))
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


def lines(chart_id: str, title: str, labels: Sequence[str], series: dict[str, Sequence[float]], *, width: int = 640,
          height: int = 260, y_title: str = "") -> str:
    """A small multi-series line chart over ordered buckets (e.g. hours of the run), with
    both axes labelled. One spike must not flatten the rest: when the highest point is
    far above the others, the scale stops at the others' range and the spike is drawn
    to the top edge with its value written beside it."""
    left, right, top_pad, bottom = 56, 20, 30, 44
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    values_all = sorted(v for vs in series.values() for v in vs if v > 0)
    peak = values_all[-1] if values_all else 0
    usual = values_all[int(0.9 * (len(values_all) - 1))] if values_all else 0
    clipped = bool(usual) and peak > 4 * usual
    top = nice_top(usual * 1.25 if clipped else peak)
    n = max(1, len(labels) - 1)
    parts = [_open(chart_id, title, width, height)]
    base = top_pad + plot_h
    n_ticks = ticks(top)
    for k in range(n_ticks + 1):  # y axis: ticks and faint grid lines
        v = top * k / n_ticks
        y = base - plot_h * k / n_ticks
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" class="gridline"></line>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_fmt(v)}</text>')
    parts.append(f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{base}" class="axis y-axis"></line>')
    parts.append(f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" class="axis x-axis"></line>')
    if y_title:
        parts.append(f'<text x="12" y="{top_pad + plot_h / 2:.1f}" transform="rotate(-90 12 {top_pad + plot_h / 2:.1f})" '
                     f'text-anchor="middle" class="axis-title">{escape(y_title)}</text>')
    for i in sorted({0, len(labels) // 4, len(labels) // 2, 3 * len(labels) // 4, len(labels) - 1}) if labels else ():
        x = left + plot_w * i / n
        anchor = "start" if i == 0 else "end" if i == len(labels) - 1 else "middle"
        parts.append(f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" class="axis"></line>'
                     f'<text x="{x:.1f}" y="{base + 16}" text-anchor="{anchor}" class="tick">{escape(labels[i])}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" class="axis-title">time (UTC)</text>')
    for s, (name, values) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        pts = " ".join(
            f"{left + plot_w * i / n:.1f},{base - plot_h * min(v, top) / top:.1f}" for i, v in enumerate(values)
        )
        for i, v in enumerate(values):
            if v > top:  # the spike, off the scale: say how high it went
                parts.append(f'<text x="{left + plot_w * i / n + 4:.1f}" y="{top_pad + 10}" class="value spike">'
                             f'{escape(name)} {_fmt(v)} ↑</text>')
        parts.append(f'<polyline class="series" points="{pts}" fill="none" stroke="{colour}" stroke-width="2"></polyline>')
        parts.append(
            f'<rect x="{left + s * 120}" y="6" width="10" height="10" fill="{colour}"></rect>'
            f'<text x="{left + s * 120 + 14}" y="15" class="legend">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


AXIS_H = 34  # room under a bar chart for its value axis


def nice_top(value: float) -> float:
    """The axis maximum: `value` rounded up to 1, 2, 2.5 or 5 × a power of ten."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def ticks(top: float) -> int:
    """How many intervals make round tick values for a `nice_top` maximum."""
    lead = top / 10 ** math.floor(math.log10(top))
    return 4 if lead in (2, 10) else 5


def value_axis(x0: float, plot_w: float, y: float, top: float, title: str, unit: str) -> str:
    """A horizontal value axis under bars: a line, ticks with values, and what is counted."""
    parts = [f'<line x1="{x0}" y1="{y}" x2="{x0 + plot_w}" y2="{y}" class="axis x-axis"></line>']
    n = ticks(top)
    for k in range(n + 1):
        x = x0 + plot_w * k / n
        parts.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}" class="axis"></line>'
                     f'<text x="{x:.1f}" y="{y + 15}" text-anchor="middle" class="tick">{_fmt(top * k / n)}'
                     f'{escape(unit.strip()) if k == n else ""}</text>')
    if title:
        parts.append(f'<text x="{x0 + plot_w / 2:.1f}" y="{y + 29}" text-anchor="middle" class="axis-title">'
                     f'{escape(title)}</text>')
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
