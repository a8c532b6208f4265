"""Drills and emergency readiness (应急演练): desk exercises (桌面推演) and live drills
(实战演练) built from scenario content (content/drills/*.yaml), their answers, key times,
evaluations and findings; the emergency plan register (应急预案) and emergency supplies
(应急物资) with their inspections."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class EmergencyPlan(Base):
    """One plan in the register; kind comprehensive | special | onsite (综合/专项/现场处置).
    The file link is shown, never fetched."""

    __tablename__ = "emergency_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32), default="")
    url: Mapped[str | None] = mapped_column(Text)
    last_review: Mapped[date | None] = mapped_column(Date)
    next_review: Mapped[date | None] = mapped_column(Date)
    last_drill: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Drill(Base):
    """A desk exercise (kind desk) or a live drill (kind live) of one scenario.

    A live drill has its check-in event (kind drill, event_id) and may name the plan it
    exercised (plan_id: ending the drill updates the plan's last drill)."""

    __tablename__ = "drills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), index=True)  # desk | live
    scenario_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(8), default="active", index=True)  # active | ended
    facilitator: Mapped[str] = mapped_column(String(64))
    department_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime | None]
    place: Mapped[str] = mapped_column(String(128), default="")
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("checkin_events.id", ondelete="SET NULL")
    )
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("emergency_plans.id", ondelete="SET NULL")
    )
    # Injects the facilitator sent to everyone ahead of their place (推演 插入), in order.
    injected: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class DrillParticipant(Base):
    """Who takes part; `role` is a scenario role key (live drills). Unique per drill."""

    __tablename__ = "drill_participants"
    __table_args__ = (UniqueConstraint("drill_id", "userid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drills.id", ondelete="CASCADE"), index=True)
    userid: Mapped[str] = mapped_column(String(64), index=True)
    department_id: Mapped[int | None] = mapped_column(Integer)
    role: Mapped[str | None] = mapped_column(String(32))
    role_sent_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class DrillAnswer(Base):
    """One participant's answer to one step or inject of a desk exercise: unique per
    (drill, person, item), so a retried callback records once and progress survives restarts."""

    __tablename__ = "drill_answers"
    __table_args__ = (UniqueConstraint("drill_id", "userid", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drills.id", ondelete="CASCADE"), index=True)
    userid: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[str] = mapped_column(String(32))
    answer: Mapped[str] = mapped_column(Text, default="")  # letters, free text, "" = skipped
    correct: Mapped[bool | None]
    answered_at: Mapped[datetime]


class DrillKeyTime(Base):
    """A key moment of a live drill (开始, 疏散完成, 清点完成), once per drill."""

    __tablename__ = "drill_key_times"
    __table_args__ = (UniqueConstraint("drill_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drills.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(64))


class DrillEvaluation(Base):
    """One observer's score (1-5) or text for one evaluation item; unique per observer."""

    __tablename__ = "drill_evaluations"
    __table_args__ = (UniqueConstraint("drill_id", "observer", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drills.id", ondelete="CASCADE"), index=True)
    observer: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[str] = mapped_column(String(32))
    score: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime]


class DrillFinding(Base):
    """A problem found in a drill. It becomes a hazard ticket (action ticket, hazard_id) or
    an improvement item on the plan (action plan: open until closed)."""

    __tablename__ = "drill_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drills.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    found_by: Mapped[str] = mapped_column(String(64))
    found_at: Mapped[datetime]
    # The evaluation answer it came from: one finding per answer, however often it is saved.
    origin: Mapped[str | None] = mapped_column(String(96), unique=True)
    action: Mapped[str | None] = mapped_column(String(8))  # ticket | plan
    hazard_id: Mapped[int | None] = mapped_column(
        ForeignKey("hazard_reports.id", ondelete="SET NULL")
    )
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("emergency_plans.id", ondelete="SET NULL")
    )
    owner: Mapped[str | None] = mapped_column(String(64))
    deadline: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None]


class DrillPhoto(Base):
    """A photo sent during a live drill, stored as hazard photos are (files_dir/hazards/…)."""

    __tablename__ = "drill_photos"
    __table_args__ = (UniqueConstraint("drill_id", "media_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drills.id", ondelete="CASCADE"), index=True)
    media_id: Mapped[str] = mapped_column(String(255))
    sent_by: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(8), default="pending")  # pending | stored | failed
    path: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class EmergencySupply(Base):
    """An item of emergency supplies: quantity (never negative), keeper, inspection interval."""

    __tablename__ = "emergency_supplies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    min_quantity: Mapped[int] = mapped_column(Integer, default=0)
    location: Mapped[str] = mapped_column(String(128), default="")
    keeper: Mapped[str | None] = mapped_column(String(64), index=True)
    interval_days: Mapped[int] = mapped_column(Integer, default=30)
    expires_on: Mapped[date | None] = mapped_column(Date)
    condition: Mapped[str] = mapped_column(String(16), default="ok")  # ok | expired | damaged
    last_checked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class SupplyCheck(Base):
    """One item's inspection on one local day: unique, so a retried answer records once."""

    __tablename__ = "supply_checks"
    __table_args__ = (UniqueConstraint("supply_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supply_id: Mapped[int] = mapped_column(
        ForeignKey("emergency_supplies.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date] = mapped_column(Date)
    result: Mapped[str] = mapped_column(String(16))  # ok | quantity | expired | damaged
    quantity: Mapped[int | None] = mapped_column(Integer)
    checked_by: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[datetime]
