"""Quiz figures for `stats`, 统计 and the console."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import DepartmentDayCounts, QuizAnswer, User


def _answer_totals(session: Session) -> tuple[int, int]:
    """(answers, correct answers) of the daily quiz, summed from department_day_counts (a
    few thousand rows kept in the answer's own transaction; `safetybot counters check`
    proves them against quiz_answers) instead of a scan of every answer."""
    total, correct = session.execute(
        select(
            func.coalesce(func.sum(DepartmentDayCounts.quiz_answers), 0),
            func.coalesce(func.sum(DepartmentDayCounts.quiz_correct), 0),
        )
    ).one()
    return int(total), int(correct)


def quiz_answers(session: Session, now: datetime) -> int:
    return _answer_totals(session)[0]


def quiz_correct_rate(session: Session, now: datetime) -> float:
    total, correct = _answer_totals(session)
    if not total:
        return 0.0
    return round(correct / total, 4)


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
