"""Signing rounds: who is asked to sign what, and the texts and cards queued to them."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.db import insert_ignore
from bot.messages import text_message
from bot.models import PledgeRound, PledgeRoundMember
from bot.outbox import enqueue
from bot.pledge.cards import card_message, sign_card, task_id_for, text_parts
from bot.pledge.members import active_members, text_keys_for_members
from bot.pledge.signing import record_views, signed_hashes
from bot.pledge.texts import current_texts, sync_texts


def launch_round(
    session: Session, launched_by: str, now: datetime, departments: list[int] | None = None
) -> tuple[PledgeRound, dict[str, list[str]]]:
    """Snapshot who is asked to sign what; returns the round and unsigned userids per text key."""
    texts_now = sync_texts(session, now)
    members = active_members(session, departments)
    keys = text_keys_for_members(session, members)
    rnd = PledgeRound(
        launched_by=launched_by,
        launched_at=now,
        departments=list(departments or []),
        members_total=len(members),
    )
    session.add(rnd)
    session.flush()
    signed = signed_hashes(session)
    rows = []
    to_send: dict[str, list[str]] = defaultdict(list)
    for u in members:
        t = texts_now[keys[u.userid]]
        rows.append(
            {
                "round_id": rnd.id,
                "userid": u.userid,
                "department_id": u.department_id,
                "text_key": t.key,
                "text_hash": t.hash,
            }
        )
        if (u.userid, t.hash) not in signed:
            to_send[t.key].append(u.userid)
    for start in range(0, len(rows), 1000):
        insert_ignore(session, PledgeRoundMember, rows[start : start + 1000])
    return rnd, dict(to_send)


def launch(
    session: Session, launched_by: str, now: datetime, departments: list[int] | None, tz
) -> tuple[int, int, int]:
    """Launch a round and queue the texts and cards. Returns (round id, in scope, pending)."""
    rnd, to_send = launch_round(session, launched_by, now, departments)
    current = current_texts()
    for key, userids in sorted(to_send.items()):
        t = current[key]
        bodies = [text_message(texts.get("pledge.launch_notice", title=t.title))]
        bodies += [text_message(p) for p in text_parts(t)]
        bodies.append(
            card_message(
                sign_card(
                    t,
                    task_id=task_id_for("round", str(rnd.id), key),
                    description=texts.get("pledge.card_desc"),
                    button=texts.get("pledge.card_button"),
                )
            )
        )
        record_views(session, userids, t.hash, channel="round", now=now)
        for i, body in enumerate(bodies):
            enqueue(
                session,
                userids,
                body,
                source="pledge:round",
                now=now,
                dedup_key=f"pledge:round:{rnd.id}:{key}:{i}",
            )
    return rnd.id, rnd.members_total, sum(len(v) for v in to_send.values())


def round_members(session: Session, round_id: int) -> list[PledgeRoundMember]:
    return list(
        session.scalars(
            select(PledgeRoundMember)
            .where(PledgeRoundMember.round_id == round_id)
            .order_by(PledgeRoundMember.userid)
        )
    )


def unsigned_members(session: Session, round_id: int) -> list[PledgeRoundMember]:
    members = round_members(session, round_id)
    signed = signed_hashes(session, hashes={m.text_hash for m in members}) if members else set()
    return [m for m in members if (m.userid, m.text_hash) not in signed]


def rounds_since(session: Session, since: datetime) -> list[PledgeRound]:
    return list(session.scalars(select(PledgeRound).where(PledgeRound.launched_at >= since)))


def round_day(rnd: PledgeRound, now: datetime) -> int:
    """Full days since launch (0 on the day of launch, 1 after 24 hours …)."""
    return int((now - rnd.launched_at) // timedelta(days=1))
