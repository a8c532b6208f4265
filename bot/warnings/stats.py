"""Warning and broadcast figures for `stats`, 统计 and the console."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import CapAlert, RiskWarning, WarningAck, WarningRecipient
from bot.stats_base import count_rows


def warnings_sent(session: Session, now: datetime) -> int:
    return count_rows(session, RiskWarning, RiskWarning.kind == "warning")


def broadcasts_sent(session: Session, now: datetime) -> int:
    return count_rows(session, RiskWarning, RiskWarning.kind == "broadcast")


def warning_acks(session: Session, now: datetime) -> int:
    return count_rows(session, WarningAck)


def cap_pending(session: Session, now: datetime) -> int:
    return count_rows(session, CapAlert, CapAlert.status == "pending")


def department_acks(session: Session, now: datetime, departments: set[int]) -> dict[str, int]:
    """Warnings asking for 收到 sent to `departments`' members: acknowledged / asked."""
    asked = (
        select(WarningRecipient.warning_id, WarningRecipient.userid)
        .join(RiskWarning, RiskWarning.id == WarningRecipient.warning_id)
        .where(
            RiskWarning.require_ack.is_(True),
            WarningRecipient.department_id.in_(sorted(departments) or [-1]),
        )
        .subquery()
    )
    total = session.scalar(select(func.count()).select_from(asked)) or 0
    acked = (
        session.scalar(
            select(func.count())
            .select_from(asked)
            .join(
                WarningAck,
                (WarningAck.warning_id == asked.c.warning_id)
                & (WarningAck.userid == asked.c.userid),
            )
        )
        or 0
    )
    return {"acked": acked, "asked": total}
