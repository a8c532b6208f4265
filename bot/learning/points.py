"""Points for finished learning tasks, for 积分 and 排行 (collected by the chat handler)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import LearningAssignment

TASK_POINTS = 5  # per task confirmed and answered


def learning_points_for(session: Session, userid: str) -> int:
    n = session.scalar(
        select(func.count()).where(
            LearningAssignment.userid == userid, LearningAssignment.completed_at.is_not(None)
        )
    )
    return int(n or 0) * TASK_POINTS


def learning_points_by_user(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(LearningAssignment.userid, func.count())
        .where(LearningAssignment.completed_at.is_not(None))
        .group_by(LearningAssignment.userid)
    )
    return {userid: int(n) * TASK_POINTS for userid, n in rows}
