"""Events people sign in to with a 6-digit code (ceremonies, drills, the consultation day).

Event kinds have one vocabulary: `checkin.kinds` in content/replies.d/checkin.yaml (the keys
are what is stored, the values what people read; `kind_label`).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.checkin.attendance import attendance_count, needs_location
from bot.content import Texts, texts
from bot.db import insert_ignore
from bot.directory import active_members
from bot.localtime import clock_label, label
from bot.messages import text_message
from bot.models import CheckinEvent, Department
from bot.outbox import enqueue

EARLY_CHECKIN = timedelta(minutes=30)  # people arrive before a drill starts
PAST_GRACE = timedelta(minutes=30)  # creating an event that began this recently is no mistake
CODE = re.compile(r"^\d{6}$")
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL; a larger one names no event
KIND_WORDS = (
    ("演练", "drill"),
    ("启动", "ceremony"),
    ("仪式", "ceremony"),
    ("宣传", "campaign"),
    ("咨询", "campaign"),
    ("培训", "training"),
)


# -- kinds -------------------------------------------------------------------------------------
def kinds(source: Texts = texts) -> tuple[str, ...]:
    """The kinds an event may have, in the order content lists them."""
    return tuple(source.raw("checkin.kinds"))


def kind_label(kind: str, source: Texts = texts) -> str:
    """「应急演练」 for "drill": how chat, the CLI and exports name a kind."""
    return source.raw("checkin.kinds").get(kind, kind)


def kind_for_title(title: str) -> str:
    return next((kind for word, kind in KIND_WORDS if word in title), "other")


# -- creating ----------------------------------------------------------------------------------
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
    department_ids: list[int] | None = None,
    tz=None,
    place: str | None = None,
) -> CheckinEvent:
    """Insert with a random 6-digit code; the unique constraint decides collisions. The
    invited people (members of `department_ids`, [] = everyone) get an invitation through
    the outbox, once per event (its dedup key)."""
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
                "place": place,
                "survey": survey,
                "department_ids": sorted(set(department_ids or [])),
                "created_by": created_by,
                "created_at": now,
            },
            returning=CheckinEvent.id,
        ).first()
        if row is not None:
            event = session.get(CheckinEvent, row[0])
            assert event is not None
            send_invitations(session, event, now, tz or now.tzinfo)
            return event
    raise RuntimeError("no free event code")


def starts_in_the_past(starts_at: datetime, now: datetime) -> bool:
    """An event whose start has passed is created only when the creator confirms it (a typo
    in the date, or an event recorded afterwards on purpose). An event created on site just
    after it began (within PAST_GRACE) is normal and needs no confirmation."""
    return starts_at < now - PAST_GRACE


def invited(session: Session, event: CheckinEvent) -> list[tuple[str, int | None]]:
    """(userid, main department) of the active members the event is for."""
    return active_members(session, event.department_ids or [])


def invitation_text(event: CheckinEvent, tz) -> str:
    extra = (
        texts.get("checkin.invitation_location", radius=event.radius_m)
        if needs_location(event)
        else ""
    )
    return texts.get(
        "checkin.invitation",
        title=event.title,
        kind=kind_label(event.kind),
        starts=label(event.starts_at, tz),
        ends=clock_label(event.ends_at, tz),
        extra=extra,
    )


def send_invitations(session: Session, event: CheckinEvent, now: datetime, tz) -> int:
    """Queue the invitation to the invited people; 0 when it was queued before."""
    people = [u for u, _ in invited(session, event)]
    if not people:
        return 0
    queued = enqueue(
        session,
        people,
        text_message(invitation_text(event, tz)),
        source=f"event:{event.id}:invite",
        now=now,
        dedup_key=f"event:{event.id}:invite",
    )
    return len(people) if queued is not None else 0


def departments_by_name(session: Session, names: list[str]) -> tuple[list[int], list[str]]:
    """(ids, unknown names) of departments named exactly as typed."""
    known = dict(session.execute(select(Department.name, Department.id)).all())
    ids = [known[n] for n in names if n in known]
    return sorted(set(ids)), [n for n in names if n not in known]


@dataclass
class EventSpec:
    title: str
    starts_at: datetime
    ends_at: datetime
    kind: str
    latitude: float | None = None
    longitude: float | None = None
    radius_m: int | None = None
    departments: list[str] = field(default_factory=list)
    # 「确认」 at the end: create it even though its start has passed.
    confirmed: bool = False


_DATE = re.compile(r"^(?:(\d{4})[-/.])?(\d{1,2})[-/.月](\d{1,2})日?$")
_TIMES = re.compile(r"^(\d{1,2})[:：](\d{2})\s*[-~至到]\s*(\d{1,2})[:：](\d{2})$")


def parse_event_args(text: str, now: datetime) -> EventSpec:
    """ "应急演练 2026-06-10 14:00-16:00 [地点=31.23,121.47] [半径=200] [类型=drill]
    [部门=生产一车间,生产二车间] [确认]".

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
        if option == "确认":
            spec.confirmed = True
        elif key == "部门" and value:
            spec.departments += [n for n in re.split(r"[,，、]", value) if n]
        elif key in ("地点", "位置"):
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
            # The label people read (应急演练) or the stored key (drill).
            by_label = {kind_label(k): k for k in kinds()}
            if value not in kinds() and value not in by_label:
                raise ValueError("类型为 " + "/".join(by_label))
            spec.kind = by_label.get(value, value)
        else:
            raise ValueError(f"看不懂「{option}」")
    if spec.radius_m is not None and spec.latitude is None:
        raise ValueError("设置半径时需要同时给出地点")
    return spec


