"""Keeping the running totals (person_totals, department_day_counts, question_counts,
department_day_active) as the raw rows are written.

Every writer of a row that changes a figure calls one of these in its own transaction, and only
when its idempotent insert really inserted the row (a retried message must not count twice).
Each call is one or two `INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x` statements:
the database adds under its row lock (PostgreSQL) or its write lock (SQLite), so concurrent
writers never lose an increment and there is no read-then-write race.

Lock order, to keep PostgreSQL free of deadlocks between these writers: the person's row first
(and, by its trigger, their department's department_totals row), then the department-day row,
then the department-question row (question_counts); the department-day row of
department_day_active (count_active) is taken last of all, by the dispatcher just before the
message's transaction commits.

department_totals (per current department: members, quiz points, participants) has no code
here: triggers on person_totals and users (migration 0025) keep it whenever either changes,
whoever writes them. bot.counters_check proves it like the others.

The statements are built once per dialect (they run on the chat hot path, where building an
insert construct costs more than executing it). `bot.counters_check` recomputes every table
from the raw rows and repairs them.
"""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Date, Integer, String, bindparam, case, literal_column, or_
from sqlalchemy.orm import Session

from bot.db import dialect_insert
from bot.models import DepartmentDayActive, DepartmentDayCounts, PersonTotals, QuestionCounts

# The department key for "no department" (a NULL would let the primary key admit duplicates).
NO_DEPARTMENT = 0
# department_totals' row for people who are not active members (left, disabled, not activated,
# never synced): their points and participation stay counted somewhere, so the participants of
# every row add up to bot.participation's count.
ELSEWHERE = -1

_PERSON = PersonTotals.__table__
_DEPARTMENT_DAY = DepartmentDayCounts.__table__
_QUESTION = QuestionCounts.__table__
_ACTIVE = DepartmentDayActive.__table__


class _Statements(NamedTuple):
    person: Any
    department: Any
    question: Any
    active: Any


_STATEMENTS: dict[str, _Statements] = {}


def _build(dialect: str) -> _Statements:
    insert = dialect_insert(dialect)
    t = _PERSON
    person = insert(t).values(
        userid=bindparam("userid", type_=String()),
        points=bindparam("points", type_=Integer()),
        answers=bindparam("answers", type_=Integer()),
        correct=bindparam("correct", type_=Integer()),
        took_part_on=bindparam("day", type_=Date()),
    )
    new = person.excluded
    person = person.on_conflict_do_update(
        index_elements=[t.c.userid],
        set_={
            "points": t.c.points + new.points,
            "answers": t.c.answers + new.answers,
            "correct": t.c.correct + new.correct,
            # The first day the person took part: an earlier day (a back-dated row) wins.
            "took_part_on": case(
                (
                    or_(t.c.took_part_on.is_(None), new.took_part_on < t.c.took_part_on),
                    new.took_part_on,
                ),
                else_=t.c.took_part_on,
            ),
        },
    )
    d = _DEPARTMENT_DAY
    department = insert(d).values(
        department_id=bindparam("department_id", type_=Integer()),
        day=bindparam("day", type_=Date()),
        quiz_answers=bindparam("quiz_answers", type_=Integer()),
        quiz_correct=bindparam("quiz_correct", type_=Integer()),
        quiz_points=bindparam("quiz_points", type_=Integer()),
        checkins=bindparam("checkins", type_=Integer()),
    )
    new = department.excluded
    department = department.on_conflict_do_update(
        index_elements=[d.c.department_id, d.c.day],
        set_={
            name: d.c[name] + new[name]
            for name in ("quiz_answers", "quiz_correct", "quiz_points", "checkins")
        },
    )
    q = _QUESTION
    question = insert(q).values(
        department_id=bindparam("department_id", type_=Integer()),
        question_id=bindparam("question_id", type_=String()),
        answers=bindparam("answers", type_=Integer()),
        correct=bindparam("correct", type_=Integer()),
    )
    new = question.excluded
    question = question.on_conflict_do_update(
        index_elements=[q.c.department_id, q.c.question_id],
        set_={"answers": q.c.answers + new.answers, "correct": q.c.correct + new.correct},
    )
    a = _ACTIVE
    one = literal_column("1")
    active = (
        insert(a)
        .values(
            department_id=bindparam("department_id", type_=Integer()),
            day=bindparam("day", type_=Date()),
            people=one,
        )
        .on_conflict_do_update(
            index_elements=[a.c.department_id, a.c.day], set_={"people": a.c.people + one}
        )
    )
    return _Statements(person, department, question, active)


def _statements(session: Session) -> _Statements:
    dialect = session.get_bind().dialect.name
    stmts = _STATEMENTS.get(dialect)
    if stmts is None:
        stmts = _STATEMENTS[dialect] = _build(dialect)
    return stmts


def _add_person(
    session: Session, userid: str, day: date, points: int = 0, answers: int = 0, correct: int = 0
) -> None:
    session.execute(
        _statements(session).person,
        {"userid": userid, "points": points, "answers": answers, "correct": correct, "day": day},
    )


def _add_department_day(
    session: Session,
    department_id: int | None,
    day: date,
    *,
    quiz_answers: int = 0,
    quiz_correct: int = 0,
    quiz_points: int = 0,
    checkins: int = 0,
) -> None:
    session.execute(
        _statements(session).department,
        {
            "department_id": NO_DEPARTMENT if department_id is None else department_id,
            "day": day,
            "quiz_answers": quiz_answers,
            "quiz_correct": quiz_correct,
            "quiz_points": quiz_points,
            "checkins": checkins,
        },
    )


def count_answer(
    session: Session,
    userid: str,
    department_id: int | None,
    day: date,
    correct: bool,
    points: int,
    question_id: str,
) -> None:
    """A daily-quiz answer was stored: the person's totals, their department's day and their
    department's count for that question."""
    right = 1 if correct else 0
    _add_person(session, userid, day, points=points, answers=1, correct=right)
    _add_department_day(
        session, department_id, day, quiz_answers=1, quiz_correct=right, quiz_points=points
    )
    session.execute(
        _statements(session).question,
        {
            "department_id": NO_DEPARTMENT if department_id is None else department_id,
            "question_id": question_id,
            "answers": 1,
            "correct": right,
        },
    )


def count_checkin(session: Session, userid: str, department_id: int | None, day: date) -> None:
    """A daily 打卡 was stored: the person took part, their department's day has one more."""
    _add_person(session, userid, day)
    _add_department_day(session, department_id, day, checkins=1)


def took_part(session: Session, userid: str, day: date) -> None:
    """The person did something of the campaign (bot.participation's list) on `day`."""
    _add_person(session, userid, day)


def count_active(session: Session, department_id: int | None, day: date) -> None:
    """A person's daily_activity row for `day` was inserted (their first message that day):
    one more person used the bot in their department that day. The dispatcher calls this
    last in the message's transaction, so the row lock is held only until the commit."""
    session.execute(
        _statements(session).active,
        {"department_id": NO_DEPARTMENT if department_id is None else department_id, "day": day},
    )
