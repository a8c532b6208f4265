"""统计 for people: the figures of bot.stats as short Chinese lines (labels, units and order
from content), never raw keys or raw floats. `safetybot stats --json` keeps the figures as
they are."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.content import texts

log = logging.getLogger(__name__)


def _labels() -> dict[str, str]:
    labels = {str(k): str(v) for k, v in texts.raw("stats.labels").items()}
    labels.update({str(k): str(v) for k, v in texts.raw("warning.stats_labels").items()})
    return labels


def figure_labels() -> dict[str, str]:
    """Every figure's label for people, by figure name."""
    return _labels()


def _number(value: Any, unit: str = "") -> str:
    if isinstance(value, bool):
        return texts.get("warning.stats_yes" if value else "warning.stats_no")
    if isinstance(value, int):
        text = f"{value:,}"
    elif isinstance(value, float):
        text = f"{value:,.1f}".rstrip("0").rstrip(".")
    else:
        return str(value)
    return f"{text} {unit}" if unit else text


def _item(value: Any, unit: str, sublabels: Mapping[str, str]) -> str:
    """One value of a nested figure: a number, or a few labelled numbers (已签 2 / 应签 3)."""
    if isinstance(value, Mapping):
        parts = [
            f"{sublabels[str(k)]} {_number(v)}" for k, v in value.items() if str(k) in sublabels
        ]
        return " / ".join(parts) or "-"
    if isinstance(value, list | tuple):
        return "、".join(_item(v, "", sublabels) for v in value) or "-"
    return _number(value, unit)


def summary_lines(figures: Mapping[str, Any], title: str) -> list[str]:
    labels = _labels()
    units = {str(k): str(v) for k, v in texts.raw("warning.stats_units").items()}
    sublabels = {str(k): str(v) for k, v in texts.raw("warning.stats_sublabels").items()}
    order = [str(k) for k in texts.raw("warning.stats_order")]
    keys = [k for k in order if k in figures] + sorted(
        k for k in figures if k not in order and k in labels
    )
    lines = [title]
    for key in keys:
        if key not in labels:
            log.warning("figure %s has no label in content: left out of 统计", key)
            continue
        value, label, unit = figures[key], labels[key], units.get(key, "")
        if key.endswith("_rate") and isinstance(value, int | float):
            lines.append(texts.get("stats.line", label=label, value=f"{value:.1%}"))
        elif isinstance(value, Mapping):
            if not value:
                lines.append(
                    texts.get("stats.line", label=label, value=texts.get("warning.stats_none"))
                )
                continue
            lines.append(texts.get("warning.stats_group", label=label))
            lines += [
                texts.get("warning.stats_item", name=k, value=_item(v, unit, sublabels))
                for k, v in value.items()
            ]
        else:
            lines.append(texts.get("stats.line", label=label, value=_item(value, unit, sublabels)))
    return lines