# -- finding -----------------------------------------------------------------------------------
def event_by_code(session: Session, code: str) -> CheckinEvent | None:
    return session.scalar(select(CheckinEvent).where(CheckinEvent.code == code))


def get_event(session: Session, event_id: int | None) -> CheckinEvent | None:
    return session.get(CheckinEvent, event_id) if event_id is not None else None


def find_event(session: Session, ref: str) -> CheckinEvent | None:
    """An event by its 6-digit code or its id."""
    ref = ref.strip()
    if CODE.match(ref):
        return event_by_code(session, ref)
    if ref.isdigit() and int(ref) <= MAX_ID:
        return session.get(CheckinEvent, int(ref))
    return None


def open_events(session: Session, now: datetime) -> list[CheckinEvent]:
    return list(
        session.scalars(
            select(CheckinEvent)
            .where(CheckinEvent.starts_at <= now + EARLY_CHECKIN, CheckinEvent.ends_at >= now)
            .order_by(CheckinEvent.starts_at)
        )
    )


def upcoming_events(session: Session, now: datetime, limit: int = 20) -> list[CheckinEvent]:
    """Events that have not ended, soonest first."""
    return list(
        session.scalars(
            select(CheckinEvent)
            .where(CheckinEvent.ends_at >= now)
            .order_by(CheckinEvent.starts_at)
            .limit(limit)
        )
    )


def all_events(session: Session) -> list[CheckinEvent]:
    return list(session.scalars(select(CheckinEvent).order_by(CheckinEvent.starts_at)))


def event_state(event: CheckinEvent, now: datetime) -> str:
    if now < event.starts_at - EARLY_CHECKIN:
        return "not_started"
    if now > event.ends_at:
        return "ended"
    return "open"


# -- texts -------------------------------------------------------------------------------------
def created_text(t, event: CheckinEvent, tz) -> str:
    """What the creator reads (chat or CLI); `t` looks texts up (ctx.t or texts.get)."""
    extra = ""
    if needs_location(event):
        extra += t("checkin.created_location_extra", radius=event.radius_m)
    if event.survey:
        extra += t("checkin.created_survey_extra")
    return t(
        "checkin.created",
        title=event.title,
        kind=kind_label(event.kind),
        starts=label(event.starts_at, tz),
        ends=clock_label(event.ends_at, tz),
        code=event.code,
        extra=extra,
    )


def event_lines(session: Session, tz) -> list[str]:
    """One tab-separated line per event: id, code, kind, title, time, attendees."""
    return [
        f"{e.id}\t{e.code}\t{kind_label(e.kind)}\t{e.title}\t"
        f"{label(e.starts_at, tz)}-{clock_label(e.ends_at, tz)}\t{attendance_count(session, e.id)}"
        for e in all_events(session)
    ]
