"""Today's questions for one person: the stored daily set, and scoring an answer to it."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import counters
from bot.db import insert_ignore
from bot.models import Question, QuizAnswer, QuizDailySet, User
from bot.quiz import scoring
from bot.quiz.answers import permutation_for, to_shown, to_stored
from bot.quiz.bank import ensure_bank


def _rng(seed: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))


def active_questions(session: Session, themes: list[str] | None = None) -> list[Question]:
    stmt = select(Question).where(Question.active.is_(True)).order_by(Question.id)
    if themes:
        stmt = stmt.where(Question.theme.in_(themes))
    return list(session.scalars(stmt))


def active_question_ids(session: Session) -> list[str]:
    # Ids only: this runs on the first 答题 of each person each day (the chat path).
    return list(
        session.scalars(select(Question.id).where(Question.active.is_(True)).order_by(Question.id))
    )


def choose_questions(session: Session, userid: str, day: date, count: int) -> list[str]:
    """Due reviews first, then questions this person has not had in a daily set, drawn with a
    seed of (person, day) so the choice is the same whoever computes it."""
    ids = active_question_ids(session)
    active = set(ids)
    chosen = [qid for qid in scoring.due_reviews(session, userid, day) if qid in active][:count]
    seen: set[str] = set()
    for (qids,) in session.execute(
        select(QuizDailySet.question_ids).where(QuizDailySet.userid == userid)
    ):
        seen.update(qids)
    fresh = [qid for qid in ids if qid not in seen and qid not in chosen]
    pool = fresh if len(fresh) >= count - len(chosen) else [q for q in ids if q not in chosen]
    rng = _rng(f"daily:{userid}:{day.isoformat()}")
    chosen += rng.sample(pool, min(count - len(chosen), len(pool)))
    return chosen


def find_set(session: Session, userid: str, day: date) -> QuizDailySet | None:
    """The set `userid` got on `day`, if any (never creates one)."""
    return session.scalar(
        select(QuizDailySet).where(QuizDailySet.userid == userid, QuizDailySet.day == day)
    )


def get_or_create_set(
    session: Session, userid: str, day: date, count: int, now: datetime
) -> QuizDailySet | None:
    """Today's set for `userid` (created once: the unique key decides). None if no questions."""
    existing = find_set(session, userid, day)
    if existing is not None:
        return existing
    ensure_bank(session, now)
    qids = choose_questions(session, userid, day, count)
    if not qids:
        return None
    questions = {q.id: q for q in session.scalars(select(Question).where(Question.id.in_(qids)))}
    perms = [
        permutation_for(
            f"{userid}:{day.isoformat()}:{qid}", len(questions[qid].options), questions[qid].type
        )
        for qid in qids
    ]
    insert_ignore(
        session,
        QuizDailySet,
        {
            "userid": userid,
            "day": day,
            "question_ids": qids,
            "permutations": perms,
            "created_at": now,
        },
    )
    return find_set(session, userid, day)


def answered(session: Session, set_id: int) -> dict[int, QuizAnswer]:
    return {
        a.question_index: a
        for a in session.scalars(select(QuizAnswer).where(QuizAnswer.set_id == set_id))
    }


def next_index(session: Session, daily: QuizDailySet) -> int | None:
    done = answered(session, daily.id)
    for i in range(len(daily.question_ids)):
        if i not in done:
            return i
    return None


@dataclass
class Outcome:
    status: str  # "scored" | "already"
    question: Question
    correct: bool = False
    given_shown: str = ""
    answer_shown: str = ""
    points: int = 0


def _department_now(userid: str):
    return func.coalesce(
        select(User.department_id).where(User.userid == userid).scalar_subquery(),
        counters.NO_DEPARTMENT,
    )


def score_answer(
    session: Session, daily: QuizDailySet, index: int, shown: str, now: datetime
) -> Outcome:
    """Score `shown` (letters as this person saw them) for question `index` of the set, once."""
    qid = daily.question_ids[index]
    perm = daily.permutations[index]
    question = session.get(Question, qid)
    stored = to_stored(shown, perm, question.type)
    correct = stored == question.answer
    points = scoring.points_for(correct)
    row = insert_ignore(
        session,
        QuizAnswer,
        {
            "set_id": daily.id,
            "question_index": index,
            "userid": daily.userid,
            "day": daily.day,
            "question_id": qid,
            "given": stored,
            "correct": correct,
            "points": points,
            "answered_at": now,
            # The person's main department now, read in the same statement; 0 for none, so
            # NULL keeps meaning "stored before 0023" (bot.counters_check falls back then).
            "department_id": _department_now(daily.userid),
        },
        returning=QuizAnswer.department_id,
    ).first()
    answer_shown = to_shown(question.answer, perm, question.type)
    if row is None:
        return Outcome("already", question, answer_shown=answer_shown)
    counters.count_answer(session, daily.userid, row[0], daily.day, correct, points)
    scoring.record_result(session, daily.userid, qid, correct, daily.day, now)
    return Outcome("scored", question, correct, shown, answer_shown, points)


def day_summary(session: Session, daily: QuizDailySet) -> tuple[int, int, int]:
    """(correct, total, points) of the set."""
    done = answered(session, daily.id)
    return (
        sum(1 for a in done.values() if a.correct),
        len(daily.question_ids),
        sum(a.points for a in done.values()),
    )
