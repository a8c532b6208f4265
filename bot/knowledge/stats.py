"""Figures: questions asked to the bot, and those it had no confident answer for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.knowledge.answers import UNSURE
from bot.models import QuestionAsked
from bot.stats_base import count_rows


def questions_asked(session: Session, now: datetime) -> int:
    return count_rows(session, QuestionAsked)


def questions_unanswered(session: Session, now: datetime) -> int:
    """Safety questions without a confident answer (small talk is not counted)."""
    return count_rows(session, QuestionAsked, QuestionAsked.outcome == UNSURE)
