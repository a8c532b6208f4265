"""Hazard reports (隐患台账), their status history and photos, and safety suggestions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.base import Base


class HazardReport(Base):
    """One reported hazard and its six determinations (六定): item, measure, funds, owner,
    deadline and re-checker. `status` moves only through bot.hazard.states."""

    __tablename__ = "hazard_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket: Mapped[str] = mapped_column(String(32), unique=True)  # YH-YYYYMMDD-NNNN
    reporter: Mapped[str] = mapped_column(String(64), index=True)
    department_id: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32), default="other")
    location: Mapped[str] = mapped_column(String(255), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="reported", index=True)
    # The six determinations (六定).
    item: Mapped[str | None] = mapped_column(Text)
    measure: Mapped[str | None] = mapped_column(Text)
    funds: Mapped[str | None] = mapped_column(String(64))
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    deadline: Mapped[date | None] = mapped_column(Date)
    rechecker: Mapped[str | None] = mapped_column(String(64))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    rectify_note: Mapped[str | None] = mapped_column(Text)
    # 一般事故隐患 (general) or 重大事故隐患 (major); a major one needs a rectification plan
    # (治理方案) before its fix can be accepted.
    grade: Mapped[str] = mapped_column(String(16), default="general", server_default="general")
    plan: Mapped[str | None] = mapped_column(Text)
    # Where a report came from when not typed by a person ("inspection:<assignment>:<item>"):
    # unique, so a retried inspection answer never opens a second ticket.
    origin: Mapped[str | None] = mapped_column(String(96), unique=True)
    reported_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    rectified_at: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    photos: Mapped[list[HazardPhoto]] = relationship(
        back_populates="hazard", order_by="HazardPhoto.id"
    )


class HazardTransition(Base):
    """Every change to a hazard: who, when, which action, from which status to which, and why."""

    __tablename__ = "hazard_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hazard_id: Mapped[int] = mapped_column(
        ForeignKey("hazard_reports.id", ondelete="CASCADE"), index=True
    )
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


class HazardPhoto(Base):
    """A photo of a hazard (kind "report") or of its fix (kind "rectify").

    WeCom media ids expire after 3 days, so a photo is downloaded at once; if that fails the
    row stays "pending" and the retry job fetches it later ("failed" when it gives up).
    `path` is relative to settings.files_dir.
    """

    __tablename__ = "hazard_photos"
    __table_args__ = (UniqueConstraint("hazard_id", "media_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hazard_id: Mapped[int] = mapped_column(
        ForeignKey("hazard_reports.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16), default="report")
    media_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    path: Mapped[str | None] = mapped_column(String(512))
    size: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    stored_at: Mapped[datetime | None]

    hazard: Mapped[HazardReport] = relationship(back_populates="photos")


class TicketCounter(Base):
    """Per-day ticket sequences ("YH" hazards, "JY" suggestions), incremented atomically."""

    __tablename__ = "ticket_counters"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class HazardPoints(Base):
    """Points earned through hazard reports (e.g. 20 to the reporter when a fix is verified)."""

    __tablename__ = "hazard_points"
    __table_args__ = (UniqueConstraint("hazard_id", "userid", "reason"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    userid: Mapped[str] = mapped_column(String(64), index=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazard_reports.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(32))
    points: Mapped[int] = mapped_column(Integer)
    awarded_at: Mapped[datetime]


class Suggestion(Base):
    __tablename__ = "suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket: Mapped[str] = mapped_column(String(32), unique=True)  # JY-YYYYMMDD-NNNN
    proposer: Mapped[str] = mapped_column(String(64), index=True)
    department_id: Mapped[int | None] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    # Adopted (采纳) by an officer: set once (UPDATE … WHERE adopted_at IS NULL), which also
    # makes the proposer's points (bot.suggestion.ADOPT_POINTS) count once.
    adopted_at: Mapped[datetime | None]
    adopted_by: Mapped[str | None] = mapped_column(String(64))

    replies: Mapped[list[SuggestionReply]] = relationship(
        back_populates="suggestion", order_by="SuggestionReply.id"
    )


class SuggestionReply(Base):
    __tablename__ = "suggestion_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(
        ForeignKey("suggestions.id", ondelete="CASCADE"), index=True
    )
    replier: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]

    suggestion: Mapped[Suggestion] = relationship(back_populates="replies")
