"""Reminders before a learning task's due date and escalation after it, like the 责任书's.

Hourly, from 09:00 local: the day before the due date and on the due date itself the
unfinished get a reminder; the day after, each department head gets the list of their
unfinished people. Dedup keys on the outbox make each step happen once, however many
processes run the job.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content import texts as t
from bot.directory import department_heads
from bot.learning.tasks import unfinished
from bot.messages import text_message
from bot.models import Department, LearningTask, User
from bot.outbox import enqueue
from bot.services import Services

REMIND_DAYS_BEFORE = (1, 0)  # the day before the due date, and the due date
ESCALATE_WITHIN = timedelta(days=7)  # tasks overdue by more are left alone
FROM_HOUR = 9  # nobody is reminded at night


def learning_reminders(session: Session, services: Services, now: datetime) -> str:
    """The hourly job."""
    return run_reminders(session, now, services.settings.tz)


def run_reminders(session: Session, now: datetime, tz) -> str:
    local = now.astimezone(tz)
    if local.hour < FROM_HOUR:
        return "before 09:00"
    today = local.date()
    done: list[str] = []
    recent = session.scalars(
        select(LearningTask).where(LearningTask.due >= today - ESCALATE_WITHIN)
    )
    for task in recent:
        left = (task.due - today).days
        if left in REMIND_DAYS_BEFORE:
            done += _remind(session, task, left, now)
        elif left < 0:
            done += _escalate(session, task, now)
    return "; ".join(done) or "nothing due"


def _due(task: LearningTask) -> str:
    return f"{task.due.month}月{task.due.day}日"


def _remind(session: Session, task: LearningTask, left: int, now: datetime) -> list[str]:
    people = [a.userid for a in unfinished(session, task.id)]
    if not people:
        return []
    key = "learning.reminder_today" if left == 0 else "learning.reminder"
    body = text_message(t.get(key, title=task.title, due=_due(task)))
    if enqueue(
        session,
        people,
        body,
        source="learning:remind",
        now=now,
        dedup_key=f"learning:remind:{task.id}:{left}",
    ):
        return [f"task {task.id} reminder ({left} days left): {len(people)}"]
    return []


def _escalate(session: Session, task: LearningTask, now: datetime) -> list[str]:
    missing = unfinished(session, task.id)
    if not missing:
        return []
    names = dict(session.execute(select(User.userid, User.name)).all())
    by_dept: dict[int, list[str]] = defaultdict(list)
    for a in missing:
        if a.department_id is not None:
            by_dept[a.department_id].append(names.get(a.userid) or a.userid)
    done = []
    for dept_id, people in sorted(by_dept.items()):
        heads = department_heads(session, dept_id)
        if not heads:
            continue
        dept = session.get(Department, dept_id)
        body = text_message(
            t.get(
                "learning.escalation",
                department=dept.name if dept else str(dept_id),
                title=task.title,
                due=_due(task),
                count=len(people),
                names="、".join(people),
            )
        )
        if enqueue(
            session,
            heads,
            body,
            source="learning:escalate",
            now=now,
            dedup_key=f"learning:escalate:{task.id}:{dept_id}",
        ):
            done.append(f"task {task.id} dept {dept_id}: {len(people)} to {len(heads)} heads")
    return done


def reminder_text(task: LearningTask) -> str:
    """The reminder the unfinished get (jobs and the console's button)."""
    return t.get("learning.reminder", title=task.title, due=_due(task))
