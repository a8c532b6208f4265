"""Inspections (隐患大排查): rounds, the place each covers and who inspects it, item results,
and recurring schedules. The checklists themselves are content (content/checklists/*.yaml)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.base import Base


class InspectionSchedule(Base):
    """A recurring round: weekly, monthly, or before each public holiday."""

    __tablename__ = "inspection_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[str] = mapped_column(String(64))
    repeat: Mapped[str] = mapped_column(String(16))  # weekly | monthly | holiday
    # [[department id, inspector userid], …]
    assignments: Mapped[list] = mapped_column(JSON, default=list)
    due_days: Mapped[int] = mapped_column(Integer, default=3)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class InspectionRound(Base):
    """One inspection round of one checklist template, with a due date.

    `occurrence` is set for rounds a schedule created ("3:week:2026-W24"): unique, so each
    occurrence creates one round however many processes run the job."""

    __tablename__ = "inspection_rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(128))
    due: Mapped[date] = mapped_column(Date)
    started_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    schedule_id: Mapped[int | None] = mapped_column(Integer)
    occurrence: Mapped[str | None] = mapped_column(String(64), unique=True)

    assignments: Mapped[list[InspectionAssignment]] = relationship(
        back_populates="round", order_by="InspectionAssignment.id"
    )


class InspectionAssignment(Base):
    """A round's department (or place) and its inspector; status pending → in_progress → done."""

    __tablename__ = "inspection_assignments"
    __table_args__ = (UniqueConstraint("round_id", "department_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("inspection_rounds.id", ondelete="CASCADE"), index=True
    )
    department_id: Mapped[int] = mapped_column(Integer)
    inspector: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    items_total: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    round: Mapped[InspectionRound] = relationship(back_populates="assignments")


class InspectionResult(Base):
    """One checklist item's result in one assignment: pass | fail | na.

    Unique on (assignment, item): a retried callback records once. A failed item goes
    through stage photo → note → done; at done it has its hazard ticket (hazard_id)."""

    __tablename__ = "inspection_results"
    __table_args__ = (UniqueConstraint("assignment_id", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("inspection_assignments.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(8))
    stage: Mapped[str] = mapped_column(String(8), default="done")  # photo | note | done
    note: Mapped[str] = mapped_column(Text, default="")
    media_id: Mapped[str | None] = mapped_column(String(255))
    hazard_id: Mapped[int | None] = mapped_column(
        ForeignKey("hazard_reports.id", ondelete="SET NULL")
    )
    answered_by: Mapped[str] = mapped_column(String(64))
    answered_at: Mapped[datetime]
