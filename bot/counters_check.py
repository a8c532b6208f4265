"""The proof of the running totals: recompute them from the raw rows, report drift, repair.

What each counter must equal (the same definitions the writers in bot.counters follow):

- person_totals.points / answers / correct: the sums over the person's quiz_answers;
- person_totals.took_part_on: set (not NULL) exactly for bot.participation's participants.
  Only presence is compared: the exact first day is informational (a repair writes the earliest
  quiz or check-in day, else today). No code path deletes a raw row of participation, so a
  person never stops having taken part;
- department_day_counts, per (department, day): the quiz answers, right answers and points by
  the department stored on the answer (answers stored before 0023 have none: the person's
  current main department stands in), and the daily check-ins by theirs; 0 = no department;
- question_counts, per (department, question): the answers and right answers to that daily
  question, the department chosen as for department_day_counts;
- department_totals, per department (its two rows added): the active members whose main
  department it is (0: active members without one), and the points and participation in
  person_totals of the people it holds (-1, ELSEWHERE: everyone not an active member). It
  summarises person_totals and users, so it is checked against those two, read in the same
  snapshot (person_totals being checked against the raw rows above); its triggers carry a
  repair of person_totals over to it.
- department_day_active, per (department, day): daily_activity's rows (the people who used
  the bot that day), by the department stored on the row, 0 for none.
- pledge_counts, per (department, text hash): the active members (status 1) whose main
  department is now that one (0 = none) and who have signed that text.

A row whose counters are all zero (and took_part_on NULL) means the same as no row.
Everything is grouped in SQL and compared in Python dicts: at 100,000 members × 30 days that
is a few hundred thousand rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, delete, func, insert, literal_column, select, text, tuple_
from sqlalchemy.orm import Session

from bot.counters import ELSEWHERE, NO_DEPARTMENT
from bot.db import chunks, dialect_insert, is_postgres
from bot.models import (
    DailyActivity,
    DailyCheckin,
    DepartmentDayActive,
    DepartmentDayCounts,
    DepartmentTotals,
    PersonTotals,
    PledgeCounts,
    PledgeSignature,
    QuestionCounts,
    QuizAnswer,
    User,
)
from bot.participation import participants_from_rows

PERSON_FIELDS = ("points", "answers", "correct", "took_part")
DAY_FIELDS = ("quiz_answers", "quiz_correct", "quiz_points", "checkins")
QUESTION_FIELDS = ("answers", "correct")
TOTAL_FIELDS = ("members", "points", "participants")
ACTIVE_FIELDS = ("people",)
PLEDGE_FIELDS = ("signed",)
_ZERO_DAY = (0, 0, 0, 0)
_ZERO_QUESTION = (0, 0)
_ZERO_TOTAL = (0, 0, 0)
_ZERO_ACTIVE = (0,)


@dataclass(frozen=True)
class PersonRow:
    points: int = 0
    answers: int = 0
    correct: int = 0
    took_part_on: date | None = None

    def values(self) -> tuple:
        return (self.points, self.answers, self.correct, self.took_part_on is not None)

    def is_empty(self) -> bool:
        return self.values() == (0, 0, 0, False)


@dataclass
class Expected:
    people: dict[str, PersonRow]
    days: dict[tuple[int, date], tuple[int, int, int, int]]
    questions: dict[tuple[int, str], tuple[int, int]]
    active: dict[tuple[int, date], tuple[int]]
    pledges: dict[tuple[int, str], tuple[int]]


@dataclass(frozen=True)
class Drift:
    """One counter that differs from its raw rows: `key` is (userid,) for a person,
    (department_id, day) for a department's day, (department_id, question_id) for a
    department's question, (department_id,) for a department's totals, (department_id,
    text_hash) for a department's 责任书 text."""

    # "person_totals" | "department_day_counts" | "question_counts" | "department_day_active"
    # | "department_totals" | "pledge_counts"
    table: str
    key: tuple
    field: str
    expected: int | bool
    actual: int | bool


