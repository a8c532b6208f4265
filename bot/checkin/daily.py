"""The daily 打卡: once a day per person, a streak, a safety line of the day."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import content, counters
from bot.db import insert_ignore
from bot.models import DailyCheckin, User


def check_in(session: Session, user: User, now: datetime) -> tuple[bool, int]:
    """(first today?, streak in days). The unique (userid, day) makes repeats count once."""
    today = now.date()
    row = insert_ignore(
        session,
        DailyCheckin,
        {
            "userid": user.userid,
            "day": today,
            "department_id": user.department_id,
            "checked_at": now,
        },
        returning=DailyCheckin.id,
    ).first()
    if row is not None:
        counters.count_checkin(session, user.userid, user.department_id, today)
    return row is not None, streak(session, user.userid, today)


def streak(session: Session, userid: str, today: date) -> int:
    days = set(
        session.scalars(
            select(DailyCheckin.day).where(
                DailyCheckin.userid == userid, DailyCheckin.day > today - timedelta(days=400)
            )
        )
    )
    n, d = 0, today
    while d in days:
        n += 1
        d -= timedelta(days=1)
    return n


def line_of_the_day(today: date) -> str:
    lines = content.load("replies.d/checkin.yaml")["checkin"]["daily_lines"]
    return lines[today.toordinal() % len(lines)]
