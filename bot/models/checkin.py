"""Check-ins: the daily 打卡, events with a 6-digit code (启动仪式, 应急演练 …), drill surveys."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class DailyCheckin(Base):
    """One 打卡 per person per local day: the unique key makes concurrent taps count once."""

    __tablename__ = "daily_checkins"
    __table_args__ = (UniqueConstraint("userid", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    userid: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date, index=True)  # local date (Asia/Shanghai)
    # Check-ins per department (console, campaign summary) count through this index.
    department_id: Mapped[int | None] = mapped_column(Integer, index=True)
    checked_at: Mapped[datetime]


class CheckinEvent(Base):
    """An event people sign in to with a code. Codes are unique across all events (not only
    open ones): the constraint then decides collisions atomically, and an old code can be
    answered with "this event has ended" instead of "wrong code"."""

    __tablename__ = "checkin_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # drill | ceremony | campaign | training | other
    title: Mapped[str] = mapped_column(String(128))
    code: Mapped[str] = mapped_column(String(6), unique=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime] = mapped_column(index=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[int | None] = mapped_column(Integer)
    # Where it takes place, in words (the poster and the check-in page show it).
    place: Mapped[str | None] = mapped_column(String(128))
    survey: Mapped[str | None] = mapped_column(String(64))  # questionnaire key in drills.yaml
    survey_sent_at: Mapped[datetime | None]
    # Invited departments (and their sub-departments): their members get the invitation and
    # who of them did not come is the absentee list. [] = everyone.
    department_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class EventAttendance(Base):
    __tablename__ = "event_attendance"
    __table_args__ = (UniqueConstraint("event_id", "userid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("checkin_events.id", ondelete="CASCADE"))
    userid: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    department_id: Mapped[int | None] = mapped_column(Integer)
    checked_at: Mapped[datetime]
    method: Mapped[str] = mapped_column(String(16))  # code | location | manual | scan
    distance_m: Mapped[float | None] = mapped_column(Float)
    # For a manual sign-in: who recorded it (e.g. "console:boss").
    recorded_by: Mapped[str | None] = mapped_column(String(64))


class DrillSurveyAnswer(Base):
    __tablename__ = "drill_survey_answers"
    __table_args__ = (UniqueConstraint("event_id", "userid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("checkin_events.id", ondelete="CASCADE"))
    userid: Mapped[str] = mapped_column(String(64))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    answered_at: Mapped[datetime]