def recompute(session: Session, today: date | None = None) -> Expected:
    """What both tables must hold, from the raw rows."""
    today = today or date.today()
    quiz = {
        userid: (int(points or 0), int(n), int(right or 0), first)
        for userid, points, n, right, first in session.execute(
            select(
                QuizAnswer.userid,
                func.sum(QuizAnswer.points),
                func.count(),
                func.sum(case((QuizAnswer.correct, 1), else_=0)),
                func.min(QuizAnswer.day),
            ).group_by(QuizAnswer.userid)
        )
    }
    first_checkin = dict(
        session.execute(
            select(DailyCheckin.userid, func.min(DailyCheckin.day)).group_by(DailyCheckin.userid)
        ).all()
    )
    people: dict[str, PersonRow] = {}
    for userid in participants_from_rows(session):
        points, n, right, first_quiz = quiz.get(userid, (0, 0, 0, None))
        days = [d for d in (first_quiz, first_checkin.get(userid)) if d is not None]
        people[userid] = PersonRow(points, n, right, min(days) if days else today)

    # Literal 0s, not bound parameters: PostgreSQL must see the grouped expression and the
    # selected one as the same text.
    zero = literal_column(str(NO_DEPARTMENT))
    # The person's current department only for answers stored before 0023: a correlated
    # subquery that COALESCE never evaluates for the others (half the time of a join on
    # SQLite, where every answer would be joined).
    current = select(User.department_id).where(User.userid == QuizAnswer.userid).scalar_subquery()
    department = func.coalesce(QuizAnswer.department_id, current, zero)
    days: dict[tuple[int, date], list[int]] = {}
    for dept, day, n, right, points in session.execute(
        select(
            department,
            QuizAnswer.day,
            func.count(),
            func.sum(case((QuizAnswer.correct, 1), else_=0)),
            func.sum(QuizAnswer.points),
        ).group_by(department, QuizAnswer.day)
    ):
        days[(int(dept), day)] = [int(n), int(right or 0), int(points or 0), 0]
    checkin_department = func.coalesce(DailyCheckin.department_id, zero)
    for dept, day, n in session.execute(
        select(checkin_department, DailyCheckin.day, func.count()).group_by(
            checkin_department, DailyCheckin.day
        )
    ):
        days.setdefault((int(dept), day), [0, 0, 0, 0])[3] = int(n)
    questions = {
        (int(dept), qid): (int(n), int(right or 0))
        for dept, qid, n, right in session.execute(
            select(
                department,
                QuizAnswer.question_id,
                func.count(),
                func.sum(case((QuizAnswer.correct, 1), else_=0)),
            ).group_by(department, QuizAnswer.question_id)
        )
    }
    return Expected(
        people,
        {key: tuple(v) for key, v in days.items()},
        questions,
        _active_from_rows(session),
        _pledges(session),
    )


def _active_from_rows(session: Session) -> dict[tuple[int, date], tuple[int]]:
    """People who used the bot per (department, day): daily_activity's rows counted."""
    department = func.coalesce(DailyActivity.department_id, literal_column(str(NO_DEPARTMENT)))
    return {
        (int(dept), day): (int(n),)
        for dept, day, n in session.execute(
            select(department, DailyActivity.day, func.count()).group_by(
                department, DailyActivity.day
            )
        )
    }


def _pledges(session: Session) -> dict[tuple[int, str], tuple[int]]:
    department = func.coalesce(User.department_id, literal_column(str(NO_DEPARTMENT)))
    return {
        (int(dept), text_hash): (int(n),)
        for dept, text_hash, n in session.execute(
            select(department, PledgeSignature.text_hash, func.count())
            .join(User, User.userid == PledgeSignature.userid)
            .where(User.status == 1)
            .group_by(department, PledgeSignature.text_hash)
        )
    }


def _recorded(session: Session) -> tuple[dict, dict, dict, dict, dict]:
    people = {
        userid: PersonRow(points, answers, correct, first)
        for userid, points, answers, correct, first in session.execute(
            select(
                PersonTotals.userid,
                PersonTotals.points,
                PersonTotals.answers,
                PersonTotals.correct,
                PersonTotals.took_part_on,
            )
        )
    }
    d = DepartmentDayCounts
    days = {
        (dept, day): (qa, qc, qp, ci)
        for dept, day, qa, qc, qp, ci in session.execute(
            select(
                d.department_id, d.day, d.quiz_answers, d.quiz_correct, d.quiz_points, d.checkins
            )
        )
    }
    q = QuestionCounts
    questions = {
        (dept, qid): (n, c)
        for dept, qid, n, c in session.execute(
            select(q.department_id, q.question_id, q.answers, q.correct)
        )
    }
    a = DepartmentDayActive
    active = {
        (dept, day): (n,)
        for dept, day, n in session.execute(select(a.department_id, a.day, a.people))
    }

    p = PledgeCounts
    pledges = {
        (dept, text_hash): (n,)
        for dept, text_hash, n in session.execute(select(p.department_id, p.text_hash, p.signed))
    }
    return people, days, questions, active, pledges


