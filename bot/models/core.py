"""Core tables: the directory, roles, inbound dedup, conversations, outbox, tokens, job runs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.base import Base


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[int | None] = mapped_column(Integer, index=True)
    order: Mapped[int] = mapped_column(BigInteger, default=0)
    synced_at: Mapped[datetime | None]


class User(Base):
    __tablename__ = "users"

    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    # WeCom members can sit in several departments; `department_id` is the main one.
    department_id: Mapped[int | None] = mapped_column(Integer, index=True)
    department_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Departments where WeCom marks this member as a leader (is_leader_in_dept).
    leader_of: Mapped[list[int]] = mapped_column(JSON, default=list)
    position: Mapped[str] = mapped_column(String(128), default="")
    # WeCom status: 1 active, 2 disabled, 4 not activated, 5 left.
    status: Mapped[int] = mapped_column(Integer, default=1)
    synced_at: Mapped[datetime | None]


class RoleAssignment(Base):
    """Roles beyond SAFETYBOT_ADMINS: admin, safety_officer, department_head (per department)."""

    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("userid", "role", "department_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    userid: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(32))
    # 0 = not tied to a department (NULL would let the unique key admit duplicates).
    department_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class InboundMessage(Base):
    """Every callback that took effect, keyed so a retried callback takes effect once.

    dedup_key is "msg:<MsgId>" for messages and "evt:<from>:<CreateTime>:<Event>:<EventKey>:
    <TaskId>" for events (events carry no MsgId). The reply is kept so a retry of a callback
    whose answer WeCom never received gets the same answer again.
    """

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    userid: Mapped[str] = mapped_column(String(64), index=True)
    msg_type: Mapped[str] = mapped_column(String(32))
    event: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime]
    reply: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class DailyActivity(Base):
    """Who talked to the bot on which (local) day: one row per person per day.

    Written once per person and day by the dispatcher, so participation figures read a small
    table instead of counting distinct senders over every message (and survive the pruning of
    inbound_messages).
    """

    __tablename__ = "daily_activity"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # Indexed on its own too: "has this member ever talked to the bot" is a lookup by userid.
    userid: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    # Not indexed: the figures per department read department_day_active (0026), and an index
    # would be one more write on every person's first message of the day.
    department_id: Mapped[int | None] = mapped_column(Integer)
    first_at: Mapped[datetime]


class Conversation(Base):
    """A multi-step flow in progress for one user (workers share no memory, so it lives here)."""

    __tablename__ = "conversations"

    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    flow: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class OutboundMessage(Base):
    """One message (text, card, markdown …) to be sent to a set of recipients.

    `dedup_key`, when set, makes the enqueue idempotent: "tip:2026-06-05" can be enqueued by
    three processes and exists once.
    """

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(
        String(32), default="message"
    )  # message | update_card | robot | recall
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(64), default="")
    dedup_key: Mapped[str | None] = mapped_column(String(191), unique=True)
    duplicate_check: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    recipients_total: Mapped[int] = mapped_column(Integer, default=0)

    deliveries: Mapped[list[OutboxDelivery]] = relationship(back_populates="message")


class OutboxBatch(Base):
    """One message/send call, formed once: its recipients in order. Every retry of the batch
    sends the byte-identical request JSON, which is what WeCom's duplicate check
    (enable_duplicate_check) recognises; a batch is never split or re-formed after its first
    attempt, so a member is never in two different requests for one message.
    status: pending | sent | dead."""

    __tablename__ = "outbox_batches"
    __table_args__ = (Index("ix_outbox_batches_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="CASCADE"), index=True
    )
    recipients: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    # What message/send answered: the id message/recall takes (撤回应用消息, within 24 h).
    msgid: Mapped[str | None] = mapped_column(String(128))


class OutboxDelivery(Base):
    """One recipient of one outbound message. status: pending | sent | dead. Once a batch
    holds it (batch_id), the batch's fate is its fate."""

    __tablename__ = "outbox_deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "userid"),
        Index("ix_outbox_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbound_messages.id", ondelete="CASCADE"))
    userid: Mapped[str] = mapped_column(String(191))
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_batches.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    # A sender that claimed this row owns it until lease_until; if it dies the row comes back.
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]

    message: Mapped[OutboundMessage] = relationship(back_populates="deliveries")


class MemberSendCount(Base):
    """Messages sent to one member in one clock minute (WeCom drops more than 30/min/member)."""

    __tablename__ = "member_send_counts"

    userid: Mapped[str] = mapped_column(String(191), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class AccessToken(Base):
    """The WeCom access token, shared by every process so it is fetched once per lifetime."""

    __tablename__ = "access_tokens"

    key: Mapped[str] = mapped_column(String(191), primary_key=True)
    token: Mapped[str | None] = mapped_column(String(512))
    expires_at: Mapped[datetime | None]
    fetched_at: Mapped[datetime | None]


class JobRun(Base):
    """The run ledger: a scheduled job runs once per scheduled time, across all processes."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job_id", "scheduled_for"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64))
    scheduled_for: Mapped[datetime]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="running")
    detail: Mapped[str | None] = mapped_column(Text)


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    allowed: Mapped[bool] = mapped_column(default=True)
    detail: Mapped[str] = mapped_column(Text, default="")
