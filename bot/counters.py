"""Keeping the running totals (person_totals, department_day_counts, question_counts,
department_day_active, pledge_counts) as the raw rows are written (pledge_counts'
statements live in bot.directory, whose sync moves them when a member moves or leaves).

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

pledge_counts is written by signing (after the person's row) and by the directory sync when a
member moves or leaves (after locking that member's users row, which signing locks first too).

The statements are built once per dialect (they run on the chat hot path, where building an
insert construct costs more than executing it). `bot.counters_check` recomputes every table
from the raw rows and repairs them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    String,
    bindparam,
    case,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from bot import prepared
from bot.db import dialect_insert, is_postgres
from bot.directory import NO_DEPARTMENT, add_pledge_counts, pledge_key
from bot.models import (
    DepartmentDayActive,
    DepartmentDayCounts,
    PersonTotals,
    QuestionCounts,
    User,
)

__all__ = ["NO_DEPARTMENT", "pledge_key"]  # also used from here by the readers and the check
# department_totals' row for people who are not active members (left, disabled, not activated,
# never synced): their points and participation stay counted somewhere, so the participants of
# every row add up to bot.participation's count.
ELSEWHERE = -1

_PERSON = PersonTotals.__table__
_DEPARTMENT_DAY = DepartmentDayCounts.__table__
_QUESTION = QuestionCounts.__table__
_ACTIVE = DepartmentDayActive.__table__


def _person_update(t: Any, new: Any) -> dict[str, Any]:
    return {
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
    }


_DEPARTMENT_FIELDS = ("quiz_answers", "quiz_correct", "quiz_points", "checkins")


def _department_update(d: Any, new: Any) -> dict[str, Any]:
    return {name: d.c[name] + new[name] for name in _DEPARTMENT_FIELDS}


def _question_update(q: Any, new: Any) -> dict[str, Any]:
    return {"answers": q.c.answers + new.answers, "correct": q.c.correct + new.correct}


# The four upserts every counted action runs, built once per dialect (bot.prepared).
@prepared.per_dialect
def _upsert_person(dialect: str) -> Any:
    t = _PERSON
    person = dialect_insert(dialect)(t).values(
        userid=bindparam("userid", type_=String()),
        points=bindparam("points", type_=Integer()),
        answers=bindparam("answers", type_=Integer()),
        correct=bindparam("correct", type_=Integer()),
        took_part_on=bindparam("day", type_=Date()),
    )
    return person.on_conflict_do_update(
        index_elements=[t.c.userid], set_=_person_update(t, person.excluded)
    )


@prepared.per_dialect
def _upsert_department_day(dialect: str) -> Any:
    d = _DEPARTMENT_DAY
    department = dialect_insert(dialect)(d).values(
        department_id=bindparam("department_id", type_=Integer()),
        day=bindparam("day", type_=Date()),
        quiz_answers=bindparam("quiz_answers", type_=Integer()),
        quiz_correct=bindparam("quiz_correct", type_=Integer()),
        quiz_points=bindparam("quiz_points", type_=Integer()),
        checkins=bindparam("checkins", type_=Integer()),
    )
    return department.on_conflict_do_update(
        index_elements=[d.c.department_id, d.c.day],
        set_=_department_update(d, department.excluded),
    )


@prepared.per_dialect
def _upsert_question(dialect: str) -> Any:
    q = _QUESTION
    question = dialect_insert(dialect)(q).values(
        department_id=bindparam("department_id", type_=Integer()),
        question_id=bindparam("question_id", type_=String()),
        answers=bindparam("answers", type_=Integer()),
        correct=bindparam("correct", type_=Integer()),
    )
    return question.on_conflict_do_update(
        index_elements=[q.c.department_id, q.c.question_id],
        set_=_question_update(q, question.excluded),
    )


@prepared.per_dialect
def _upsert_active(dialect: str) -> Any:
    a = _ACTIVE
    one = literal_column("1")
    return (
        dialect_insert(dialect)(a)
        .values(
            department_id=bindparam("department_id", type_=Integer()),
            day=bindparam("day", type_=Date()),
            people=one,
        )
        .on_conflict_do_update(
            index_elements=[a.c.department_id, a.c.day], set_={"people": a.c.people + one}
        )
    )


# -- PostgreSQL: a raw row's insert and its counters in one statement ---------------------------
# A chain of data-modifying WITH clauses, each upsert selecting from the one before it (raw
# row → person → department-day → question): they run only if the raw row was inserted, in
# this module's lock order, and a row comes back only then. One round trip instead of three or
# four. SQLite has no data-modifying WITH: count_answer / count_checkin run there.
_ONE, _ZERO = literal(1, Integer()), literal(0, Integer())
_DAY = bindparam("day", type_=Date())
_RIGHT = bindparam("right", type_=Integer())  # 1 for a correct answer, else 0
_POINTS = bindparam("points", type_=Integer())


def _person_step(source: Any, points: Any, answers: Any, right: Any) -> Any:
    from sqlalchemy.dialects.postgresql import insert

    t = _PERSON
    userid = bindparam("userid", type_=String())
    stmt = insert(t).from_select(
        ["userid", "points", "answers", "correct", "took_part_on"],
        select(userid, points, answers, right, _DAY).select_from(source),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.userid], set_=_person_update(t, stmt.excluded)
    )
    return stmt.returning(t.c.userid).cte("person")


def _department_step(source: Any, department: Any, values: tuple) -> Any:
    from sqlalchemy.dialects.postgresql import insert

    d = _DEPARTMENT_DAY
    stmt = insert(d).from_select(
        ["department_id", "day", *_DEPARTMENT_FIELDS],
        select(department, _DAY, *values).select_from(source),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[d.c.department_id, d.c.day], set_=_department_update(d, stmt.excluded)
    )
    return stmt.returning(d.c.department_id)


def answer_with_counts(answer_insert: Any) -> Any:
    """PostgreSQL: the answer's INSERT … ON CONFLICT DO NOTHING RETURNING department_id with
    count_answer's three upserts chained on (see above). Parameters: the answer's, plus
    userid, day, points, right and question_id."""
    from sqlalchemy.dialects.postgresql import insert

    answer = answer_insert.cte("answer")
    person = _person_step(answer, _POINTS, _ONE, _RIGHT)
    department = _department_step(
        answer.join(person, true()), answer.c.department_id, (_ONE, _RIGHT, _POINTS, _ZERO)
    ).cte("department")
    q = _QUESTION
    question = insert(q).from_select(
        ["department_id", "question_id", "answers", "correct"],
        select(
            department.c.department_id, bindparam("question_id", type_=String()), _ONE, _RIGHT
        ).select_from(department),
    )
    return question.on_conflict_do_update(
        index_elements=[q.c.department_id, q.c.question_id],
        set_=_question_update(q, question.excluded),
    ).returning(q.c.department_id)


def checkin_with_counts(checkin_insert: Any) -> Any:
    """PostgreSQL: the check-in's INSERT … ON CONFLICT DO NOTHING RETURNING with
    count_checkin's two upserts chained on. Parameters: the check-in's, plus userid, day and
    department_key (the department, NO_DEPARTMENT for none)."""
    person = _person_step(checkin_insert.cte("checkin"), _ZERO, _ZERO, _ZERO)
    department = bindparam("department_key", type_=Integer())
    return _department_step(person, department, (_ZERO, _ZERO, _ZERO, _ONE))


def department_key(department_id: int | None) -> int:
    """The counters' key for a department (NO_DEPARTMENT for none)."""
    return NO_DEPARTMENT if department_id is None else department_id