def _table_drifts(table: str, fields: tuple, wanted: dict, recorded: dict, zero: tuple):
    """The fields that differ between `wanted` and `recorded` (key -> values; a missing key
    reads as `zero`), in key order."""
    drifts: list[Drift] = []
    for key in sorted(wanted.keys() | recorded.keys()):
        want, have = wanted.get(key, zero), recorded.get(key, zero)
        drifts += [
            Drift(table, key, field, w, h)
            for field, w, h in zip(fields, want, have, strict=True)
            if w != h
        ]
    return drifts


def _compare(
    expected: Expected, people: dict, days: dict, questions: dict, active: dict, pledges: dict
) -> list[Drift]:
    def by_person(rows: dict) -> dict:
        return {(userid,): row.values() for userid, row in rows.items()}

    return (
        _table_drifts(
            "person_totals",
            PERSON_FIELDS,
            by_person(expected.people),
            by_person(people),
            PersonRow().values(),
        )
        + _table_drifts("department_day_counts", DAY_FIELDS, expected.days, days, _ZERO_DAY)
        + _table_drifts(
            "question_counts", QUESTION_FIELDS, expected.questions, questions, _ZERO_QUESTION
        )
        + _table_drifts(
            "department_day_active", ACTIVE_FIELDS, expected.active, active, _ZERO_ACTIVE
        )
        + _table_drifts("pledge_counts", PLEDGE_FIELDS, expected.pledges, pledges, (0,))
    )


def check(session: Session, today: date | None = None) -> list[Drift]:
    """Every counter that differs from its raw rows (empty: the tables are right).

    Read in one snapshot (the caller's transaction; on PostgreSQL open it REPEATABLE READ to
    check under live traffic: writers commit a raw row and its counters together)."""
    expected = recompute(session, today)
    return _compare(expected, *_recorded(session)) + totals_drift(session)


# -- department_totals -----------------------------------------------------------------------
def member_key():
    """The department_totals row a users row counts in (the triggers' expression)."""
    return case(
        (User.status == 1, func.coalesce(User.department_id, literal_column(str(NO_DEPARTMENT)))),
        else_=literal_column(str(ELSEWHERE)),
    )


def expected_totals(session: Session) -> dict[int, tuple[int, int, int]]:
    """department -> (members, points, participants) from users and person_totals."""
    out: dict[int, list[int]] = {}
    key = member_key()
    for dept, n in session.execute(select(key, func.count()).where(User.status == 1).group_by(key)):
        out.setdefault(int(dept), [0, 0, 0])[0] = int(n)
    person_key = func.coalesce(key, literal_column(str(ELSEWHERE)))
    took_part = case((PersonTotals.took_part_on.is_not(None), 1), else_=0)
    for dept, points, joined in session.execute(
        select(person_key, func.sum(PersonTotals.points), func.sum(took_part))
        .outerjoin(User, User.userid == PersonTotals.userid)
        .group_by(person_key)
    ):
        row = out.setdefault(int(dept), [0, 0, 0])
        row[1], row[2] = int(points or 0), int(joined or 0)
    return {d: tuple(v) for d, v in out.items()}


def recorded_totals(session: Session) -> dict[int, tuple[int, int, int]]:
    """department -> (members, points, participants) as recorded (its two rows added)."""
    t = DepartmentTotals
    return {
        int(d): (int(n), int(p), int(j))
        for d, n, p, j in session.execute(
            select(
                t.department_id, func.sum(t.members), func.sum(t.points), func.sum(t.participants)
            ).group_by(t.department_id)
        )
    }


def totals_drift(session: Session) -> list[Drift]:
    """department_totals' drift from users and person_totals as they are (check() includes it)."""

    def by_department(rows: dict) -> dict:
        return {(dept,): values for dept, values in rows.items()}

    return _table_drifts(
        "department_totals",
        TOTAL_FIELDS,
        by_department(expected_totals(session)),
        by_department(recorded_totals(session)),
        _ZERO_TOTAL,
    )


def _rewrite_totals(session: Session, drifts: list[Drift]) -> None:
    """The drifted departments' totals set to their recomputed values (in the row of source
    0; the row of source 1 removed)."""
    depts = sorted({d.key[0] for d in drifts})
    if not depts:
        return
    wanted = expected_totals(session)
    t = DepartmentTotals.__table__
    session.execute(delete(t).where(t.c.department_id.in_(depts)))
    rows = [
        {"department_id": d, "source": 0, **dict(zip(TOTAL_FIELDS, wanted[d], strict=True))}
        for d in depts
        if d in wanted
    ]
    if rows:
        session.execute(insert(t), rows)


