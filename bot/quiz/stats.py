"""Quiz figures for `stats`, 统计 and the console."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bot.models import QuizAnswer, User
from bot.stats_base import count_rows


def quiz_answers(session: Session, now: datetime) -> int:
    return count_rows(session, QuizAnswer)


def quiz_correct_rate(session: Session, now: datetime) -> float:
    # One scan (of a covering index) instead of two counts.
    total, correct = session.execute(
        select(
            func.count(), func.sum(case((QuizAnswer.correct.is_(True), 1), else_=0))
        ).select_from(QuizAnswer)
    ).one()
    if not total:
        return 0.0
    return round(int(correct or 0) / total, 4)


def answered_on(day):
    """SELECT of the userids who answered at least one daily question on `day`."""
    return select(QuizAnswer.userid).where(QuizAnswer.day == day)


def department_quiz(session: Session, now: datetime, departments: set[int]) -> dict[str, int]:
    """Among the active members of `departments`: how many answered today, how many ever."""
    members = select(User.userid).where(
        User.status == 1, User.department_id.in_(sorted(departments) or [-1])
    )

    def people(*where) -> int:
        return (
            session.scalar(
                select(func.count(func.distinct(QuizAnswer.userid))).where(
                    QuizAnswer.userid.in_(members), *where
                )
            )
            or 0
        )

    return {"today": people(QuizAnswer.day == now.date()), "ever": people()}
