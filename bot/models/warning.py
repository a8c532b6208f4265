"""Risk warnings and broadcasts, who received and acknowledged them, and CAP alerts seen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class RiskWarning(Base):
    """One 预警 or 广播 as it was sent (kind: warning | broadcast).

    When `require_ack` is set, recipients who have not clicked 收到 by `remind_at` get one
    reminder, and by `escalate_at` their department heads get the list; `reminded_at` and
    `escalated_at` record that the follow-up job has done so.
    """

    __tablename__ = "warnings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="warning")
    created_at: Mapped[datetime] = mapped_column(index=True)
    created_by: Mapped[str] = mapped_column(String(64))  # a userid, or "cap"
    hazard: Mapped[str | None] = mapped_column(String(32))  # warnings.yaml key
    level: Mapped[str | None] = mapped_column(String(16))  # blue | yellow | orange | red
    title: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    department_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # [] = everyone
    recipients_total: Mapped[int] = mapped_column(Integer, default=0)
    require_ack: Mapped[bool] = mapped_column(default=False)
    ack_minutes: Mapped[int] = mapped_column(Integer, default=30)
    remind_at: Mapped[datetime | None] = mapped_column(index=True)
    reminded_at: Mapped[datetime | None]
    escalate_at: Mapped[datetime | None] = mapped_column(index=True)
    escalated_at: Mapped[datetime | None]


class WarningRecipient(Base):
    """Who a warning was sent to (the follow-up needs the list as it was at sending time)."""

    __tablename__ = "warning_recipients"

    warning_id: Mapped[int] = mapped_column(
        ForeignKey("warnings.id", ondelete="CASCADE"), primary_key=True
    )
    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    department_id: Mapped[int | None] = mapped_column(Integer)


class WarningAck(Base):
    """A 收到 click. The unique key makes a repeated or retried click count once."""

    __tablename__ = "warning_acks"
    __table_args__ = (UniqueConstraint("warning_id", "userid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warning_id: Mapped[int] = mapped_column(ForeignKey("warnings.id", ondelete="CASCADE"))
    userid: Mapped[str] = mapped_column(String(64))
    acked_at: Mapped[datetime]


class CapAlert(Base):
    """A CAP 1.2 alert the feed poller has seen (sender + identifier are unique per CAP 1.2).

    status: sent (Extreme/Severe, sent at once) | pending (waits for an admin) | approved |
    ignored | filtered (outside our areas, below the minimum severity, not Actual, expired).
    """

    __tablename__ = "cap_alerts"
    __table_args__ = (UniqueConstraint("sender", "identifier"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(255))
    sent: Mapped[str] = mapped_column(String(64), default="")
    received_at: Mapped[datetime]
    msg_type: Mapped[str] = mapped_column(String(16), default="Alert")
    event: Mapped[str] = mapped_column(String(255), default="")
    severity: Mapped[str] = mapped_column(String(16), default="Unknown")
    urgency: Mapped[str] = mapped_column(String(16), default="Unknown")
    certainty: Mapped[str] = mapped_column(String(16), default="Unknown")
    headline: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    instruction: Mapped[str] = mapped_column(Text, default="")
    area_desc: Mapped[str] = mapped_column(Text, default="")
    geocodes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    hazard: Mapped[str | None] = mapped_column(String(32))
    level: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(String(255), default="")
    warning_id: Mapped[int | None] = mapped_column(Integer)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