def repair(session: Session, today: date | None = None) -> list[Drift]:
    """Rewrite the drifted rows to their recomputed values; returns what was wrong.

    On PostgreSQL the counter tables are locked first (writers wait, then add their increment
    to the repaired value), so a concurrent answer is neither lost nor counted twice; SQLite's
    write lock (BEGIN IMMEDIATE) already serialises the writers."""
    if is_postgres(session):
        session.execute(
            # users first: a directory sync holding users rows takes person_totals rows
            # (department_totals' trigger) before it commits.
            text(
                "LOCK TABLE users, person_totals, department_totals, department_day_counts,"
                " question_counts, department_day_active, pledge_counts IN EXCLUSIVE MODE"
            )
        )
    expected = recompute(session, today)
    drifts = _compare(expected, *_recorded(session))
    _rewrite_people(session, {d.key[0] for d in drifts if d.table == "person_totals"}, expected)
    _rewrite_keyed(
        session,
        DepartmentDayCounts.__table__,
        ("department_id", "day"),
        DAY_FIELDS,
        {d.key for d in drifts if d.table == "department_day_counts"},
        expected.days,
    )
    _rewrite_keyed(
        session,
        QuestionCounts.__table__,
        ("department_id", "question_id"),
        QUESTION_FIELDS,
        {d.key for d in drifts if d.table == "question_counts"},
        expected.questions,
    )
    _rewrite_keyed(
        session,
        DepartmentDayActive.__table__,
        ("department_id", "day"),
        ACTIVE_FIELDS,
        {d.key for d in drifts if d.table == "department_day_active"},
        expected.active,
    )
    _rewrite_keyed(
        session,
        PledgeCounts.__table__,
        ("department_id", "text_hash"),
        PLEDGE_FIELDS,
        {d.key for d in drifts if d.table == "pledge_counts"},
        expected.pledges,
    )
    # department_totals last: the triggers have carried the person rows' repair over to it,
    # so it is compared again now, and what is still off is rewritten.
    totals = totals_drift(session)
    _rewrite_totals(session, totals)
    # An existing first day stays: it is when the person really first took part.
    return drifts + totals


def _rewrite_people(session: Session, userids: set[str], expected: Expected) -> None:
    if not userids:
        return
    t = PersonTotals.__table__
    ordered = sorted(userids)
    recorded: dict[str, date | None] = {}
    # In bounded lists: PostgreSQL takes at most 65,535 parameters per statement, and a repair
    # after a bad import or restore can cover every member.
    for part in chunks(ordered, 1000):
        recorded.update(
            session.execute(select(t.c.userid, t.c.took_part_on).where(t.c.userid.in_(part))).all()
        )
    rows, gone = [], []
    for userid in ordered:
        want = expected.people.get(userid)
        if want is None:
            gone.append(userid)
            continue
        rows.append(
            {
                "userid": userid,
                "points": want.points,
                "answers": want.answers,
                "correct": want.correct,
                "took_part_on": recorded.get(userid) or want.took_part_on,
            }
        )
    for start in range(0, len(gone), 1000):
        session.execute(delete(t).where(t.c.userid.in_(gone[start : start + 1000])))
    if rows:
        stmt = dialect_insert(session.get_bind().dialect.name)(t)
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c.userid],
            set_={c: stmt.excluded[c] for c in ("points", "answers", "correct", "took_part_on")},
        )
        for start in range(0, len(rows), 1000):
            session.execute(stmt, rows[start : start + 1000])


def _rewrite_keyed(
    session: Session, table, key_columns: tuple[str, str], fields, keys: set[tuple], wanted: dict
) -> None:
    """Rows of a counter table keyed by two columns set to `wanted` (missing: deleted)."""
    if not keys:
        return
    rows, gone = [], []
    for key in sorted(keys):
        want = wanted.get(key)
        if want is None:
            gone.append(key)
            continue
        rows.append(
            {**dict(zip(key_columns, key, strict=True)), **dict(zip(fields, want, strict=True))}
        )
    key_cols = [table.c[name] for name in key_columns]
    for start in range(0, len(gone), 500):
        session.execute(delete(table).where(tuple_(*key_cols).in_(gone[start : start + 500])))
    if rows:
        stmt = dialect_insert(session.get_bind().dialect.name)(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=key_cols, set_={c: stmt.excluded[c] for c in fields}
        )
        for start in range(0, len(rows), 1000):
            session.execute(stmt, rows[start : start + 1000])
