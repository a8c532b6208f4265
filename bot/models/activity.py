"""Departments' own activities (报送): what a department ran (宣讲, 班前会 …), filed from chat
or the console, sent back by the office for more detail, and its history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class ActivityReport(Base):
    """One activity a department reports. status: submitted | returned.

    `source_key` names what created it (the WeCom message that confirmed it, or the console
    form's one-time key): unique, so a retried callback or a form posted twice files once."""

    __tablename__ = "activity_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_key: Mapped[str] = mapped_column(String(191), unique=True)
    department_id: Mapped[int | None] = mapped_column(Integer, index=True)
    filed_by: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # content activity.kinds key
    held_on: Mapped[date] = mapped_column(Date, index=True)
    place: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    head_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ActivityReportEvent(Base):
    """The history of a report: submitted, returned (with the reason), resubmitted."""

    __tablename__ = "activity_report_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("activity_reports.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # submitted | returned | resubmitted
    note: Mapped[str] = mapped_column(Text, default="")
    # The report as it was before this step (what the officer saw when sending it back).
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ActivityPhoto(Base):
    """A photo of an activity. From chat it arrives as a WeCom media id and is fetched by a
    job (status pending → stored | failed); from the console it is stored at once."""

    __tablename__ = "activity_photos"
    __table_args__ = (UniqueConstraint("report_id", "media_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("activity_reports.id", ondelete="CASCADE"), index=True
    )
    media_id: Mapped[str | None] = mapped_column(String(191))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    path: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)


class ActivityDelegate(Base):
    """Someone a department head named to file activities for the department."""

    __tablename__ = "activity_delegates"
    __table_args__ = (UniqueConstraint("department_id", "userid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department_id: Mapped[int] = mapped_column(Integer)
    userid: Mapped[str] = mapped_column(String(64), index=True)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime]
