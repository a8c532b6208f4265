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
