"""The outbox: every outbound message is a row written in the transaction that causes it.

A message (OutboundMessage) has one OutboxDelivery row per recipient. The sender
(bot.sender) drains pending deliveries; counts always satisfy
    enqueued = sent + pending + dead
because a delivery only ever changes status, it is never deleted or duplicated.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from bot.db import insert_ignore
from bot.messages import split_text, text_message
from bot.models import OutboundMessage, OutboxBatch, OutboxDelivery

INSERT_CHUNK = 5000


def enqueue(
    session: Session,
    userids: Iterable[str],
    body: dict[str, Any],
    *,
    source: str,
    now: datetime,
    dedup_key: str | None = None,
    kind: str = "message",
    duplicate_check: bool = True,
) -> int | None:
    """Queue `body` for `userids`. Returns the message id, or None if `dedup_key` was taken.

    A text longer than WeCom's 2,048 bytes (which WeCom would cut) is queued as one message
    per part, in order, each with its own dedup key; the first part's id is returned."""
    recipients = list(dict.fromkeys(u for u in userids if u))  # unique, order kept
    if body.get("msgtype") == "text" and kind == "message":
        parts = split_text(body["text"]["content"])
        if len(parts) > 1:
            first = None
            for i, part in enumerate(parts):
                message_id = enqueue(
                    session,
                    recipients,
                    text_message(part),
                    source=source,
                    now=now,
                    dedup_key=f"{dedup_key}:part{i + 1}" if dedup_key else None,
                    kind=kind,
                    duplicate_check=duplicate_check,
                )
                if i == 0:
                    if message_id is None:
                        return None  # queued before: all of its parts were
                    first = message_id
            return first
    values = {
        "kind": kind,
        "payload": body,
        "source": source[:64],
        "dedup_key": dedup_key,
        "duplicate_check": duplicate_check,
        "created_at": now,
        "recipients_total": len(recipients),
    }
    if dedup_key is None:
        message_id = session.execute(
            insert(OutboundMessage).values(values).returning(OutboundMessage.id)
        ).scalar_one()
    else:
        row = insert_ignore(session, OutboundMessage, values, returning=OutboundMessage.id).first()
        if row is None:
            return None
        message_id = row[0]
    for start in range(0, len(recipients), INSERT_CHUNK):
        chunk = recipients[start : start + INSERT_CHUNK]
        session.execute(
            insert(OutboxDelivery),
            [
                {
                    "message_id": message_id,
                    "userid": u,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                }
                for u in chunk
            ],
        )
    return message_id


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(OutboxDelivery.status, func.count()).group_by(OutboxDelivery.status)
    )
    result = {"pending": 0, "sent": 0, "dead": 0}
    result.update({status: n for status, n in rows})
    result["enqueued"] = (
        session.scalar(select(func.coalesce(func.sum(OutboundMessage.recipients_total), 0))) or 0
    )
    result["messages"] = session.scalar(select(func.count()).select_from(OutboundMessage)) or 0
    # Group-robot posts that timed out: they may or may not have reached the group, and are
    # never re-posted (robots have no duplicate check). An operator checks the group.
    result["robot_unknown"] = (
        session.scalar(
            select(func.count())
            .select_from(OutboxDelivery)
            .where(
                OutboxDelivery.status == "dead",
                OutboxDelivery.last_error.like("outcome unknown%"),
            )
        )
        or 0
    )
    return result


def held_batches(session: Session) -> int:
    """Batches held because WeCom refuses the server's IP address (60020): shown as a banner
    in the console until an admin fixes 企业可信IP."""
    return (
        session.scalar(
            select(func.count())
            .select_from(OutboxBatch)
            .where(OutboxBatch.status == "pending", OutboxBatch.last_error.like("held: %"))
        )
        or 0
    )
