"""Today's questions for one person: the stored daily set, and scoring an answer to it."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from bot import bank_cache, counters, prepared
from bot.bank_cache import BankQuestion
from bot.db import attach, bound_insert, bound_insert_ignore
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


# Statements of the first 答题 of each person each day (the chat path), built once.
# On Table columns, not mapped attributes: an ORM select costs several times a Core one, and
# the rows become ORM objects through bot.db.attach where handlers need them.
_Q = Question.__table__
_SETS = QuizDailySet.__table__
_USERS = User.__table__
_ANSWERS = QuizAnswer.__table__
_SEEN = select(_SETS.c.id, _SETS.c.day, _SETS.c.question_ids).where(
    _SETS.c.userid == bindparam("userid")
)
_FIND_SET = select(*_SETS.c).where(
    _SETS.c.userid == bindparam("userid"), _SETS.c.day == bindparam("day")
)
_ANSWERED = select(*_ANSWERS.c).where(_ANSWERS.c.set_id == bindparam("set_id"))
# session.info key: the day's sets this transaction created (no answers yet).
_FRESH = "quiz_fresh_sets"


def active_question_ids(session: Session) -> list[str]:
    """The active questions' ids, in id order, from the process's copy of the bank (it runs
    on the first 答题 of each person each day; see bot.bank_cache for why it is current)."""
    return list(bank_cache.current(session).active_ids)


def load_questions(session: Session, qids: list[str]) -> dict[str, BankQuestion]:
    """The questions with these ids (from the process's copy of the bank; an id no longer in
    the bank is left out)."""
    questions = bank_cache.current(session).questions
    return {qid: questions[qid] for qid in qids if qid in questions}


def question(session: Session, qid: str) -> BankQuestion | None:
    """One question, from the process's copy of the bank (see bot.bank_cache)."""
    return bank_cache.question(session, qid)


def choose_questions(
    session: Session, userid: str, day: date, count: int, seen: set[str] | None = None
) -> list[str]:
    """Due reviews first, then questions this person has not had in a daily set, drawn with a
    seed of (person, day) so the choice is the same whoever computes it. `seen`: the ids of
    the person's earlier sets, if the caller has read them (see _earlier_sets)."""
    ids = active_question_ids(session)
    active = set(ids)
    chosen = [qid for qid in scoring.due_reviews(session, userid, day) if qid in active][:count]
    if seen is None:
        seen, _ = _earlier_sets(session, userid, day)
    fresh = [qid for qid in ids if qid not in seen and qid not in chosen]
    pool = fresh if len(fresh) >= count - len(chosen) else [q for q in ids if q not in chosen]
    rng = _rng(f"daily:{userid}:{day.isoformat()}")
    chosen += rng.sample(pool, min(count - len(chosen), len(pool)))
    return chosen


# The set and its answers in one statement (an answer needs both; see set_with_answers).
_SET_WITH_ANSWERS = (
    select(*_SETS.c, _ANSWERS.c.question_index, _ANSWERS.c.given, _ANSWERS.c.correct)
    .select_from(_SETS.outerjoin(_ANSWERS, _ANSWERS.c.set_id == _SETS.c.id))
    .where(_SETS.c.id == bindparam("id"))
)
_N_SET = len(_SETS.c)


def set_with_answers(session: Session, set_id: int | None) -> tuple[QuizDailySet | None, dict]:
    """(the set with this id, {question index: its answer (.given, .correct)}) in one query,
    for an answer to the daily quiz; (None, {}) if there is no such set."""
    if set_id is None:
        return None, {}
    rows = prepared.run(session, _SET_WITH_ANSWERS, {"id": set_id}).all()
    if not rows:
        return None, {}
    known = session.identity_map.get(session.identity_key(QuizDailySet, set_id))
    day_set = known or attach(
        session, QuizDailySet, dict(zip(_SETS.c.keys(), rows[0][:_N_SET], strict=True))
    )
    done = {
        row.question_index: row
        for row in rows
        if row.question_index is not None  # the outer join's row of a set with no answers
    }
    return day_set, done


def find_set(session: Session, userid: str, day: date) -> QuizDailySet | None:
    """The set `userid` got on `day`, if any (never creates one)."""
    row = prepared.run(session, _FIND_SET, {"userid": userid, "day": day}).first()
    if row is None:
        return None
    known = session.identity_map.get(session.identity_key(QuizDailySet, row.id))
    return known if known is not None else attach(session, QuizDailySet, row._asdict())


def _earlier_sets(session: Session, userid: str, day: date) -> tuple[set[str], int | None]:
    """(the question ids of the person's sets, the id of their set of `day` if any): one
    statement for the first 答题 of the day, which needs both."""
    seen: set[str] = set()
    today = None
    for set_id, set_day, qids in prepared.run(session, _SEEN, {"userid": userid}):
        seen.update(qids)
        if set_day == day:
            today = set_id
    return seen, today


