"""Inspection figures for `stats`, the console dashboard and the campaign summary."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import InspectionAssignment, InspectionResult, InspectionRound
from bot.stats_base import count_rows


def inspections(session: Session, now: datetime) -> int:
    """Rounds started."""
    return count_rows(session, InspectionRound)


def inspections_done(session: Session, now: datetime) -> int:
    """Rounds whose every department has finished its checklist."""
    unfinished = (
        select(InspectionAssignment.round_id)
        .where(InspectionAssignment.status != "done")
        .distinct()
    )
    started = select(InspectionAssignment.round_id).distinct()
    return int(
        session.scalar(
            select(func.count())
            .select_from(InspectionRound)
            .where(InspectionRound.id.in_(started), InspectionRound.id.not_in(unfinished))
        )
        or 0
    )


def inspection_items_failed(session: Session, now: datetime) -> int:
    return count_rows(session, InspectionResult, InspectionResult.result == "fail")


def summary(session: Session, now: datetime) -> dict[str, int]:
    """The figures together, plus items checked and the tickets they opened."""
    return {
        "rounds": inspections(session, now),
        "rounds_done": inspections_done(session, now),
        "items_checked": count_rows(session, InspectionResult),
        "items_failed": inspection_items_failed(session, now),
        "tickets": count_rows(session, InspectionResult, InspectionResult.hazard_id.is_not(None)),
    }
