"""Staff's questions to the bot: every question asked (for officers to turn the unanswered
ones into entries), the last answer's follow-up choices per person, and the questions handed to
a person (WT- tickets)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class QuestionAsked(Base):
    __tablename__ = "questions_asked"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    userid: Mapped[str] = mapped_column(String(64), index=True)
    asked_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)
    best_id: Mapped[str | None] = mapped_column(String(128))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    # "answered" (confident), "unsure" (closest topics offered), "off_topic"
    outcome: Mapped[str] = mapped_column(String(16), index=True)


class QaFollowup(Base):
    """What 1/2/3 means for a person right after an answer (one row each, replaced)."""

    __tablename__ = "qa_followups"

    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    question_id: Mapped[int | None] = mapped_column(Integer)
    choices: Mapped[list[Any]] = mapped_column(JSON, default=list)
    at: Mapped[datetime]


class QuestionTicket(Base):
    __tablename__ = "question_tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket: Mapped[str] = mapped_column(String(32), unique=True)  # WT-YYYYMMDD-NNNN
    asker: Mapped[str] = mapped_column(String(64), index=True)
    department_id: Mapped[int | None] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    # The logged question it hands over: one ticket per question, whatever is retried.
    question_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    best_id: Mapped[str | None] = mapped_column(String(128))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None]
