"""Hazard figures for `stats`, 统计 and the console."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.hazard import states
from bot.models import HazardReport
from bot.stats_base import count_rows


def hazards(session: Session, now: datetime) -> int:
    return count_rows(session, HazardReport)


def hazards_open(session: Session, now: datetime) -> int:
    return count_rows(session, HazardReport, HazardReport.status.in_(states.OPEN_STATUSES))


def hazards_overdue(session: Session, now: datetime) -> int:
    today = now.date()  # stats are computed with the campaign's local time
    return count_rows(
        session,
        HazardReport,
        HazardReport.deadline < today,
        HazardReport.owner.is_not(None),
        HazardReport.status.in_(states.UNFIXED_STATUSES),
    )


def department_hazards(session: Session, now: datetime, departments: set[int]) -> dict[str, int]:
    """Reports from `departments`: still open, and closed (verified, closed or rejected)."""
    mine = HazardReport.department_id.in_(sorted(departments) or [-1])
    open_ = count_rows(session, HazardReport, mine, HazardReport.status.in_(states.OPEN_STATUSES))
    total = count_rows(session, HazardReport, mine)
    return {"open": open_, "closed": total - open_}