def _add_person(
    session: Session, userid: str, day: date, points: int = 0, answers: int = 0, correct: int = 0
) -> None:
    prepared.run(
        session,
        _upsert_person,
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
    prepared.run(
        session,
        _upsert_department_day,
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
    prepared.run(
        session,
        _upsert_question,
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
    prepared.run(
        session,
        _upsert_active,
        {"department_id": NO_DEPARTMENT if department_id is None else department_id, "day": day},
    )


def locked_pledge_key(session: Session, userid: str) -> int | None:
    """The member's pledge_key, read from their users row locked until commit (PostgreSQL:
    FOR UPDATE returns the latest committed row; SQLite has one writer anyway). Signing calls
    this before storing the signature, and the directory sync changes the row before moving
    the counts (member_changed), so a signature and a move of the same member cannot
    interleave: whichever comes second sees the other's rows."""
    stmt = select(User.status, User.department_id).where(User.userid == userid)
    if is_postgres(session):
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    return None if row is None else pledge_key(row.status, row.department_id)


def count_signature(session: Session, department_key: int | None, text_hash: str) -> None:
    """A 责任书 signature was stored: one more signer of that text in the member's department
    (`department_key` from locked_pledge_key; None, a member not active: counted nowhere)."""
    if department_key is not None:
        add_pledge_counts(session, department_key, [text_hash], 1)
