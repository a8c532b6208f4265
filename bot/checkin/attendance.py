"""Who attended an event: recording a sign-in once, counting per event and department."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db import insert_ignore
from bot.models import CheckinEvent, Department, EventAttendance, User

EARTH_RADIUS_M = 6_371_000.0


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
) -> EventAttendance | None:
    """Record attendance once; None if this person had already signed in."""
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
        },
        returning=EventAttendance.id,
    ).first()
    return session.get(EventAttendance, row[0]) if row else None


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
