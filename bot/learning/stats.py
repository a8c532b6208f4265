"""学习任务 figures for `stats`, the console and the summary report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bot.models import Department, LearningAssignment
from bot.stats_base import count_rows


def learning_assigned(session: Session, now: datetime) -> int:
    """Tasks handed to people (one per person and task)."""
    return count_rows(session, LearningAssignment)


def learning_completed(session: Session, now: datetime) -> int:
    """Of those, the ones confirmed and answered."""
    return count_rows(session, LearningAssignment, LearningAssignment.completed_at.is_not(None))


def completion_by_department(
    session: Session, task_id: int | None = None, *where: Any
) -> list[dict]:
    """Per main department (as assigned): assigned, opened, confirmed, completed, rate;
    `where` narrows the assignments (the console's department scope)."""
    done = func.sum(case((LearningAssignment.completed_at.is_not(None), 1), else_=0))
    opened = func.sum(case((LearningAssignment.opened_at.is_not(None), 1), else_=0))
    confirmed = func.sum(case((LearningAssignment.confirmed_at.is_not(None), 1), else_=0))
    q = select(LearningAssignment.department_id, func.count(), opened, confirmed, done).group_by(
        LearningAssignment.department_id
    )
    if task_id is not None:
        q = q.where(LearningAssignment.task_id == task_id)
    q = q.where(*where)
    names = dict(session.execute(select(Department.id, Department.name)).all())
    rows = []
    for dept, n, o, c, d in session.execute(q):
        rows.append(
            {
                "name": names.get(dept or 0, str(dept or "-")),
                "assigned": int(n),
                "opened": int(o or 0),
                "confirmed": int(c or 0),
                "completed": int(d or 0),
                "rate": round(int(d or 0) / n, 4) if n else 0.0,
            }
        )
    return sorted(rows, key=lambda r: r["name"])
