"""Who attended an event: recording a sign-in once, counting per event and department."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import counters
from bot.db import insert_ignore
from bot.directory import department_tree
from bot.models import AuditLog, CheckinEvent, Department, EventAttendance, User

EARTH_RADIUS_M = 6_371_000.0

# Guessing codes: after WRONG_CODE_LIMIT wrong codes within WRONG_CODE_WINDOW a person waits.
# Attempts are audit rows written in the message's transaction, so they count across
# processes, and a retried callback (same MsgId, answered from the dedup row) never counts twice.
WRONG_CODE_ACTION = "checkin:wrong-code"
WRONG_CODE_LIMIT = 5
WRONG_CODE_WINDOW = timedelta(minutes=10)


def code_wait(session: Session, userid: str, now: datetime) -> timedelta | None:
    """How long `userid` must wait before trying a code again; None when they may try now.

    Locks the person's row first (PostgreSQL; SQLite has one writer anyway), so two of their
    messages handled at once by two workers are counted one after the other."""
    session.execute(select(User.userid).where(User.userid == userid).with_for_update())
    recent = list(
        session.scalars(
            select(AuditLog.at)
            .where(
                AuditLog.actor == userid,
                AuditLog.action == WRONG_CODE_ACTION,
                AuditLog.at > now - WRONG_CODE_WINDOW,
            )
            .order_by(AuditLog.at.desc())
            .limit(WRONG_CODE_LIMIT)
        )
    )
    if len(recent) < WRONG_CODE_LIMIT:
        return None
    return recent[-1] + WRONG_CODE_WINDOW - now


def record_wrong_code(session: Session, userid: str, code: str, now: datetime) -> None:
    session.add(
        AuditLog(at=now, actor=userid, action=WRONG_CODE_ACTION, allowed=False, detail=code)
    )


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def needs_location(event: CheckinEvent) -> bool:
    return event.latitude is not None and event.longitude is not None


def distance_to(event: CheckinEvent, lat: float, lng: float) -> float:
    assert event.latitude is not None and event.longitude is not None
    return haversine_m(event.latitude, event.longitude, lat, lng)


def attend(
    session: Session,
    event: CheckinEvent,
    user: User,
    now: datetime,
    *,
    method: str,
    distance_m: float | None = None,
    recorded_by: str | None = None,
) -> EventAttendance | None:
    """Record attendance once; None if this person had already signed in. A manual sign-in
    (method "manual") names who recorded it."""
    row = insert_ignore(
        session,
        EventAttendance,
        {
            "event_id": event.id,
            "userid": user.userid,
            "name": user.name or "",
            "department_id": user.department_id,
            "checked_at": now,
            "method": method,
            "distance_m": distance_m,
            "recorded_by": recorded_by,
        },
        returning=EventAttendance.id,
    ).first()
    if row is None:
        return None
    counters.took_part(session, user.userid, now.date())
    return session.get(EventAttendance, row[0])


def attendance_of(session: Session, event_id: int, userid: str) -> EventAttendance | None:
    return session.scalar(
        select(EventAttendance).where(
            EventAttendance.event_id == event_id, EventAttendance.userid == userid
        )
    )


def attendance_counts(session: Session, event_ids: Iterable[int]) -> dict[int, int]:
    """Event id -> attendees, for the events that have any."""
    return dict(
        session.execute(
            select(EventAttendance.event_id, func.count())
            .where(EventAttendance.event_id.in_(list(event_ids)))
            .group_by(EventAttendance.event_id)
        ).all()
    )


def attendance_count(session: Session, event_id: int) -> int:
    return session.scalar(
        select(func.count())
        .select_from(EventAttendance)
        .where(EventAttendance.event_id == event_id)
    )


def attendees(session: Session, event_id: int) -> list[str]:
    """Userids of the attendees, sorted."""
    return list(
        session.scalars(
            select(EventAttendance.userid)
            .where(EventAttendance.event_id == event_id)
            .order_by(EventAttendance.userid)
        )
    )


def department_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Department.id, Department.name)).all())


def attendance_by_department(session: Session, event_id: int) -> dict[str, int]:
    names = department_names(session)
    rows = session.scalars(
        select(EventAttendance.department_id).where(EventAttendance.event_id == event_id)
    )
    return dict(sorted(Counter(names.get(d or 0, str(d or "-")) for d in rows).items()))


def absentees(session: Session, event: CheckinEvent) -> list[User]:
    """Active members of the invited departments (every member when none were named) who did
    not sign in, by department then userid."""
    came = select(EventAttendance.userid).where(EventAttendance.event_id == event.id)
    query = select(User).where(User.status == 1, User.userid.not_in(came))
    people = list(session.scalars(query.order_by(User.department_id, User.userid)))
    if not event.department_ids:
        return people
    tree = department_tree(session, event.department_ids)
    return [
        u
        for u in people
        if tree & set(u.department_ids or ([u.department_id] if u.department_id else []))
    ]