def get_or_create_set(
    session: Session, userid: str, day: date, count: int, now: datetime
) -> QuizDailySet | None:
    """Today's set for `userid` (created once: the unique key decides). None if no questions."""
    seen, today = _earlier_sets(session, userid, day)
    if today is not None:
        return find_set(session, userid, day)
    ensure_bank(session, now)
    qids = choose_questions(session, userid, day, count, seen)
    if not qids:
        return None
    questions = load_questions(session, qids)
    perms = [
        permutation_for(
            f"{userid}:{day.isoformat()}:{qid}", len(questions[qid].options), questions[qid].type
        )
        for qid in qids
    ]
    values = {
        "userid": userid,
        "day": day,
        "question_ids": qids,
        "permutations": perms,
        "created_at": now,
    }
    row = prepared.run(session, _insert_set, values).first()
    if row is None:  # another copy created it first (the unique key decided)
        return find_set(session, userid, day)
    _fresh_sets(session).add(row[0])
    return attach(session, QuizDailySet, {"id": row[0], **values})


def _fresh_sets(session: Session) -> set[int]:
    """Ids of the sets created in this session's current transaction (none answered yet)."""
    txn = session.get_transaction()
    held = session.info.get(_FRESH)
    if held is None or held[0] is not txn:
        held = session.info[_FRESH] = (txn, set())
    return held[1]


@prepared.per_dialect
def _insert_set(dialect: str) -> Any:
    columns = ("userid", "day", "question_ids", "permutations", "created_at")
    return bound_insert_ignore(dialect, _SETS, columns, _SETS.c.id)


def answered(session: Session, set_id: int) -> dict[int, QuizAnswer]:
    out: dict[int, QuizAnswer] = {}
    for row in prepared.run(session, _ANSWERED, {"set_id": set_id}):
        known = session.identity_map.get(session.identity_key(QuizAnswer, row.id))
        out[row.question_index] = (
            known if known is not None else attach(session, QuizAnswer, row._asdict())
        )
    return out


def next_index(
    session: Session, daily: QuizDailySet, done: dict[int, object] | None = None
) -> int | None:
    """The first unanswered question of the set; `done` as answered() returned it, if the
    caller has it already (a set created in this transaction has no answers: no query)."""
    if done is None:
        done = {} if daily.id in _fresh_sets(session) else answered(session, daily.id)
    for i in range(len(daily.question_ids)):
        if i not in done:
            return i
    return None


@dataclass
class Outcome:
    status: str  # "scored" | "already"
    question: Question | BankQuestion
    correct: bool = False
    given_shown: str = ""
    answer_shown: str = ""
    points: int = 0


_ANSWER_COLUMNS = (
    "set_id",
    "question_index",
    "userid",
    "day",
    "question_id",
    "given",
    "correct",
    "points",
    "answered_at",
)


@prepared.per_dialect
def _insert_answer(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING department_id: every answer runs it, and
    building it (with its subquery) costs more than executing it. On PostgreSQL the counters'
    upserts ride in the same statement (counters.answer_with_counts)."""
    # The person's main department now, read in the same statement; 0 for none, so NULL
    # keeps meaning "stored before 0023" (bot.counters_check falls back then).
    department_now = func.coalesce(
        select(_USERS.c.department_id)
        .where(_USERS.c.userid == bindparam("owner"))
        .scalar_subquery(),
        counters.NO_DEPARTMENT,
    )
    stmt = (
        bound_insert(dialect, _ANSWERS, _ANSWER_COLUMNS)
        .values(department_id=department_now)
        .on_conflict_do_nothing()
        .returning(_ANSWERS.c.department_id)
    )
    return counters.answer_with_counts(stmt) if dialect == "postgresql" else stmt


def score_answer(
    session: Session, daily: QuizDailySet, index: int, shown: str, now: datetime
) -> Outcome:
    """Score `shown` (letters as this person saw them) for question `index` of the set, once."""
    qid = daily.question_ids[index]
    perm = daily.permutations[index]
    question = bank_cache.question(session, qid)
    stored = to_stored(shown, perm, question.type)
    correct = stored == question.answer
    points = scoring.points_for(correct)
    values = (daily.id, index, daily.userid, daily.day, qid, stored, correct, points, now)
    params = dict(zip(_ANSWER_COLUMNS, values, strict=True))
    row = prepared.run(
        session, _insert_answer, {**params, "owner": daily.userid, "right": int(correct)}
    ).first()
    answer_shown = to_shown(question.answer, perm, question.type)
    _fresh_sets(session).discard(daily.id)
    if row is None:
        return Outcome("already", question, answer_shown=answer_shown)
    if session.get_bind().dialect.name != "postgresql":  # there the statement counted it
        counters.count_answer(session, daily.userid, row[0], daily.day, correct, points, qid)
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
