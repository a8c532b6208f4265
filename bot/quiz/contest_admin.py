"""Correcting a contest: edit it or replace a question before it opens, void a wrong question
after, cancel it; and the opening notice to staff (a job, once per contest).

Each function takes a session and never commits (the console request or the job owns the
transaction); a refusal is a ContestError whose message is shown to the officer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.content import texts
from bot.directory import active_members
from bot.localtime import stamp
from bot.messages import text_message
from bot.models import Contest, ContestAttempt, Question
from bot.outbox import enqueue
from bot.quiz import scoring
from bot.quiz.contest import (
    ContestError,
    contest_questions,
    correct_counted,
    finish_attempt,
    question_pool,
    voided,
)
from bot.services import Services

STATUSES = ("upcoming", "open", "closed", "cancelled")


def status(contest: Contest, now: datetime) -> str:
    """upcoming | open | closed | cancelled (closed once its time is up, job run or not)."""
    if contest.cancelled_at is not None:
        return "cancelled"
    if contest.closed_at is not None or contest.closes_at <= now:
        return "closed"
    if contest.opens_at > now:
        return "upcoming"
    return "open"


def status_label(contest: Contest, now: datetime) -> str:
    return texts.get(f"contest.status.{status(contest, now)}")


def attempts_count(session: Session, contest_id: int) -> int:
    return session.scalar(
        select(func.count())
        .select_from(ContestAttempt)
        .where(ContestAttempt.contest_id == contest_id)
    )


def _not_opened(session: Session, contest: Contest, now: datetime) -> None:
    if status(contest, now) != "upcoming" or attempts_count(session, contest.id):
        raise ContestError(texts.get("contest.admin.already_open"))


def edit_contest(
    session: Session,
    contest: Contest,
    *,
    name: str,
    opens_at: datetime,
    closes_at: datetime,
    now: datetime,
) -> list[str]:
    """Title and times, before the opening. Returns what changed ("name", "opens_at", …)."""
    _not_opened(session, contest, now)
    name = name.strip()
    if not name:
        raise ContestError(texts.get("contest.admin.no_name"))
    if len(name) > 128:
        raise ContestError(texts.get("contest.admin.name_too_long"))
    if closes_at <= opens_at:
        raise ContestError(texts.get("contest.admin.bad_times"))
    if closes_at <= now:
        raise ContestError(texts.get("contest.admin.closes_past"))
    changed = [
        field
        for field, value in (("name", name), ("opens_at", opens_at), ("closes_at", closes_at))
        if getattr(contest, field) != value
    ]
    contest.name, contest.opens_at, contest.closes_at = name, opens_at, closes_at
    session.flush()
    return changed


def replace_question(
    session: Session, contest: Contest, number: int, new_id: str, now: datetime
) -> tuple[str, str]:
    """Question `number` (from 1) of the set becomes `new_id`, or, with no id, another
    question of the contest's themes drawn at random. Before the opening only."""
    _not_opened(session, contest, now)
    qids = contest_questions(session, contest)
    if not 1 <= number <= len(qids):
        raise ContestError(texts.get("contest.admin.bad_number", count=len(qids)))
    new_id = new_id.strip()
    if new_id:
        question = session.get(Question, new_id)
        if question is None or not question.active:
            raise ContestError(texts.get("contest.admin.no_question", id=new_id))
        if new_id in qids:
            raise ContestError(texts.get("contest.admin.already_in_set", id=new_id))
    else:
        spare = [q for q in question_pool(session, list(contest.themes or [])) if q not in qids]
        if not spare:
            raise ContestError(texts.get("contest.admin.no_spare"))
        # Which spare question: the next one after the replaced id, so that replacing twice
        # moves on rather than coming back.
        old = qids[number - 1]
        new_id = next((q for q in spare if q > old), spare[0])
    old = qids[number - 1]
    qids[number - 1] = new_id
    contest.question_ids = qids  # a new list, so the JSON change is saved
    session.flush()
    return old, new_id


