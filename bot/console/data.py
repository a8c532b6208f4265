"""The figures behind the dashboard and the campaign summary, limited to a Scope.

Query functions take the session first and never commit. Days are local (settings.tz) days.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal_column, select
from sqlalchemy.orm import Session

from bot.console.auth import Scope
from bot.counters import ELSEWHERE
from bot.db import is_postgres
from bot.hazard import queries, states
from bot.models import (
    Department,
    DepartmentDayActive,
    DepartmentDayCounts,
    DepartmentTotals,
    EventAttendance,
    HazardReport,
    PledgeSignature,
    Question,
    QuestionCounts,
    Suggestion,
    User,
)
from bot.pledge.completion import completion_counts
from bot.quiz.bank import theme_titles

ALL = Scope(None)


class _StatusLabels(Mapping[str, str]):
    """status -> label, read through bot.hazard.states.status_label (content
    `hazard.statuses`) on every lookup, so the console says what chat and exports say."""

    def __getitem__(self, status: str) -> str:
        if status not in states.STATUSES:
            raise KeyError(status)
        return states.status_label(status)

    def __iter__(self) -> Iterator[str]:
        return iter(states.STATUSES)

    def __len__(self) -> int:
        return len(states.STATUSES)


STATUS_LABELS: Mapping[str, str] = _StatusLabels()


def local_day(session: Session, column, now: datetime, tz) -> Any:
    """SQL for the local date ('YYYY-MM-DD') of a UTC timestamp column.

    Uses the zone's offset at `now`: right for Asia/Shanghai (no daylight saving time).
    """
    minutes = int(now.astimezone(tz).utcoffset().total_seconds() // 60)
    if is_postgres(session):
        shifted = column + literal_column(f"interval '{minutes} minutes'")
        return func.to_char(shifted, "YYYY-MM-DD")
    return func.date(column, f"{minutes:+d} minutes")


def department_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Department.id, Department.name)).all())


def departments_in(session: Session, scope: Scope) -> list[tuple[int, str]]:
    """Departments with members in scope, in directory order."""
    rows = session.execute(
        select(Department.id, Department.name)
        .where(scope.filter(Department.id))
        .order_by(Department.order, Department.id)
    )
    return [(i, n) for i, n in rows]


def members(session: Session, scope: Scope) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.status == 1, scope.filter(User.department_id))
            .order_by(User.userid)
        )
    )


def member_counts(session: Session, scope: Scope) -> dict[int | None, int]:
    """Active members per main department, counted in SQL."""
    return dict(
        session.execute(
            select(User.department_id, func.count())
            .where(User.status == 1, scope.filter(User.department_id))
            .group_by(User.department_id)
        ).all()
    )


# -- per day ------------------------------------------------------------------------------------
def participation_by_day(
    session: Session, scope: Scope, now: datetime, tz, days: int = 30
) -> list[tuple[str, int]]:
    """People who used the bot (any message, click or check-in) per local day: how many use
    it, which is not the campaign's participation (bot.participation).

    Summed from department_day_active (daily_activity's rows counted per department and day
    by the dispatcher, in the message's transaction): a few thousand rows instead of one per
    person and day. A person counts in the department they were in when they first wrote that
    day, as daily_activity records it."""
    since = now.astimezone(tz).date() - timedelta(days=days)
    a = DepartmentDayActive
    rows = session.execute(
        select(a.day, func.sum(a.people))
        .where(a.day > since, scope.filter(a.department_id))
        .group_by(a.day)
        .having(func.sum(a.people) > 0)
        .order_by(a.day)
    )
    return [(d.isoformat() if isinstance(d, date) else str(d), int(n)) for d, n in rows]


def checkins_by_day(session: Session, scope: Scope) -> list[tuple[str, int]]:
    """Daily 打卡 per local day, summed from department_day_counts (the check-in's department,
    as daily_checkins stores it) instead of counting a million check-ins."""
    d = DepartmentDayCounts
    where = (
        True
        if scope.departments is None
        else d.department_id.in_(sorted(scope.departments) or [-1])
    )
    rows = session.execute(
        select(d.day, func.sum(d.checkins))
        .where(where)
        .group_by(d.day)
        .having(func.sum(d.checkins) > 0)
        .order_by(d.day)
    )
    return [(x.isoformat() if isinstance(x, date) else str(x), int(n)) for x, n in rows]


def fill_days(series: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The series with missing days between its first and last as zero (charts need them)."""
    if not series:
        return []
    values = dict(series)
    start, end = date.fromisoformat(series[0][0]), date.fromisoformat(series[-1][0])
    out = []
    d = start
    while d <= end:
        out.append((d.isoformat(), values.get(d.isoformat(), 0)))
        d += timedelta(days=1)
    return out


# -- pledges ------------------------------------------------------------------------------------
def pledge_by_department(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Signed / in scope per main department; 'signed' means the current version of the text
    that applies to the member (the pledge feature's rule)."""

    names = department_names(session)
    out = {
        dept: {"department_id": dept, "name": names.get(dept or 0, "-"), "signed": k, "members": n}
        for dept, n, k in completion_counts(session, scope.departments)
    }
    rows = sorted(out.values(), key=lambda r: (r["department_id"] is None, r["department_id"] or 0))
    for r in rows:
        r["rate"] = r["signed"] / r["members"] if r["members"] else 0.0
    return rows


def signatures(session: Session, scope: Scope) -> list[PledgeSignature]:
    return list(
        session.scalars(
            select(PledgeSignature)
            .where(scope.filter(PledgeSignature.department_id))
            .order_by(PledgeSignature.signed_at)
        )
    )


# -- quiz ---------------------------------------------------------------------------------------
def quiz_by_theme(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Answers and correct answers per theme, summed from question_counts (per department and
    question, kept in the answer's own transaction): a few thousand rows instead of every
    answer.

    As in per_department, an answer belongs to the department the person was in when they
    answered (before the counters, a scoped table counted the answers of the scope's current
    members).
    """

    titles = theme_titles()
    qc = QuestionCounts
    where = scope.filter(qc.department_id)
    rows = session.execute(
        select(Question.theme, func.sum(qc.answers), func.sum(qc.correct))
        .join(Question, Question.id == qc.question_id)
        .where(where)
        .group_by(Question.theme)
        .having(func.sum(qc.answers) > 0)
        .order_by(Question.theme)
    )
    out = []
    for theme, answered, right in rows:
        right = int(right or 0)
        out.append(
            {
                "theme": theme,
                "title": titles.get(theme, theme),
                "answered": int(answered),
                "correct": right,
                "rate": right / answered if answered else 0.0,
            }
        )
    return out


# -- hazards ------------------------------------------------------------------------------------
def hazard_counts(session: Session, scope: Scope) -> dict[str, int]:
    rows = dict(
        session.execute(
            select(HazardReport.status, func.count())
            .where(scope.filter(HazardReport.department_id))
            .group_by(HazardReport.status)
        ).all()
    )
    return {s: int(rows.get(s, 0)) for s in states.STATUSES}


def is_overdue(h: HazardReport, today: date) -> bool:
    return queries.days_overdue(h, today) > 0


def hazard_ids(
    session: Session,
    scope: Scope,
    today: date,
    *,
    status: str | None = None,
    where: Sequence[Any] = (),
) -> list[int]:
    """The ledger's order as ids: overdue items first (most overdue first), then open ones,
    newest first; `where` narrows it further (bot.hazard.queries.LedgerFilter.clauses). Sorted
    on three columns, so a page loads only its own reports (loading every report as an
    object to sort them took most of the hazards page's second)."""
    stmt = select(HazardReport.id, HazardReport.status, HazardReport.deadline).where(
        scope.filter(HazardReport.department_id), *where
    )
    if status:
        stmt = stmt.where(HazardReport.status == status)
    rows = list(session.execute(stmt.order_by(HazardReport.id.desc())))
    rows.sort(
        key=lambda h: (
            not is_overdue(h, today),
            h.deadline or date.max if is_overdue(h, today) else date.max,
            h.status not in states.OPEN_STATUSES,
        )
    )
    return [h.id for h in rows]


def hazards_by_id(session: Session, ids: Sequence[int]) -> list[HazardReport]:
    """The reports with these ids, in the order given."""
    found = {h.id: h for h in session.scalars(select(HazardReport).where(HazardReport.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def hazards(
    session: Session,
    scope: Scope,
    today: date,
    *,
    status: str | None = None,
    limit: int | None = None,
    where: Sequence[Any] = (),
) -> list[HazardReport]:
    """The ledger in hazard_ids' order (the first `limit`)."""
    ids = hazard_ids(session, scope, today, status=status, where=where)
    return hazards_by_id(session, ids[:limit] if limit else ids)


# -- per department ----------------------------------------------------------------------------
def _members_and_participants(session: Session, scope: Scope):
    """(main department or None, active members, of them who took part), read from the
    department_totals counter (bot.participation's definition, the one 排行 reads too):
    a few hundred rows instead of a pass over every member joined to person_totals.
    Department 0 there is "no main department"; ELSEWHERE (people who are not active
    members) is no department's."""
    t = DepartmentTotals
    rows = session.execute(
        select(t.department_id, func.sum(t.members), func.sum(t.participants))
        .where(t.department_id != ELSEWHERE, scope.filter(t.department_id))
        .group_by(t.department_id)
    )
    return [(d or None, int(n), int(j)) for d, n, j in rows if n]


def _day_counts(session: Session, scope: Scope):
    """(department or None, quiz answers, correct, check-ins) summed over days from
    department_day_counts (department 0 there stands for none)."""
    dept = DepartmentDayCounts.department_id
    where = True if scope.departments is None else dept.in_(sorted(scope.departments) or [-1])
    rows = session.execute(
        select(
            dept,
            func.sum(DepartmentDayCounts.quiz_answers),
            func.sum(DepartmentDayCounts.quiz_correct),
            func.sum(DepartmentDayCounts.checkins),
        )
        .where(where)
        .group_by(dept)
    )
    return [(d or None, int(n or 0), int(c or 0), int(k or 0)) for d, n, c, k in rows]


def per_department(
    session: Session, scope: Scope, pledges: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """One row per department: members, participants, quiz, pledges, check-ins, hazards.

    Read from the counters (bot.models.counters), so it reads thousands of rows, not millions:
    members and participants from department_totals (active members per main department and
    how many of them took part: bot.participation's definition, the same counter 排行 reads);
    quiz answers, correct answers and check-ins from department_day_counts summed over the days.

    Quiz answers are attributed to the department the person belonged to when they answered
    (as check-ins always were), and they stay with it when the person moves or leaves; before
    the counters they were summed over the current members of each department. Pass `pledges`
    (pledge_by_department's rows) when you already have them: they cost a pass over every
    member.
    """
    names = department_names(session)
    rows: dict[int | None, dict[str, Any]] = {}

    def row(dept: int | None) -> dict[str, Any]:
        return rows.setdefault(
            dept,
            {
                "department_id": dept,
                "name": names.get(dept or 0, "-"),
                "members": 0,
                "participants": 0,
                "quiz_answers": 0,
                "quiz_correct": 0,
                "pledges_signed": 0,
                "checkins": 0,
                "attendance": 0,
                "hazards": 0,
                "hazards_closed": 0,
                "suggestions": 0,
            },
        )

    for dept, n, joined in _members_and_participants(session, scope):
        r = row(dept)
        r["members"] += int(n)
        r["participants"] += int(joined or 0)
    for dept, n, right, checkins in _day_counts(session, scope):
        if not (n or right or checkins):
            continue
        r = row(dept)
        r["quiz_answers"] += n
        r["quiz_correct"] += right
        r["checkins"] += checkins
    for p in pledge_by_department(session, scope) if pledges is None else pledges:
        row(p["department_id"])["pledges_signed"] = p["signed"]
    for dept, n in session.execute(
        select(EventAttendance.department_id, func.count())
        .where(scope.filter(EventAttendance.department_id))
        .group_by(EventAttendance.department_id)
    ):
        row(dept)["attendance"] += int(n)
    closed = func.sum(case((HazardReport.status == "closed", 1), else_=0))
    for dept, n, c in session.execute(
        select(HazardReport.department_id, func.count(), closed)
        .where(scope.filter(HazardReport.department_id))
        .group_by(HazardReport.department_id)
    ):
        r = row(dept)
        r["hazards"] += int(n)
        r["hazards_closed"] += int(c or 0)
    for dept, n in session.execute(
        select(Suggestion.department_id, func.count())
        .where(scope.filter(Suggestion.department_id))
        .group_by(Suggestion.department_id)
    ):
        row(dept)["suggestions"] += int(n)
    out = sorted(rows.values(), key=lambda r: (r["department_id"] is None, r["department_id"] or 0))
    for r in out:
        r["quiz_rate"] = r["quiz_correct"] / r["quiz_answers"] if r["quiz_answers"] else 0.0
        r["pledge_rate"] = r["pledges_signed"] / r["members"] if r["members"] else 0.0
    return out


def overview(
    session: Session,
    scope: Scope,
    today: date,
    dept_rows: list[dict[str, Any]] | None = None,
    counts: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The totals of per_department (pass its rows, and hazard_counts, when you have them)."""
    dept_rows = per_department(session, scope) if dept_rows is None else dept_rows
    counts = hazard_counts(session, scope) if counts is None else counts
    total = lambda key: sum(r[key] for r in dept_rows)  # noqa: E731
    members_n = total("members")
    answers = total("quiz_answers")
    return {
        "members": members_n,
        "participants": total("participants"),
        "participation_rate": total("participants") / members_n if members_n else 0.0,
        "quiz_answers": answers,
        "quiz_correct": total("quiz_correct"),
        "quiz_rate": total("quiz_correct") / answers if answers else 0.0,
        "pledges_signed": total("pledges_signed"),
        "pledge_rate": total("pledges_signed") / members_n if members_n else 0.0,
        "checkins": total("checkins"),
        "attendance": total("attendance"),
        "hazards": sum(counts.values()),
        "hazards_closed": counts.get("closed", 0),
        "hazards_overdue": overdue_count(session, scope, today),
        "suggestions": total("suggestions"),
        "hazard_counts": counts,
    }


def overdue_count(session: Session, scope: Scope, today: date) -> int:
    """Hazards past their deadline (bot.hazard.queries.days_overdue), in scope: only the
    open ones with a deadline can be, so only those are loaded."""
    rows = session.scalars(
        select(HazardReport).where(
            scope.filter(HazardReport.department_id),
            HazardReport.status.in_(states.UNFIXED_STATUSES),
            HazardReport.deadline.is_not(None),
            HazardReport.deadline < today,
        )
    )
    return sum(1 for h in rows if is_overdue(h, today))
