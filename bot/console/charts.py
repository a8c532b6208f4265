"""Charts as inline SVG, drawn on the server: no script, no CDN, and they print.

Every label goes through markupsafe.escape; the result is Markup so Jinja does not escape
the SVG itself. Used by the dashboard and the printable campaign summary alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

PALETTE = ["#2f6fb5", "#e07b39", "#3a9d5d", "#c94c4c", "#8e6bbf", "#7f7f7f", "#d4a017"]
FONT = "font-family=\"'Noto Sans CJK SC','Microsoft YaHei',sans-serif\""


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _nice_max(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above `value` (a tidy top for the axis)."""
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if value <= m * magnitude:
            return m * magnitude
    return value


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    unit: str = "",
    max_value: float | None = None,
    width: int = 560,
    colour: str = PALETTE[0],
) -> Markup:
    """Horizontal bars, one per label (long Chinese department names fit on the left)."""
    row_h, left, top = 28, 142, 36
    height = top + max(1, len(labels)) * row_h + 14
    top_value = max_value if max_value is not None else _nice_max(max(values, default=0))
    plot_w = width - left - 60
    parts = [_open(chart_id, title, width, height)]
    if not labels:
        parts.append(_empty(width, height))
    for i, (label, value) in enumerate(zip(labels, values, strict=False)):
        y = top + i * row_h
        w = 0 if top_value <= 0 else max(0.0, min(1.0, value / top_value)) * plot_w
        parts.append(
            f'<text x="{left - 8}" y="{y + 18}" text-anchor="end" font-size="13" {FONT}>'
            f"{escape(_cut(label, 10))}</text>"
            f'<rect class="bar" x="{left}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
            f'fill="{colour}"><title>{escape(label)}: {_fmt(value)}{escape(unit)}</title></rect>'
            f'<text x="{left + w + 6:.1f}" y="{y + 18}" font-size="13" {FONT}>'
            f"{_fmt(value)}{escape(unit)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    unit: str = "",
    width: int = 560,
    height: int = 220,
    colour: str = PALETTE[0],
) -> Markup:
    """Vertical columns over time (a day per column), with every few labels shown."""
    left, right, top, bottom = 40, 12, 36, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max(values, default=0))
    parts = [_open(chart_id, title, width, height)]
    ticks = (
        next(n for n in (5, 4, 2, 1) if (top_value / n).is_integer())
        if float(top_value).is_integer()
        else 4
    )
    for k in range(ticks + 1):  # gridlines at whole numbers where the top allows
        y = top + plot_h - plot_h * k / ticks
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="#ddd"/><text x="{left - 4}" y="{y + 4:.1f}" font-size="11" '
            f'text-anchor="end" {FONT}>{_fmt(top_value * k / ticks)}</text>'
        )
    if not labels:
        parts.append(_empty(width, height))
    n = max(1, len(labels))
    slot = plot_w / n
    every = max(1, -(-n // 10))
    for i, (label, value) in enumerate(zip(labels, values, strict=False)):
        h = 0 if top_value <= 0 else value / top_value * plot_h
        x = left + i * slot
        parts.append(
            f'<rect class="bar" x="{x + slot * 0.15:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{colour}">'
            f"<title>{escape(label)}: {_fmt(value)}{escape(unit)}</title></rect>"
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{height - bottom + 15}" font-size="11" '
                f'text-anchor="middle" {FONT}>{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


# -- the campaign's charts: one builder for the dashboard and the printable summary ------------
# `figures` has one shape for both: participation and checkins are [(YYYY-MM-DD, n)], pledges
# and quiz are the rows of bot.console.data (name/title and rate), hazard_counts maps a status
# to a count and status_labels names the statuses.
DASHBOARD_ORDER = ("participation", "checkins", "pledges", "quiz", "hazards")
SUMMARY_ORDER = ("participation", "pledges", "quiz", "checkins", "hazards")


def campaign_charts(
    figures: Mapping[str, Any],
    *,
    order: Sequence[str] = DASHBOARD_ORDER,
    prefix: str = "chart",
    width: int = 560,
) -> list[Markup]:
    """The campaign charts in `order`, with ids `{prefix}-{name}` and the given width."""
    return [_CAMPAIGN[name](f"{prefix}-{name}", figures, width) for name in order]


def _participation(chart_id: str, f: Mapping[str, Any], width: int) -> Markup:
    days = f["participation"]
    return column_chart(
        chart_id,
        "每日使用人数（给助手发过消息）",
        [d[5:] for d, _ in days],
        [n for _, n in days],
        unit="人",
        width=width,
    )


def _checkins(chart_id: str, f: Mapping[str, Any], width: int) -> Markup:
    days = f["checkins"]
    return column_chart(
        chart_id,
        "每日打卡人数",
        [d[5:] for d, _ in days],
        [n for _, n in days],
        unit="人",
        width=width,
        colour=PALETTE[2],
    )


def _pledges(chart_id: str, f: Mapping[str, Any], width: int) -> Markup:
    return bar_chart(
        chart_id,
        "责任书签订率（按部门）",
        [p["name"] for p in f["pledges"]],
        [round(p["rate"] * 100, 1) for p in f["pledges"]],
        unit="%",
        max_value=100,
        width=width,
        colour=PALETTE[1],
    )


def _quiz(chart_id: str, f: Mapping[str, Any], width: int) -> Markup:
    return bar_chart(
        chart_id,
        "答题正确率（按主题）",
        [q["title"] for q in f["quiz"]],
        [round(q["rate"] * 100, 1) for q in f["quiz"]],
        unit="%",
        max_value=100,
        width=width,
        colour=PALETTE[4],
    )


def _hazards(chart_id: str, f: Mapping[str, Any], width: int) -> Markup:
    counts, names = f["hazard_counts"], f["status_labels"]
    return bar_chart(
        chart_id,
        "隐患状态分布",
        [names[k] for k in counts],
        list(counts.values()),
        unit="项",
        width=width,
        colour=PALETTE[3],
    )


_CAMPAIGN = {
    "participation": _participation,
    "checkins": _checkins,
    "pledges": _pledges,
    "quiz": _quiz,
    "hazards": _hazards,
}


def _open(chart_id: str, title: str, width: int, height: int) -> str:
    return (
        f'<svg class="chart" id="{escape(chart_id)}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><text x="8" y="22" font-size="16" font-weight="bold" '
        f"{FONT}>{escape(title)}</text>"
    )


def _empty(width: int, height: int) -> str:
    return (
        f'<text x="{width / 2}" y="{height / 2 + 8}" text-anchor="middle" font-size="12" '
        f'fill="#999" {FONT}>暂无数据</text>'
    )


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
