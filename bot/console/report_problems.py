"""三、存在问题 of the written summary, drawn from the figures (never typed by hand).

Each finding is one sentence (content `report.problem_*`); the officer edits the draft.
"""

from __future__ import annotations

from typing import Any

from bot.content import texts

# A department whose participation rate is below this is named as lagging behind.
LOW_PARTICIPATION = 0.5


def pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def problems(summary: dict[str, Any]) -> list[str]:
    """The findings, most pressing first (overdue hazards lead)."""
    out: list[str] = []
    overdue = [h for h in summary["hazards"] if h["overdue"]]
    if overdue:
        tickets = "、".join(h["ticket"] for h in overdue[:10]) + ("等" if len(overdue) > 10 else "")
        out.append(texts.get("report.problem_overdue", count=len(overdue), tickets=tickets))
    low = [
        r
        for r in summary["departments"]
        if r["members"] and r["participants"] / r["members"] < LOW_PARTICIPATION
    ]
    if low:
        names = "、".join(f"{r['name']}（{pct(r['participants'] / r['members'])}）" for r in low)
        out.append(
            texts.get(
                "report.problem_low_participation",
                departments=names,
                threshold=pct(LOW_PARTICIPATION),
            )
        )
    unsigned = [(p["name"], p["members"] - p["signed"]) for p in summary["pledges"]]
    unsigned = [(name, n) for name, n in unsigned if n > 0]
    if unsigned:
        out.append(
            texts.get(
                "report.problem_unsigned",
                count=sum(n for _, n in unsigned),
                departments="、".join(f"{name} {n} 人" for name, n in unsigned),
            )
        )
    assigned = sum(r["assigned"] for r in summary["learning"])
    completed = sum(r["completed"] for r in summary["learning"])
    if assigned > completed:
        out.append(
            texts.get(
                "report.problem_learning",
                count=assigned - completed,
                rate=pct(completed / assigned),
            )
        )
    short = [w for w in summary.get("warnings", []) if w["acked"] < w["asked"]]
    if short:
        out.append(
            texts.get(
                "report.problem_warning",
                count=len(short),
                rate=pct(min(w["rate"] for w in short)),
            )
        )
    returned = (summary.get("activities") or {}).get("returned", 0)
    if returned:
        out.append(texts.get("report.problem_activity", count=returned))
    return out
