"""Drill figures for `stats --json`, 统计 and the console, and the summary's drill rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.drills import evaluation, live, plans, supplies
from bot.drills.common import participants
from bot.drills.scenarios import get_scenario
from bot.models import Drill, DrillFinding
from bot.stats_base import count_rows


def drills(session: Session, now: datetime) -> int:
    return count_rows(session, Drill)


def drill_findings(session: Session, now: datetime) -> int:
    return count_rows(session, DrillFinding)


def plans_due(session: Session, now: datetime) -> int:
    return plans.plans_due(session, now)


def supplies_expiring(session: Session, now: datetime) -> int:
    return supplies.supplies_expiring(session, now)


def summary_rows(session: Session, tz) -> list[dict[str, Any]]:
    """Each drill: scenario, kind, participants, evacuation time, findings and their status."""
    rows = []
    kinds = texts.raw("drills.kinds")
    scenario_kinds = texts.raw("drills.scenario_kinds")
    for d in session.scalars(select(Drill).order_by(Drill.id)):
        scenario = get_scenario(d.scenario_id)
        times = live.evacuation_times(live.key_times(session, d.id))
        found = evaluation.findings(session, d.id)
        rows.append(
            {
                "id": d.id,
                "title": d.title,
                "scenario_kind": scenario_kinds.get(scenario.kind, "-") if scenario else "-",
                "kind": kinds.get(d.kind, d.kind),
                "starts_at": (d.starts_at or d.created_at).astimezone(tz).replace(tzinfo=None),
                "participants": len(participants(session, d.id)),
                "evacuation": live.duration_text(times["evacuated"]) if d.kind == "live" else "",
                "counted": live.duration_text(times["counted"]) if d.kind == "live" else "",
                "findings": "；".join(
                    f"{f.text}（{evaluation.status_of(session, f)}）" for f in found
                ),
            }
        )
    return rows
