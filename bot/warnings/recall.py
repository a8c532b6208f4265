"""撤回: withdraw a sent warning or broadcast within WeCom's 24 hours.

What has not gone out yet is cancelled in the outbox; what has gone out is recalled through
message/recall, one outbox row per msgid that message/send answered (OutboxBatch.msgid), so
the recall is sent by the sender like every other call and is idempotent (dedup keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.models import OutboundMessage, OutboxBatch, OutboxDelivery, RiskWarning
from bot.outbox import enqueue

RECALL_WINDOW = timedelta(hours=24)  # WeCom: 可以撤回24小时内通过发送应用消息接口推送的消息
RECALLED = "recalled"


@dataclass
class Recall:
    status: str  # unknown | expired | already | done
    warning: RiskWarning | None = None
    recalled: int = 0  # message/recall calls queued (one per msgid)
    cancelled: int = 0  # deliveries that had not gone out and never will


def _message_ids(session: Session, warning: RiskWarning) -> list[int]:
    source = f"{warning.kind}:{warning.id}"
    return list(
        session.scalars(
            select(OutboundMessage.id).where(
                or_(OutboundMessage.source == source, OutboundMessage.source.like(source + ":%")),
                OutboundMessage.kind.not_in(("robot", "recall")),  # group robots cannot recall
            )
        )
    )


def recall(session: Session, warning_id: int, now: datetime, *, by: str) -> Recall:
    warning = session.get(RiskWarning, warning_id)
    if warning is None:
        return Recall("unknown")
    if now - warning.created_at > RECALL_WINDOW:
        return Recall("expired", warning)
    ids = _message_ids(session, warning)
    cancelled = 0
    if ids:
        # Batches not sent yet (and not in flight): never send them, nor what has no batch yet.
        idle = session.scalars(
            select(OutboxBatch.id).where(
                OutboxBatch.message_id.in_(ids),
                OutboxBatch.status == "pending",
                or_(OutboxBatch.lease_until.is_(None), OutboxBatch.lease_until < now),
            )
        ).all()
        if idle:
            session.execute(
                update(OutboxBatch)
                .where(OutboxBatch.id.in_(idle))
                .values(status="dead", last_error=RECALLED, lease_until=None)
            )
        cancelled = (
            session.execute(
                update(OutboxDelivery)
                .where(
                    OutboxDelivery.message_id.in_(ids),
                    OutboxDelivery.status == "pending",
                    or_(OutboxDelivery.batch_id.is_(None), OutboxDelivery.batch_id.in_(idle)),
                )
                .values(status="dead", last_error=RECALLED)
            ).rowcount
            or 0
        )
    msgids = session.scalars(
        select(OutboxBatch.msgid)
        .where(
            OutboxBatch.message_id.in_(ids),
            OutboxBatch.status == "sent",
            OutboxBatch.msgid.is_not(None),
        )
        .order_by(OutboxBatch.id)
    ).all()
    recalled = 0
    for msgid in msgids:
        queued = enqueue(
            session,
            [msgid],
            {"msgid": msgid},
            source=f"recall:{warning.kind}:{warning.id}",
            now=now,
            kind="recall",
            dedup_key=f"recall:{msgid}",
            duplicate_check=False,
        )
        recalled += queued is not None
    if not recalled and not cancelled:
        return Recall("already", warning)
    # Nobody is asked for 收到 on a recalled message any more.
    warning.reminded_at = warning.reminded_at or now
    warning.escalated_at = warning.escalated_at or now
    return Recall("done", warning, recalled, cancelled)
