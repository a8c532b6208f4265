"""Check-ins: the daily 打卡, events with a 6-digit code (optionally a place), drill surveys."""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import content
from bot.db import insert_ignore
from bot.models import CheckinEvent, DailyCheckin, EventAttendance, User

EARLY_CHECKIN = timedelta(minutes=30)  # people arrive before a drill starts
EARTH_RADIUS_M = 6_371_000.0
KIND_WORDS = (
    ("演练", "drill"),
    ("启动", "ceremony"),
    ("仪式", "ceremony"),
    ("宣传", "campaign"),
    ("咨询", "campaign"),
    ("培训", "training"),
)
KINDS = ("drill", "ceremony", "campaign", "training", "other")


# -- daily 打卡 ---------------------------------------------------------------------------------
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


# -- events ------------------------------------------------------------------------------------
def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def kind_for_title(title: str) -> str:
    return next((kind for word, kind in KIND_WORDS if word in title), "other")


def create_event(
    session: Session,
    *,
    kind: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    now: datetime,
    latitude: float | None = None,
    longitude: float | None = None,
    radius_m: int | None = None,
    survey: str | None = None,
) -> CheckinEvent:
    """Insert with a random 6-digit code; the unique constraint decides collisions."""
    if ends_at <= starts_at:
        raise ValueError("ends before it starts")
    if survey is None and kind == "drill":
        survey = "drill"
    if (latitude is None) != (longitude is None):
        raise ValueError("latitude and longitude go together")
    if latitude is not None and radius_m is None:
        radius_m = 200
    for _ in range(50):
        code = f"{secrets.randbelow(900_000) + 100_000}"
        row = insert_ignore(
            session,
            CheckinEvent,
            {
                "kind": kind,
                "title": title,
                "code": code,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "latitude": latitude,
                "longitude": longitude,
                "radius_m": radius_m,
                "survey": survey,
                "created_by": created_by,
                "created_at": now,
            },
            returning=CheckinEvent.id,
        ).first()
        if row is not None:
            return session.get(CheckinEvent, row[0])  # type: ignore[return-value]
    raise RuntimeError("no free event code")


@dataclass
class EventSpec:
    title: str
    starts_at: datetime
    ends_at: datetime
    kind: str
    latitude: float | None = None
    longitude: float | None = None
    radius_m: int | None = None


_DATE = re.compile(r"^(?:(\d{4})[-/.])?(\d{1,2})[-/.月](\d{1,2})日?$")
_TIMES = re.compile(r"^(\d{1,2})[:：](\d{2})\s*[-~至到]\s*(\d{1,2})[:：](\d{2})$")


def parse_event_args(text: str, now: datetime) -> EventSpec:
    """ "应急演练 2026-06-10 14:00-16:00 [地点=31.23,121.47] [半径=200] [类型=drill]".

    Dates: 2026-06-10, 6-10, 6月10日, 今天, 明天. Raises ValueError with a short reason.
    """
    parts = text.split()
    if len(parts) < 3:
        raise ValueError("需要标题、日期和时间段")
    title, day_text, times = parts[0], parts[1], parts[2]
    if day_text in ("今天", "明天"):
        day = now.date() + timedelta(days=1 if day_text == "明天" else 0)
    else:
        m = _DATE.match(day_text)
        if not m:
            raise ValueError(f"看不懂日期「{day_text}」")
        day = date(int(m.group(1) or now.year), int(m.group(2)), int(m.group(3)))
    m = _TIMES.match(times)
    if not m:
        raise ValueError(f"看不懂时间段「{times}」")
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    tz = now.tzinfo
    starts = datetime(day.year, day.month, day.day, h1, m1, tzinfo=tz)
    ends = datetime(day.year, day.month, day.day, h2, m2, tzinfo=tz)
    if ends <= starts:
        raise ValueError("结束时间要晚于开始时间")
    spec = EventSpec(title=title, starts_at=starts, ends_at=ends, kind=kind_for_title(title))
    for option in parts[3:]:
        key, _, value = option.partition("=")
        if key in ("地点", "位置"):
            try:
                lat, lng = (float(x) for x in re.split(r"[,，]", value))
            except ValueError:
                raise ValueError(
                    f"地点应为「纬度,经度」，例如 地点=31.2304,121.4737，收到「{value}」"
                ) from None
            if not (-90 <= lat <= 90 and -180 <= lng <= 180):
                raise ValueError("纬度应在 -90~90，经度应在 -180~180")
            spec.latitude, spec.longitude = lat, lng
        elif key == "半径":
            if not value.isdigit() or not 10 <= int(value) <= 5000:
                raise ValueError("半径为 10~5000 之间的米数")
            spec.radius_m = int(value)
        elif key == "类型":
            if value not in KINDS:
                raise ValueError("类型为 " + "/".join(KINDS))
            spec.kind = value
        else:
            raise ValueError(f"看不懂「{option}」")
    if spec.radius_m is not None and spec.latitude is None:
        raise ValueError("设置半径时需要同时给出地点")
    return spec


def event_by_code(session: Session, code: str) -> CheckinEvent | None:
    return session.scalar(select(CheckinEvent).where(CheckinEvent.code == code))


def open_events(session: Session, now: datetime) -> list[CheckinEvent]:
    return list(
        session.scalars(
            select(CheckinEvent)
            .where(CheckinEvent.starts_at <= now + EARLY_CHECKIN, CheckinEvent.ends_at >= now)
            .order_by(CheckinEvent.starts_at)
        )
    )


def event_state(event: CheckinEvent, now: datetime) -> str:
    if now < event.starts_at - EARLY_CHECKIN:
        return "not_started"
    if now > event.ends_at:
        return "ended"
    return "open"


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


# -- drill surveys -----------------------------------------------------------------------------
def survey_questions(key: str) -> list[dict[str, Any]]:
    return content.load("drills.yaml")["questionnaires"][key]["questions"]


def survey_intro(key: str) -> str:
    return content.load("drills.yaml")["questionnaires"][key]["intro"]
