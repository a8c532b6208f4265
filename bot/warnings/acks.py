"""The 收到 card, acknowledgements, and the follow-up job (one reminder, then the heads).

Everything here writes in the caller's transaction and sends through the outbox, with dedup
keys, so a job run twice never sends twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.db import chunks, insert_ignore
from bot.directory import department_heads
from bot.localtime import stamp
from bot.messages import text_message
from bot.models import Department, RiskWarning, User, WarningAck, WarningRecipient
from bot.outbox import enqueue
from bot.settings import Settings
from bot.warnings.templates import LEVEL_NAMES, truncate


# -- the 收到 card ------------------------------------------------------------------------------
def ack_card(
    warning: RiskWarning,
    now: datetime,
    *,
    reminder: bool = False,
    acked_at: datetime | None = None,
    tz=None,
) -> dict[str, Any]:
    """The button card asking for 收到 (or, once clicked, the same card without the button).

    WeCom: task_id must be unique within the app and only [A-Za-z0-9_-@], at most 128 bytes,
    so it carries the creation time too (a reset database must not reuse an old task id).
    """
    created = int(warning.created_at.timestamp())
    suffix = "r" if reminder else "a"
    desc = "reminder_desc" if reminder else "desc"
    if warning.kind == "broadcast":
        desc = "broadcast_" + desc
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "source": {"desc": texts.get("warning.card.source")},
        "main_title": {
            "title": truncate(warning.title, 26),
            "desc": texts.get("warning.card." + desc),
        },
        "sub_title_text": texts.get("warning.card.ask", minutes=warning.ack_minutes),
        "task_id": f"warning-{warning.id}-{created}-{suffix}",
    }
    if acked_at is not None:
        when = stamp(acked_at, tz, "%m-%d %H:%M") if tz else acked_at.strftime("%m-%d %H:%M")
        card["sub_title_text"] = texts.get("warning.card.acked", time=when)
        # replace_text turns the button area into plain text: nothing left to click.
        card["replace_text"] = texts.get("warning.card.acked_button")
        card["button_list"] = [
            {
                "text": texts.get("warning.card.acked_button"),
                "style": 2,
                "key": f"warning:acked:{warning.id}",
            }
        ]
    else:
        card["button_list"] = [
            {
                "text": texts.get("warning.card.button"),
                "style": 1,
                "key": f"warning:ack:{warning.id}",
            }
        ]
    return card


def card_message(card: dict[str, Any]) -> dict[str, Any]:
    return {"msgtype": "template_card", "template_card": card}


def record_ack(session: Session, warning_id: int, userid: str, now: datetime) -> bool | None:
    """True: recorded now; False: already acknowledged; None: not a recipient of it."""
    is_recipient = session.get(WarningRecipient, (warning_id, userid)) is not None
    if not is_recipient:
        return None
    row = insert_ignore(
        session,
        WarningAck,
        {"warning_id": warning_id, "userid": userid, "acked_at": now},
        returning=WarningAck.id,
    ).first()
    return row is not None


def thanks_key(warning: RiskWarning) -> str:
    """The thanks for a 收到: a warning asks to take precautions, a notice only to read it."""
    return "warning.ack_thanks_broadcast" if warning.kind == "broadcast" else "warning.ack_thanks"


def latest_unacknowledged(session: Session, userid: str) -> RiskWarning | None:
    """The newest warning or notice that asks `userid` for 收到 and has not had it."""
    acked = select(WarningAck.warning_id).where(WarningAck.userid == userid)
    return session.scalars(
        select(RiskWarning)
        .join(WarningRecipient, WarningRecipient.warning_id == RiskWarning.id)
        .where(
            WarningRecipient.userid == userid,
            RiskWarning.require_ack.is_(True),
            RiskWarning.id.not_in(acked),
        )
        .order_by(RiskWarning.id.desc())
        .limit(1)
    ).first()


def find_warning(session: Session, warning_id: int | None) -> RiskWarning | None:
    return session.get(RiskWarning, warning_id) if warning_id is not None else None


def acked_at(session: Session, warning_id: int, userid: str) -> datetime | None:
    """When `userid` clicked 收到 on the warning (None if they have not)."""
    return session.scalar(
        select(WarningAck.acked_at).where(
            WarningAck.warning_id == warning_id, WarningAck.userid == userid
        )
    )


def people_names(session: Session, userids: Iterable[str]) -> dict[str, str | None]:
    """Display names of the given members, by userid."""
    names: dict[str, str | None] = {}
    for part in chunks(list(userids)):
        names.update(
            session.execute(select(User.userid, User.name).where(User.userid.in_(part))).all()
        )
    return names


def unacknowledged(session: Session, warning_id: int) -> list[tuple[str, int | None]]:
    acked = select(WarningAck.userid).where(WarningAck.warning_id == warning_id)
    return [
        (u, d)
        for u, d in session.execute(
            select(WarningRecipient.userid, WarningRecipient.department_id)
            .where(WarningRecipient.warning_id == warning_id, WarningRecipient.userid.not_in(acked))
            .order_by(WarningRecipient.userid)
        )
    ]


def ack_count(session: Session, warning_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(WarningAck).where(WarningAck.warning_id == warning_id)
        )
        or 0
    )


# -- follow-up job ------------------------------------------------------------------------------
def run_followups(session: Session, settings: Settings, now: datetime) -> str:
    """One reminder to whoever has not clicked 收到, then the list to their department heads."""
    reminded = escalated = 0
    due = session.scalars(
        select(RiskWarning).where(
            RiskWarning.require_ack.is_(True),
            RiskWarning.reminded_at.is_(None),
            RiskWarning.remind_at <= now,
        )
    ).all()
    for warning in due:
        pending = [u for u, _ in unacknowledged(session, warning.id)]
        if pending:
            enqueue(
                session,
                pending,
                card_message(ack_card(warning, now, reminder=True)),
                source=f"warning:{warning.id}:remind",
                now=now,
                dedup_key=f"warning:{warning.id}:remind",
            )
            enqueue(
                session,
                pending,
                text_message(
                    texts.get("warning.reminder", title=warning.title, minutes=warning.ack_minutes)
                ),
                source=f"warning:{warning.id}:remind",
                now=now,
                dedup_key=f"warning:{warning.id}:remind-text",
            )
            reminded += len(pending)
        warning.reminded_at = now
    due = session.scalars(
        select(RiskWarning).where(
            RiskWarning.require_ack.is_(True),
            RiskWarning.escalated_at.is_(None),
            RiskWarning.escalate_at <= now,
        )
    ).all()
    for warning in due:
        escalated += _escalate(session, warning, now, settings.tz)
        warning.escalated_at = now
    return f"reminded {reminded}, escalated to {escalated} heads"


def _escalate(session: Session, warning: RiskWarning, now: datetime, tz) -> int:
    pending = unacknowledged(session, warning.id)
    if not pending:
        return 0
    depts = dict(session.execute(select(Department.id, Department.parent_id)).all())
    # A warning to everyone can leave most of the organisation pending: names in bounded
    # lists, each department's heads looked up once, not once per person.
    names = people_names(session, [u for u, _ in pending])
    dept_names = dict(session.execute(select(Department.id, Department.name)).all())
    heads_of: dict[int, list[str]] = {}
    by_head: dict[str, list[str]] = defaultdict(list)
    for userid, dept_id in pending:
        # A head who has not clicked 收到 is not on their own list: the list goes to the
        # heads above them instead.
        heads = _heads_up_the_tree(session, dept_id, depts, heads_of, skip=userid)
        for head in heads:
            label = names.get(userid) or userid
            if dept_id in dept_names:
                label += f"（{dept_names[dept_id]}）"
            by_head[head].append(label)
    for head, people in sorted(by_head.items()):
        text = texts.get(
            "warning.escalation",
            title=warning.title,
            what=_what(warning),
            published=stamp(warning.created_at, tz),
            id=warning.id,
            count=len(people),
            minutes=2 * warning.ack_minutes,
            names="、".join(people[:200]),
        )
        enqueue(
            session,
            [head],
            text_message(text),
            source=f"warning:{warning.id}:escalate",
            now=now,
            dedup_key=f"warning:{warning.id}:escalate:{head}",
        )
    return len(by_head)


def _what(warning: RiskWarning) -> str:
    """「橙色预警」, 「预警」 (no level) or 「通知」: how the escalation names the message."""
    if warning.kind == "broadcast":
        return texts.get("warning.escalation_broadcast")
    if warning.level in LEVEL_NAMES:
        return texts.get("warning.escalation_level", level=LEVEL_NAMES[warning.level])
    return texts.get("warning.escalation_plain")


def _heads_up_the_tree(
    session: Session,
    dept_id: int | None,
    parents: dict[int, int | None],
    heads_of: dict[int, list[str]],
    skip: str = "",
) -> list[str]:
    """The heads of the member's department, else of the nearest parent that has one (never
    `skip`, the member themself). `heads_of` remembers each department's heads."""
    seen: set[int] = set()
    while dept_id is not None and dept_id not in seen:
        seen.add(dept_id)
        if dept_id not in heads_of:
            heads_of[dept_id] = department_heads(session, dept_id)
        heads = [h for h in heads_of[dept_id] if h != skip]
        if heads:
            return heads
        dept_id = parents.get(dept_id)
    return []
