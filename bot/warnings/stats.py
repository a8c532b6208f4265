"""Warning and broadcast figures for `stats`, 统计 and the console."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.models import CapAlert, RiskWarning, WarningAck
from bot.stats_base import count_rows


def warnings_sent(session: Session, now: datetime) -> int:
    return count_rows(session, RiskWarning, RiskWarning.kind == "warning")


def broadcasts_sent(session: Session, now: datetime) -> int:
    return count_rows(session, RiskWarning, RiskWarning.kind == "broadcast")


def warning_acks(session: Session, now: datetime) -> int:
    return count_rows(session, WarningAck)


def cap_pending(session: Session, now: datetime) -> int:
    return count_rows(session, CapAlert, CapAlert.status == "pending")
