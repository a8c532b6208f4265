"""Points earned through hazard reports, for the quiz ranking (排行) to include.

A reporter gets VERIFY_POINTS when the fix of their report is verified (验收). The unique key
(hazard, user, reason) makes the award idempotent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db import insert_ignore
from bot.models import HazardPoints, HazardReport

VERIFY_POINTS = 20


def award_verified(session: Session, hazard: HazardReport, now: datetime) -> bool:
    result = insert_ignore(
        session,
        HazardPoints,
        {
            "userid": hazard.reporter,
            "hazard_id": hazard.id,
            "reason": "verified",
            "points": VERIFY_POINTS,
            "awarded_at": now,
        },
    )
    return bool(result.rowcount)


def hazard_points_for(session: Session, userid: str) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(HazardPoints.points), 0)).where(
                HazardPoints.userid == userid
            )
        )
        or 0
    )


def hazard_points_by_user(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(HazardPoints.userid, func.sum(HazardPoints.points)).group_by(HazardPoints.userid)
    )
    return {userid: int(total) for userid, total in rows}
