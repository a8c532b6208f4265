"""The daily 打卡: once a day per person, a streak, a safety line of the day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bot import content, counters, prepared
from bot.db import bound_insert_ignore
from bot.models import DailyCheckin, User


def check_in(session: Session, user: User, now: datetime) -> tuple[bool, int]:
    """(first today?, streak in days). The unique (userid, day) makes repeats count once."""
    today = now.date()
    params = {
        "userid": user.userid,
        "day": today,
        "department_id": user.department_id,
        "checked_at": now,
        "department_key": counters.department_key(user.department_id),
    }
    first = prepared.run(session, _insert_checkin, params).first() is not None
    if first and session.get_bind().dialect.name != "postgresql":  # there it counted itself
        counters.count_checkin(session, user.userid, user.department_id, today)
    return first, streak(session, user.userid, today)


_CHECKINS = DailyCheckin.__table__


@prepared.per_dialect
def _insert_checkin(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id (the first 打卡 of each person each day
    runs it); on PostgreSQL with the counters chained on (counters.checkin_with_counts)."""
    columns = ("userid", "day", "department_id", "checked_at")
    stmt = bound_insert_ignore(dialect, _CHECKINS, columns, _CHECKINS.c.id)
    return counters.checkin_with_counts(stmt) if dialect == "postgresql" else stmt


# Built once, on Table columns (every 打卡 runs it; an ORM select costs several times this).
_DAYS = select(_CHECKINS.c.day).where(
    _CHECKINS.c.userid == bindparam("userid"), _CHECKINS.c.day > bindparam("since")
)


def streak(session: Session, userid: str, today: date) -> int:
    since = today - timedelta(days=400)
    days = set(prepared.run(session, _DAYS, {"userid": userid, "since": since}).scalars())
    n, d = 0, today
    while d in days:
        n += 1
        d -= timedelta(days=1)
    return n


def line_of_the_day(today: date) -> str:
    lines = content.load("replies.d/checkin.yaml")["checkin"]["daily_lines"]
    return lines[today.toordinal() % len(lines)]
