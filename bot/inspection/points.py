"""Points for completed inspections, for 积分 and 排行 (collected by the chat handler and
bot.stats.point_sources): an inspector earns COMPLETE_POINTS per assignment whose every
checklist item is answered (status done; answering.finish sets it once)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import InspectionAssignment

COMPLETE_POINTS = 10  # per department's checklist completed


def inspection_points_for(session: Session, userid: str) -> int:
    n = session.scalar(
        select(func.count()).where(
            InspectionAssignment.inspector == userid, InspectionAssignment.status == "done"
        )
    )
    return int(n or 0) * COMPLETE_POINTS


def inspection_points_by_user(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(InspectionAssignment.inspector, func.count())
        .where(InspectionAssignment.status == "done")
        .group_by(InspectionAssignment.inspector)
    )
    return {userid: int(n) * COMPLETE_POINTS for userid, n in rows}
