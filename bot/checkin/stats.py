"""Check-in figures for `stats`, 统计 and the console."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import CheckinEvent, DailyCheckin, EventAttendance
from bot.stats_base import count_rows


def checkins_today(session: Session, now: datetime) -> int:
    local_day = now.date()  # stats are computed with the campaign's local time
    return count_rows(session, DailyCheckin, DailyCheckin.day == local_day)


def event_attendance(session: Session, now: datetime) -> dict[str, int]:
    rows = session.execute(
        select(CheckinEvent.id, CheckinEvent.title, func.count(EventAttendance.id))
        .join(EventAttendance, EventAttendance.event_id == CheckinEvent.id, isouter=True)
        .group_by(CheckinEvent.id, CheckinEvent.title)
        .order_by(CheckinEvent.id)
    )
    return {f"{i} {title}": n for i, title, n in rows}
