"""Scoring rules in one place: points, streaks, ranks, leaderboards, the review schedule."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from bot import prepared
from bot.content import texts
from bot.counters import NO_DEPARTMENT
from bot.db import bound_insert
from bot.models import Department, DepartmentTotals, PersonTotals, QuizAnswer, QuizReview, User

# -- the rules ------------------------------------------------------------------------------
POINTS_PER_CORRECT = 10  # a correct answer in the daily quiz
POINTS_PER_WRONG = 0
CONTEST_POINTS_PER_CORRECT = 10  # contest score, kept apart from the daily points
REVIEW_OFFSETS = (1, 3, 7)  # a wrong answer comes back 1, 3 and 7 days later


def points_for(correct: bool) -> int:
    return POINTS_PER_CORRECT if correct else POINTS_PER_WRONG


def rules_text(per_day: int) -> str:

    return texts.get(
        "quiz.rules",
        per_day=per_day,
        points=POINTS_PER_CORRECT,
        offsets="、".join(str(d) for d in REVIEW_OFFSETS),
        contest_points=CONTEST_POINTS_PER_CORRECT,
    )


# -- per person -----------------------------------------------------------------------------
# Points, answers and correct answers per person are person_totals (bot.models.counters), kept
# by the answer's own transaction: one row per person instead of a sum over every answer.
def total_points(session: Session, userid: str) -> int:
    """The daily quiz's points of one person (a primary-key lookup)."""
    return session.scalar(select(PersonTotals.points).where(PersonTotals.userid == userid)) or 0


def answer_days(session: Session, userid: str) -> list[date]:
    return list(
        session.scalars(
            select(QuizAnswer.day)
            .where(QuizAnswer.userid == userid)
            .distinct()
            .order_by(QuizAnswer.day.desc())
        )
    )


def streak(session: Session, userid: str, today: date) -> int:
    """Consecutive days with at least one answer, ending today (or yesterday: today's quiz
    may still be ahead, and the streak is not broken until today is over)."""
    days = set(answer_days(session, userid))
    day = today if today in days else today - timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= timedelta(days=1)
    return count


ANSWERED = PersonTotals.answers > 0


def points_table(session: Session) -> list[tuple[str, int]]:
    """(userid, points) of everyone who answered, most points first."""
    rows = session.execute(
        select(PersonTotals.userid, PersonTotals.points)
        .where(ANSWERED)
        .order_by(PersonTotals.points.desc(), PersonTotals.userid)
    )
    return [(u, int(p or 0)) for u, p in rows]


def rank_in(table: list[tuple[str, int]], userid: str, mine: int) -> tuple[int, int]:
    """(rank, people ranked) of someone with `mine` points in a points table (most first)."""
    higher = sum(1 for _, p in table if p > mine)
    ranked = len(table) + (0 if any(u == userid for u, _ in table) or mine == 0 else 1)
    return 1 + higher, max(ranked, 1)


def rank_of(session: Session, userid: str) -> tuple[int, int]:
    """(rank, people ranked): rank = 1 + people with more points (ties share a rank), among
    the people who answered. Two counts over person_totals (the first a range of
    ix_person_totals_points)."""
    mine = total_points(session, userid)
    higher = session.scalar(
        select(func.count()).select_from(PersonTotals).where(PersonTotals.points > mine, ANSWERED)
    )
    ranked = session.scalar(select(func.count()).select_from(PersonTotals).where(ANSWERED))
    return 1 + int(higher or 0), max(int(ranked or 0), 1)


def top_people(
    session: Session, limit: int = 10, table: list[tuple[str, int]] | None = None
) -> list[tuple[str, str, int]]:
    """The first `limit` of the points table (pass `table` when you already have it)."""
    if table is None:
        table = [
            (u, int(p))
            for u, p in session.execute(
                select(PersonTotals.userid, PersonTotals.points)
                .where(ANSWERED)
                .order_by(PersonTotals.points.desc(), PersonTotals.userid)
                .limit(limit)
            )
        ]
    table = table[:limit]
    names = dict(
        session.execute(
            select(User.userid, User.name).where(User.userid.in_([u for u, _ in table] or [""]))
        ).all()
    )
    return [(u, names.get(u) or u, p) for u, p in table]


def department_table(
    session: Session,
    table: list[tuple[str, int]] | None = None,
    participants: Collection[str] | None = None,
) -> list[dict]:
    """Per department (main department of active members): head count, average points per
    head, participation rate (members who took part / members; without `participants`, those
    in the points table)."""
    points = dict(points_table(session) if table is None else table)
    joined_set = points if participants is None else participants
    members: dict[int, list[str]] = {}
    for userid, dept in session.execute(
        select(User.userid, User.department_id).where(
            User.status == 1, User.department_id.is_not(None)
        )
    ):
        members.setdefault(dept, []).append(userid)
    names = dict(session.execute(select(Department.id, Department.name)).all())
    rows = []
    for dept, people in members.items():
        total = sum(points.get(u, 0) for u in people)
        joined = sum(1 for u in people if u in joined_set)
        rows.append(
            {
                "department_id": dept,
                "name": names.get(dept, str(dept)),
                "members": len(people),
                "average": total / len(people),
                "participation": joined / len(people),
            }
        )
    return rows


