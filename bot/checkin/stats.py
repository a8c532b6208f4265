"""Check-in figures for `stats`, 统计 and the console."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import CheckinEvent, DailyCheckin, EventAttendance, User
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


def checked_in_on(day):
    """SELECT of the userids who did the daily 打卡 on `day`."""
    return select(DailyCheckin.userid).where(DailyCheckin.day == day)


def department_checkins(session: Session, now: datetime, departments: set[int]) -> int:
    """Daily 打卡 today by active members whose main department is in `departments`."""
    members = select(User.userid).where(
        User.status == 1, User.department_id.in_(sorted(departments) or [-1])
    )
    return count_rows(
        session, DailyCheckin, DailyCheckin.day == now.date(), DailyCheckin.userid.in_(members)
    )
