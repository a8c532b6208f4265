"""Signing a 责任书: once per person and text version, by text, card or on paper."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import counters
from bot.db import insert_ignore, upsert_insert
from bot.models import (
    Department,
    OutboundMessage,
    OutboxDelivery,
    PledgeRoundMember,
    PledgeSignature,
    PledgeView,
    User,
)
from bot.pledge.members import roles_of, text_for
from bot.pledge.texts import PledgeContent, sync_texts


@dataclass
class SignResult:
    signature: PledgeSignature
    created: bool


def find_signature(session: Session, userid: str, hash_: str) -> PledgeSignature | None:
    return session.scalar(
        select(PledgeSignature).where(
            PledgeSignature.userid == userid, PledgeSignature.text_hash == hash_
        )
    )


def signatures_of(session: Session, userid: str) -> list[PledgeSignature]:
    """Everything this person has signed, oldest first."""
    return list(
        session.scalars(
            select(PledgeSignature)
            .where(PledgeSignature.userid == userid)
            .order_by(PledgeSignature.signed_at)
        )
    )


def record_view(session: Session, userid: str, hash_: str, *, channel: str, now: datetime) -> None:
    """This person was shown this text now (the latest showing is kept)."""
    stmt = upsert_insert(session, PledgeView).values(
        userid=userid, text_hash=hash_, shown_at=now, channel=channel
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[PledgeView.userid, PledgeView.text_hash],
            set_={"shown_at": now, "channel": channel},
        )
    )


def record_views(
    session: Session, userids: Iterable[str], hash_: str, *, channel: str, now: datetime
) -> None:
    """Many people were shown one text (a round): an earlier showing is kept as it is."""
    rows = [{"userid": u, "text_hash": hash_, "shown_at": now, "channel": channel} for u in userids]
    for start in range(0, len(rows), 1000):
        insert_ignore(session, PledgeView, rows[start : start + 1000])


def last_view(session: Session, userid: str, hash_: str) -> PledgeView | None:
    """When this person was last shown this text (None: never, so a typed 确认 cannot sign)."""
    return session.scalar(
        select(PledgeView).where(PledgeView.userid == userid, PledgeView.text_hash == hash_)
    )


def sign(
    session: Session, user: User, text: PledgeContent, *, channel: str, now: datetime
) -> SignResult:
    """Record the signature once (unique userid + text hash) and stop pending reminders."""
    sync_texts(session, now)
    # Locks the member's row first: a directory move of this member waits (pledge_counts).
    counted_in = counters.locked_pledge_key(session, user.userid)
    round_id = session.scalar(
        select(PledgeRoundMember.round_id)
        .where(PledgeRoundMember.userid == user.userid, PledgeRoundMember.text_hash == text.hash)
        .order_by(PledgeRoundMember.round_id.desc())
        .limit(1)
    )
    dept_name = ""
    if user.department_id is not None:
        dept = session.get(Department, user.department_id)
        dept_name = dept.name if dept else ""
    row = insert_ignore(
        session,
        PledgeSignature,
        {
            "userid": user.userid,
            "name": user.name or "",
            "department_id": user.department_id,
            "department_name": dept_name,
            "text_key": text.key,
            "text_version": text.version,
            "text_hash": text.hash,
            "signed_at": now,
            "channel": channel,
            "round_id": round_id,
        },
        returning=PledgeSignature.id,
    ).first()
    signature = find_signature(session, user.userid, text.hash)
    assert signature is not None
    if row is not None:
        counters.took_part(session, user.userid, now.date())
        counters.count_signature(session, counted_in, text.hash)
        cancel_reminders(session, user.userid)
    return SignResult(signature, row is not None)


def sign_on_paper(session: Session, userid: str, now: datetime):
    """Record a signature given on paper: (SignResult, text) or None for an unknown member."""
    user = session.get(User, userid)
    if user is None:
        return None
    t = text_for(roles_of(session, user.userid), user)
    return sign(session, user, t, channel="cli", now=now), t


def cancel_reminders(session: Session, userid: str) -> int:
    """Reminders already queued but not yet sent stop at once for someone who has signed.

    The delivery is closed as dead with a reason rather than deleted, so the outbox counts
    (enqueued = sent + pending + dead) still add up.
    """
    ids = select(OutboundMessage.id).where(OutboundMessage.source == "pledge:remind")
    result = session.execute(
        update(OutboxDelivery)
        .where(
            OutboxDelivery.userid == userid,
            OutboxDelivery.status == "pending",
            OutboxDelivery.message_id.in_(ids),
        )
        .values(status="dead", last_error="cancelled: signed")
    )
    return result.rowcount or 0


def signed_hashes(
    session: Session,
    userids: Iterable[str] | None = None,
    *,
    hashes: Iterable[str] | None = None,
) -> set[tuple[str, str]]:
    """(userid, text hash) of signatures, optionally only for some people or some texts.

    Callers that hold many people (a whole round, everyone) pass `hashes` instead of `userids`:
    a few hashes make a small IN list, while 100,000 userids exceed PostgreSQL's 65,535 bind
    parameters and make SQLite build a huge temporary list.
    """
    q = select(PledgeSignature.userid, PledgeSignature.text_hash)
    if userids is not None:
        q = q.where(PledgeSignature.userid.in_(list(userids)))
    if hashes is not None:
        q = q.where(PledgeSignature.text_hash.in_(sorted(set(hashes)) or [""]))
    return {(u, h) for u, h in session.execute(q)}


def all_signatures(session: Session) -> dict[tuple[str, str], PledgeSignature]:
    """Every signature by (userid, text hash)."""
    return {(s.userid, s.text_hash): s for s in session.scalars(select(PledgeSignature))}
