"""The campaign charts as PNG images, for the Word summary (python-docx takes PNG, not SVG).

The same charts as bot.console.charts (same titles, data, colours, order), drawn with
matplotlib's Agg backend: wheels for every platform and no system library, where converting
the SVG (cairosvg) would need cairo installed. Chinese labels need a CJK font: the first one
found of CJK_FONTS (the Docker image installs Noto CJK); without one the bars still draw.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from bot.console.charts import PALETTE, SUMMARY_ORDER

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
)
DPI = 150


@lru_cache(maxsize=1)
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display; safe in web workers
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    installed = {f.name for f in font_manager.fontManager.ttflist}
    fonts = [name for name in CJK_FONTS if name in installed]
    plt.rcParams["font.sans-serif"] = [*fonts, "DejaVu Sans"]
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _png(fig) -> bytes:
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def bar_png(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    unit: str = "",
    max_value: float | None = None,
    colour: str = PALETTE[0],
) -> bytes:
    """Horizontal bars, one per label, the first at the top (as the SVG draws them)."""
    plt = _pyplot()
    values = [float(v) for v in values]  # PostgreSQL sums arrive as Decimal
    fig, ax = plt.subplots(figsize=(6.4, 0.9 + 0.35 * max(1, len(labels))))
    ax.set_title(title, loc="left", fontsize=12, fontweight="bold")
    if labels:
        ys = list(range(len(labels)))
        ax.barh(ys, values, color=colour, height=0.6)
        ax.set_yticks(ys, labels=list(labels), fontsize=9)
        ax.invert_yaxis()
        top = max_value if max_value is not None else max(max(values, default=0), 1) * 1.15
        ax.set_xlim(0, top)
        for y, v in zip(ys, values, strict=False):
            ax.text(v + top * 0.01, y, f"{_fmt(v)}{unit}", va="center", fontsize=8)
    else:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "暂无数据", ha="center", va="center", color="#999")
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def column_png(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    unit: str = "",
    colour: str = PALETTE[0],
) -> bytes:
    """Vertical columns over time (a day per column), with every few labels shown."""
    plt = _pyplot()
    values = [float(v) for v in values]
    fig, ax = plt.subplots(figsize=(6.4, 2.6))
    ax.set_title(title, loc="left", fontsize=12, fontweight="bold")
    if labels:
        xs = list(range(len(labels)))
        ax.bar(xs, values, color=colour, width=0.7)
        every = max(1, -(-len(labels) // 10))
        ax.set_xticks(xs[::every], labels=list(labels)[::every], fontsize=8)
        ax.set_ylim(0, max(max(values, default=0), 1) * 1.15)
    else:
        ax.text(0.5, 0.5, "暂无数据", ha="center", va="center", color="#999")
    ax.set_ylabel(unit, fontsize=8, rotation=0, labelpad=10)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#ddd")
    ax.set_axisbelow(True)
    return _png(fig)


def campaign_pngs(
    figures: Mapping[str, Any], order: Sequence[str] = SUMMARY_ORDER
) -> list[tuple[str, bytes]]:
    """(title, PNG bytes) of each campaign chart in `order` (the figures of bot.console.charts)."""
    return [_CAMPAIGN[name](figures) for name in order]


def _days(title: str, days, colour: str) -> tuple[str, bytes]:
    return title, column_png(
        title, [d[5:] for d, _ in days], [n for _, n in days], unit="人", colour=colour
    )


def _rates(title: str, rows, key: str, colour: str) -> tuple[str, bytes]:
    return title, bar_png(
        title,
        [r[key] for r in rows],
        [round(r["rate"] * 100, 1) for r in rows],
        unit="%",
        max_value=100,
        colour=colour,
    )


def _hazards(f: Mapping[str, Any]) -> tuple[str, bytes]:
    counts, names = f["hazard_counts"], f["status_labels"]
    title = "隐患状态分布"
    return title, bar_png(
        title, [names[k] for k in counts], list(counts.values()), unit="项", colour=PALETTE[3]
    )


_CAMPAIGN = {
    "participation": lambda f: _days(
        "每日使用人数（给助手发过消息）", f["participation"], PALETTE[0]
    ),
    "checkins": lambda f: _days("每日打卡人数", f["checkins"], PALETTE[2]),
    "pledges": lambda f: _rates("责任书签订率（按部门）", f["pledges"], "name", PALETTE[1]),
    "quiz": lambda f: _rates("答题正确率（按主题）", f["quiz"], "title", PALETTE[4]),
    "hazards": _hazards,
}
