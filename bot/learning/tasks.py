"""Assigning a learning task, opening its link, confirming it and answering its questions.

Every step is once per person: a unique (task, person) row, and updates guarded by
`… IS NULL`, so a retried callback or a second tap changes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import counters
from bot.content import texts
from bot.directory import active_members
from bot.learning import cards
from bot.learning.content import MAX_QUESTIONS, LearningItem, load_items
from bot.models import (
    Department,
    LearningAssignment,
    LearningTask,
    OutboundMessage,
    OutboxDelivery,
)
from bot.outbox import enqueue

SOURCE = "learning:task"


class AssignError(ValueError):
    """A task that cannot be assigned; the message says why, in Chinese, in one line."""


@dataclass(frozen=True)
class Assigned:
    task: LearningTask
    members: int


def valid_url(url: str) -> bool:
    """Only http(s) links with a host (the bot never fetches them; a person's browser does)."""
    parts = urlsplit((url or "").strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in url.strip()


def item_for(task: LearningTask) -> LearningItem | None:
    return load_items().get(task.item_id or "") if task.item_id else None


def assign(
    session: Session,
    *,
    title: str,
    due: date,
    created_by: str,
    now: datetime,
    tz,
    public_url: str,
    item_id: str | None = None,
    url: str | None = None,
    departments: list[int] | None = None,
    questions: int | None = None,
) -> Assigned:
    """Create the task, one row per member in scope, and queue each member's card."""
    title = (title or "").strip()
    if not title:
        raise AssignError(texts.get("learning.errors.no_title"))
    if (item_id is None) == (url is None):
        raise AssignError(texts.get("learning.errors.item_or_url"))
    item = None
    if item_id is not None:
        items = load_items()
        item = items.get(item_id)
        if item is None:
            raise AssignError(
                texts.get(
                    "learning.errors.unknown_item",
                    item=item_id,
                    valid="、".join(sorted(items)) or texts.get("learning.errors.no_items"),
                )
            )
    elif not valid_url(url or ""):
        raise AssignError(texts.get("learning.errors.bad_url", url=url))
    if due < now.astimezone(tz).date():
        raise AssignError(texts.get("learning.errors.past_due", due=due.isoformat()))
    available = list(item.questions) if item else []
    count = min(MAX_QUESTIONS, len(available)) if questions is None else questions
    if not 0 <= count <= min(MAX_QUESTIONS, len(available)):
        raise AssignError(
            texts.get("learning.errors.questions", count=count, available=min(3, len(available)))
        )
    departments = list(dict.fromkeys(departments or []))
    for dept in departments:
        row = session.get(Department, dept) if dept < 2**31 else None
        if row is None:
            raise AssignError(texts.get("learning.errors.unknown_department", department=dept))
        if not active_members(session, [dept]):
            raise AssignError(texts.get("learning.errors.empty_department", department=row.name))
    members = active_members(session, departments)
    if not members:
        raise AssignError(texts.get("learning.errors.nobody"))
    task = LearningTask(
        title=title[:128],
        kind=item.kind if item else "url",
        item_id=item.id if item else None,
        url=url.strip() if url else None,
        departments=departments,
        due=due,
        questions=[q.as_dict() for q in available[:count]],
        created_by=created_by[:64],
        created_at=now,
        members_total=len(members),
    )
    session.add(task)
    session.flush()
    rows = [
        LearningAssignment(
            task_id=task.id,
            userid=userid,
            department_id=dept,
            token=secrets.token_urlsafe(24),
            answers=[],
        )
        for userid, dept in members
    ]
    session.add_all(rows)
    session.flush()
    summary = item.summary if item else ""
    for a in rows:
        card = cards.task_card(
            texts.get,
            task,
            a,
            summary=summary,
            link=cards.link_for(public_url, a.token),
            tz=tz,
            task_id=cards.task_id_for(a, "assign"),
        )
        enqueue(
            session,
            [a.userid],
            cards.card_message(card),
            source=SOURCE,
            now=now,
            dedup_key=f"learning:assign:{task.id}:{a.userid}",
        )
    return Assigned(task, len(rows))


# -- one person ---------------------------------------------------------------------------
def by_token(session: Session, token: str) -> tuple[LearningAssignment, LearningTask] | None:
    a = session.scalar(select(LearningAssignment).where(LearningAssignment.token == token))
    return (a, session.get(LearningTask, a.task_id)) if a is not None else None


def record_open(session: Session, assignment: LearningAssignment, now: datetime) -> bool:
    """The first opening of the link is kept (a later one changes nothing)."""
    result = session.execute(
        update(LearningAssignment)
        .where(LearningAssignment.id == assignment.id, LearningAssignment.opened_at.is_(None))
        .values(opened_at=now)
    )
    session.refresh(assignment)
    return bool(result.rowcount)


def assignments_of(session: Session, userid: str) -> list[tuple[LearningAssignment, LearningTask]]:
    """This person's tasks, open ones first (by due date), then finished ones."""
    rows = session.execute(
        select(LearningAssignment, LearningTask)
        .join(LearningTask, LearningTask.id == LearningAssignment.task_id)
        .where(LearningAssignment.userid == userid)
        .order_by(LearningTask.due, LearningTask.id)
    ).all()
    pairs = [(a, t) for a, t in rows]
    return [p for p in pairs if p[0].completed_at is None] + [
        p for p in pairs if p[0].completed_at is not None
    ]


def open_tasks(session: Session, userid: str) -> list[tuple[LearningAssignment, LearningTask]]:
    return [p for p in assignments_of(session, userid) if p[0].completed_at is None]


def get_assignment(
    session: Session, assignment_id: int, userid: str
) -> tuple[LearningAssignment, LearningTask] | None:
    a = session.get(LearningAssignment, assignment_id)
    if a is None or a.userid != userid:
        return None
    return a, session.get(LearningTask, a.task_id)


def confirm(
    session: Session, assignment: LearningAssignment, task: LearningTask, channel: str,
    now: datetime,
) -> bool:  # fmt: skip
    """Record the confirmation once; without check questions the task is then done."""
    values: dict[str, Any] = {"confirmed_at": now, "confirm_channel": channel}
    if not task.questions:
        values["completed_at"] = now
    result = session.execute(
        update(LearningAssignment)
        .where(LearningAssignment.id == assignment.id, LearningAssignment.confirmed_at.is_(None))
        .values(**values)
    )
    session.refresh(assignment)
    if result.rowcount and "completed_at" in values:
        counters.took_part(session, assignment.userid, now.date())
    if assignment.completed_at is not None:
        cancel_reminders(session, assignment.userid, task.id)
    return bool(result.rowcount)


def next_question(assignment: LearningAssignment, task: LearningTask) -> int | None:
    """The index of the next check question to answer, or None when all are answered."""
    done = len(assignment.answers or [])
    return done if done < len(task.questions or []) else None


def record_answer(
    session: Session,
    assignment: LearningAssignment,
    task: LearningTask,
    index: int,
    given: str,
    now: datetime,
) -> bool | None:
    """Score the answer to question `index` (stored letters or T/F). Returns whether it was
    right, or None when that question was already answered."""
    answers = list(assignment.answers or [])
    if index != len(answers) or index >= len(task.questions):
        return None
    question = task.questions[index]
    correct = given == question["answer"]
    answers.append({"id": question["id"], "given": given, "correct": correct})
    assignment.answers = answers
    if len(answers) == len(task.questions):
        assignment.completed_at = now
        session.flush()
        counters.took_part(session, assignment.userid, now.date())
        cancel_reminders(session, assignment.userid, task.id)
    session.flush()
    return correct


def cancel_reminders(session: Session, userid: str, task_id: int) -> int:
    """Reminders queued but not yet sent stop for someone who has finished (closed as dead
    with a reason, so the outbox counts still add up)."""
    ids = select(OutboundMessage.id).where(
        OutboundMessage.source == "learning:remind",
        OutboundMessage.dedup_key.like(f"learning:remind:{task_id}:%"),
    )
    result = session.execute(
        update(OutboxDelivery)
        .where(
            OutboxDelivery.userid == userid,
            OutboxDelivery.status == "pending",
            OutboxDelivery.message_id.in_(ids),
        )
        .values(status="dead", last_error="cancelled: learned")
    )
    return result.rowcount or 0


# -- the organisation ------------------------------------------------------------------------
def tasks(session: Session, limit: int = 50) -> list[LearningTask]:
    return list(session.scalars(select(LearningTask).order_by(LearningTask.id.desc()).limit(limit)))


def assignments(
    session: Session, task_id: int | None = None, *where: Any
) -> list[LearningAssignment]:
    """Assignments by task and person; `where` narrows them (a console's department scope)."""
    q = (
        select(LearningAssignment)
        .where(*where)
        .order_by(LearningAssignment.task_id, LearningAssignment.userid)
    )
    if task_id is not None:
        q = q.where(LearningAssignment.task_id == task_id)
    return list(session.scalars(q))


def unfinished(session: Session, task_id: int) -> list[LearningAssignment]:
    return [a for a in assignments(session, task_id) if a.completed_at is None]