def department_totals(session: Session) -> dict[int, tuple[int, int, int]]:
    """department -> (active members, their quiz points, of them who took part), for
    department_table's figures: a read of the department_totals counter (two rows per
    department, kept by triggers on person_totals and users), not a pass over the members."""
    t = DepartmentTotals
    rows = session.execute(
        select(t.department_id, func.sum(t.members), func.sum(t.points), func.sum(t.participants))
        .where(t.department_id > NO_DEPARTMENT)
        .group_by(t.department_id)
    )
    return {d: (int(n), int(p), int(j)) for d, n, p, j in rows if n}


# -- the review schedule ------------------------------------------------------------------------
# Every answer runs one of these: prebuilt Core statements on the Table (building an upsert per
# call, or an ORM load and flush, cost more than the statements themselves).
_REVIEWS = QuizReview.__table__
_REVIEW = (
    select(_REVIEWS.c.stage, _REVIEWS.c.anchor_on, _REVIEWS.c.due_on)
    .where(_REVIEWS.c.userid == bindparam("userid"), _REVIEWS.c.question_id == bindparam("qid"))
    .with_for_update()  # PostgreSQL: two answers of one person advance it one after the other
)
_ADVANCE = (
    update(_REVIEWS)
    .where(_REVIEWS.c.userid == bindparam("key_userid"), _REVIEWS.c.question_id == bindparam("qid"))
    .values(stage=bindparam("stage"), due_on=bindparam("due_on"), updated_at=bindparam("now"))
)


@prepared.per_dialect
def _record_wrong(dialect: str) -> Any:
    stmt = bound_insert(
        dialect, _REVIEWS, ("userid", "question_id", "anchor_on", "due_on", "updated_at")
    ).values(stage=0, wrong_count=1)
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[_REVIEWS.c.userid, _REVIEWS.c.question_id],
        set_={
            "stage": 0,
            "anchor_on": new.anchor_on,
            "due_on": new.due_on,
            "wrong_count": _REVIEWS.c.wrong_count + 1,
            "updated_at": new.updated_at,
        },
    )


def record_wrong(session: Session, userid: str, question_id: str, day: date, now: datetime) -> None:
    """A wrong answer (re)starts the schedule from `day`: due day+1, then +3, then +7."""
    prepared.run(
        session,
        _record_wrong,
        {
            "userid": userid,
            "question_id": question_id,
            "anchor_on": day,
            "due_on": day + timedelta(days=REVIEW_OFFSETS[0]),
            "updated_at": now,
        },
    )


def record_review_correct(
    session: Session, userid: str, question_id: str, day: date, now: datetime
) -> None:
    """A correct answer to a question in the schedule advances it (mastered after the last)."""
    review = prepared.run(session, _REVIEW, {"userid": userid, "qid": question_id}).first()
    if review is None or review.due_on is None:
        return
    stage = review.stage + 1
    due_on = (
        review.anchor_on + timedelta(days=REVIEW_OFFSETS[stage])
        if stage < len(REVIEW_OFFSETS)
        else None
    )
    prepared.run(
        session,
        _ADVANCE,
        {"key_userid": userid, "qid": question_id, "stage": stage, "due_on": due_on, "now": now},
    )


def record_result(
    session: Session, userid: str, question_id: str, correct: bool, day: date, now: datetime
) -> None:
    if correct:
        record_review_correct(session, userid, question_id, day, now)
    else:
        record_wrong(session, userid, question_id, day, now)


# Built once, on Table columns: this runs on every person's first 答题 of the day.
_DUE = (
    select(_REVIEWS.c.question_id)
    .where(_REVIEWS.c.userid == bindparam("userid"), _REVIEWS.c.due_on <= bindparam("day"))
    .order_by(_REVIEWS.c.due_on, _REVIEWS.c.question_id)
)


def due_reviews(session: Session, userid: str, day: date) -> list[str]:
    return prepared.run(session, _DUE, {"userid": userid, "day": day}).scalars()


def wrong_book(session: Session, userid: str) -> list[str]:
    """Questions still being reviewed (not yet mastered), soonest due first."""
    return list(
        session.scalars(
            select(QuizReview.question_id)
            .where(QuizReview.userid == userid, QuizReview.due_on.is_not(None))
            .order_by(QuizReview.due_on, QuizReview.question_id)
        )
    )


def department_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Department.id, Department.name)).all())
