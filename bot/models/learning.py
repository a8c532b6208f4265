"""Learning tasks (学习任务): an article, an accident case or a link, assigned with a due date."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class LearningTask(Base):
    """One assignment by a safety officer; `departments` empty means everyone.

    `questions` is a snapshot of the check questions asked after confirming (the content file
    may change later; what a person answered stays comparable)."""

    __tablename__ = "learning_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # article | case | url
    item_id: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(Text)
    departments: Mapped[list[int]] = mapped_column(JSON, default=list)
    due: Mapped[date] = mapped_column(Date)
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    members_total: Mapped[int] = mapped_column(Integer, default=0)


class LearningAssignment(Base):
    """One person's part of a task: opened (through the redirect link), confirmed (card button
    or 已学习), answered (the check questions), completed (confirmed and answered)."""

    __tablename__ = "learning_assignments"
    __table_args__ = (UniqueConstraint("task_id", "userid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("learning_tasks.id", ondelete="CASCADE"), index=True
    )
    userid: Mapped[str] = mapped_column(String(64), index=True)
    department_id: Mapped[int | None] = mapped_column(Integer)
    # The secret in the person's link (/l/<token>): who opened what, without a login.
    token: Mapped[str] = mapped_column(String(43), unique=True)
    opened_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    confirm_channel: Mapped[str | None] = mapped_column(String(16))  # text | card
    # [{"id", "given", "correct"}] in the order asked
    answers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    completed_at: Mapped[datetime | None] = mapped_column(index=True)
