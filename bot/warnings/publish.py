"""Publishing warnings and broadcasts: who receives them, the stored record, the outbox rows.

Everything here writes in the caller's transaction and sends through the outbox, with dedup
keys, so a handler retried never sends twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.directory import active_members
from bot.messages import text_message
from bot.models import Department, RiskWarning, WarningRecipient
from bot.outbox import enqueue
from bot.settings import Settings
from bot.warnings.acks import ack_card, card_message
from bot.warnings.templates import ACK_LEVELS, ROBOT_MARKDOWN_LIMIT, RenderedWarning, cut_bytes

log = logging.getLogger(__name__)

DEFAULT_ACK_MINUTES = 30
RECIPIENT_CHUNK = 5000


def labels() -> dict[str, str]:
    return {k: str(v) for k, v in texts.raw("warning.labels").items()}


# -- recipients and scope ---------------------------------------------------------------------------------
def recipients_for(session: Session, department_ids: Iterable[int]) -> list[tuple[str, int | None]]:
    """Active members, in the given departments and their sub-departments ([] = everyone)."""
    return active_members(session, department_ids)


def departments_by_name(session: Session, names: Iterable[str]) -> tuple[list[int], list[str]]:
    """Department ids for names (exact first, else a unique partial match), and unknown names."""
    all_depts = list(session.execute(select(Department.id, Department.name)))
    found: list[int] = []
    unknown: list[str] = []
    for name in names:
        exact = [i for i, n in all_depts if n == name]
        partial = [i for i, n in all_depts if name in n]
        if exact or len(partial) == 1:
            found.append((exact or partial)[0])
        else:
            unknown.append(name)
    return found, unknown


def department_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """Names of the given departments, by id."""
    return dict(
        session.execute(
            select(Department.id, Department.name).where(Department.id.in_(list(ids)))
        ).all()
    )


def recent_warnings(session: Session, limit: int = 20) -> list[RiskWarning]:
    """The latest warnings and broadcasts, newest first."""
    return list(session.scalars(select(RiskWarning).order_by(RiskWarning.id.desc()).limit(limit)))


# -- publishing ---------------------------------------------------------------------------------
def publish(
    session: Session,
    settings: Settings,
    now: datetime,
    *,
    created_by: str,
    rendered: RenderedWarning,
    department_ids: list[int] | None = None,
    require_ack: bool | None = None,
    ack_minutes: int | None = None,
    kind: str = "warning",
    scope_label: str = "",
) -> RiskWarning:
    """Record a warning (or broadcast) and queue it for its recipients and the group robots."""
    department_ids = sorted(set(department_ids or []))
    if require_ack is None:
        require_ack = kind == "warning" and rendered.level in ACK_LEVELS
    ack_minutes = ack_minutes or DEFAULT_ACK_MINUTES
    recipients = recipients_for(session, department_ids)
    warning = RiskWarning(
        kind=kind,
        created_at=now,
        created_by=created_by,
        hazard=rendered.hazard,
        level=rendered.level,
        title=rendered.title[:200],
        text=rendered.text(labels()),
        department_ids=department_ids,
        recipients_total=len(recipients),
        require_ack=require_ack,
        ack_minutes=ack_minutes,
        remind_at=now + timedelta(minutes=ack_minutes) if require_ack else None,
        escalate_at=now + timedelta(minutes=2 * ack_minutes) if require_ack else None,
    )
    session.add(warning)
    session.flush()
    for start in range(0, len(recipients), RECIPIENT_CHUNK):
        session.execute(
            insert(WarningRecipient),
            [
                {"warning_id": warning.id, "userid": u, "department_id": d}
                for u, d in recipients[start : start + RECIPIENT_CHUNK]
            ],
        )
    userids = [u for u, _ in recipients]
    body = text_message(warning.text)
    enqueue(
        session,
        userids,
        body,
        source=f"{kind}:{warning.id}",
        now=now,
        dedup_key=f"{kind}:{warning.id}:text",
    )
    if require_ack:
        enqueue(
            session,
            userids,
            card_message(ack_card(warning, now)),
            source=f"{kind}:{warning.id}:card",
            now=now,
            dedup_key=f"{kind}:{warning.id}:card",
        )
    if kind == "warning" and settings.robot_keys:
        scope_line = (
            "\n\n" + texts.get("warning.robot_scope", scope=scope_label) if scope_label else ""
        )
        # The robot takes at most 4096 bytes of markdown: cut the warning, never the scope.
        md = cut_bytes(rendered.markdown(labels()), ROBOT_MARKDOWN_LIMIT - len(scope_line.encode()))
        md += scope_line
        enqueue(
            session,
            settings.robot_keys,
            {"msgtype": "markdown", "markdown": {"content": md}},
            source=f"warning:{warning.id}:robot",
            now=now,
            kind="robot",
            dedup_key=f"warning:{warning.id}:robot",
            duplicate_check=False,
        )
    return warning
