"""Warning and broadcast figures for `stats`, 统计 and the console."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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


def ack_rates(session: Session, *where: Any) -> list[dict[str, Any]]:
    """Every warning that asked for 收到, oldest first: recipients asked, acknowledged, rate;
    `where` narrows the recipients (the console's department scope)."""
    narrowing = [w for w in where if w is not True]
    asked = dict(
        session.execute(
            select(WarningRecipient.warning_id, func.count())
            .where(*narrowing)
            .group_by(WarningRecipient.warning_id)
        ).all()
    )
    acked = dict(
        session.execute(
            select(WarningRecipient.warning_id, func.count())
            .join(
                WarningAck,
                (WarningAck.warning_id == WarningRecipient.warning_id)
                & (WarningAck.userid == WarningRecipient.userid),
            )
            .where(*narrowing)
            .group_by(WarningRecipient.warning_id)
        ).all()
    )
    rows = []
    for w in session.scalars(
        select(RiskWarning)
        .where(RiskWarning.require_ack.is_(True))
        .order_by(RiskWarning.created_at, RiskWarning.id)
    ):
        n, k = int(asked.get(w.id, 0)), int(acked.get(w.id, 0))
        if n:
            rows.append(
                {
                    "title": w.title or w.text[:30],
                    "created_at": w.created_at,
                    "asked": n,
                    "acked": k,
                    "rate": round(k / n, 4),
                }
            )
    return rows
