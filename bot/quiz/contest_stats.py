"""Contest figures for the console: the list (status, participants, average score), and one
contest's participation per department and correct rate per question."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bot.directory import active_members
from bot.models import Contest, ContestAnswer, ContestAttempt, Department, Question, User
from bot.quiz.contest import contest_questions, voided
from bot.quiz.contest_admin import status


@dataclass
class ContestRow:
    contest: Contest
    status: str  # upcoming | open | closed | cancelled
    participants: int
    average: float | None


def overview(session: Session, now: datetime) -> list[ContestRow]:
    """Every contest, newest first, with its participants and average score (one query)."""
    figures = {
        cid: (int(n), float(avg) if avg is not None else None)
        for cid, n, avg in session.execute(
            select(
                ContestAttempt.contest_id, func.count(), func.avg(ContestAttempt.score)
            ).group_by(ContestAttempt.contest_id)
        )
    }
    return [
        ContestRow(c, status(c, now), *figures.get(c.id, (0, None)))
        for c in session.scalars(select(Contest).order_by(Contest.opens_at.desc(), Contest.id))
    ]


def participation(session: Session, contest: Contest) -> list[dict]:
    """Per department (by main department) of the people the contest is for: members,
    participants, rate and average score; departments in directory order."""
    members: dict[int | None, int] = {}
    for _userid, dept in active_members(session, contest.department_ids or []):
        members[dept] = members.get(dept, 0) + 1
    joined: dict[int | None, list[int]] = {}
    for dept, score in session.execute(
        select(User.department_id, ContestAttempt.score)
        .join(User, User.userid == ContestAttempt.userid, isouter=True)
        .where(ContestAttempt.contest_id == contest.id)
    ):
        joined.setdefault(dept, []).append(score)
    departments = session.execute(
        select(Department.id, Department.name).order_by(Department.order, Department.id)
    ).all()
    rows = []
    for dept_id, name in departments:
        n, scores = members.get(dept_id, 0), joined.get(dept_id, [])
        if not n and not scores:
            continue
        rows.append(
            {
                "department_id": dept_id,
                "name": name,
                "members": max(n, len(scores)),
                "participants": len(scores),
                "rate": len(scores) / max(n, len(scores)),
                "average": sum(scores) / len(scores) if scores else None,
            }
        )
    return rows


def question_rates(session: Session, contest: Contest) -> list[dict]:
    """Each question of the set, in order: answers, correct answers, rate, voided or not."""
    qids = contest_questions(session, contest)
    counts = {
        qid: (int(n), int(c or 0))
        for qid, n, c in session.execute(
            select(
                ContestAnswer.question_id,
                func.count(),
                func.sum(case((ContestAnswer.correct.is_(True), 1), else_=0)),
            )
            .join(ContestAttempt, ContestAttempt.id == ContestAnswer.attempt_id)
            .where(ContestAttempt.contest_id == contest.id)
            .group_by(ContestAnswer.question_id)
        )
    }
    questions = {q.id: q for q in session.scalars(select(Question).where(Question.id.in_(qids)))}
    gone = voided(contest)
    rows = []
    for number, qid in enumerate(qids, start=1):
        answered, correct = counts.get(qid, (0, 0))
        q = questions.get(qid)
        rows.append(
            {
                "number": number,
                "id": qid,
                "question": q,
                "answered": answered,
                "correct": correct,
                "rate": correct / answered if answered else None,
                "voided": qid in gone,
            }
        )
    return rows