def void_question(session: Session, contest: Contest, number: int, now: datetime) -> str:
    """Question `number` (from 1) scores nothing for anyone, from now on and back in time:
    every attempt is scored again without it. After the opening, before the results go out."""
    if status(contest, now) == "upcoming":
        raise ContestError(texts.get("contest.admin.void_before_open"))
    if contest.cancelled_at is not None:
        raise ContestError(texts.get("contest.admin.cancelled"))
    if contest.announced_at is not None:
        raise ContestError(texts.get("contest.admin.already_announced"))
    qids = contest_questions(session, contest)
    if not 1 <= number <= len(qids):
        raise ContestError(texts.get("contest.admin.bad_number", count=len(qids)))
    qid = qids[number - 1]
    gone = voided(contest)
    if qid in gone:
        raise ContestError(texts.get("contest.admin.already_void", number=number))
    if len(gone) + 1 >= len(qids):
        raise ContestError(texts.get("contest.admin.last_question"))
    contest.voided_question_ids = [*sorted(gone), qid]
    session.flush()
    rescore(session, contest)
    return qid


def rescore(session: Session, contest: Contest) -> int:
    """Every attempt's score again, from its answers, leaving voided questions out."""
    attempts = list(
        session.scalars(select(ContestAttempt).where(ContestAttempt.contest_id == contest.id))
    )
    for attempt in attempts:
        correct = correct_counted(session, attempt)
        attempt.correct_count = correct
        attempt.score = correct * scoring.CONTEST_POINTS_PER_CORRECT
    session.flush()
    return len(attempts)


def cancel_contest(session: Session, contest: Contest, by: str, now: datetime) -> list[str]:
    """Cancel once (until the results are out): the contest stops, nothing is announced, and
    whoever started is told. Returns the participants told."""
    taken = session.execute(
        update(Contest)
        .where(
            Contest.id == contest.id,
            Contest.cancelled_at.is_(None),
            Contest.announced_at.is_(None),
        )
        .values(cancelled_at=now, cancelled_by=by[:64], closed_at=contest.closed_at or now)
    ).rowcount
    session.refresh(contest)
    if not taken:
        key = "cancelled" if contest.cancelled_at is not None else "already_announced"
        raise ContestError(texts.get(f"contest.admin.{key}"))
    attempts = list(
        session.scalars(
            select(ContestAttempt)
            .where(ContestAttempt.contest_id == contest.id)
            .order_by(ContestAttempt.userid)
        )
    )
    for attempt in attempts:
        if attempt.finished_at is None:
            finish_attempt(session, attempt, now)
    told = [a.userid for a in attempts]
    if told:
        enqueue(
            session,
            told,
            text_message(texts.get("contest.cancelled_notice", name=contest.name)),
            source=f"contest:{contest.id}",
            now=now,
            dedup_key=f"contest:{contest.id}:cancelled",
        )
    return told


def notify_opened(session: Session, services: Services, now: datetime) -> str:
    """Every minute: tell the staff of each contest that has opened, once. The UPDATE …
    WHERE open_notified_at IS NULL picks the one run that sends; the outbox dedup key would
    stop a second notice anyway. Runs under the job ledger (scheduler.ledger)."""
    due = list(
        session.scalars(
            select(Contest)
            .where(
                Contest.opens_at <= now,
                Contest.closes_at > now,
                Contest.closed_at.is_(None),
                Contest.cancelled_at.is_(None),
                Contest.open_notified_at.is_(None),
            )
            .order_by(Contest.id)
        )
    )
    told = 0
    for contest in due:
        taken = session.execute(
            update(Contest)
            .where(Contest.id == contest.id, Contest.open_notified_at.is_(None))
            .values(open_notified_at=now)
        ).rowcount
        if not taken:
            continue
        qids = contest_questions(session, contest)  # drawn now if the contest predates sets
        staff = [u for u, _ in active_members(session, contest.department_ids or [])]
        body = text_message(
            texts.get(
                "contest.open_notice",
                name=contest.name,
                count=len(qids),
                seconds=contest.seconds,
                closes=stamp(contest.closes_at, services.settings.tz),
            )
        )
        enqueue(
            session,
            staff,
            body,
            source=f"contest:{contest.id}",
            now=now,
            dedup_key=f"contest:{contest.id}:open",
        )
        told += 1
    return f"announced {told} contest openings" if told else "no contest opened"
