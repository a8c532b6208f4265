"""Reminders before a round's due date and escalation of an overdue one, as for 责任书 rounds:
the inspector is reminded once, the day before the due date (or on it); the day after, the
department's head is told. The outbox dedup keys make each step happen once, whichever process
runs the hourly job and however often."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.directory import department_heads
from bot.inspection.rounds import progress
from bot.messages import text_message
from bot.models import InspectionAssignment, InspectionRound
from bot.outbox import enqueue
from bot.people import department_name, display
from bot.services import Services

REMIND_DAYS_BEFORE = 1


def inspection_reminders(session: Session, services: Services, now: datetime) -> str:
    today = now.astimezone(services.settings.tz).date()
    reminded = escalated = 0
    rows = session.execute(
        select(InspectionAssignment, InspectionRound)
        .join(InspectionRound)
        .where(
            InspectionAssignment.status != "done",
            InspectionRound.due >= today - timedelta(days=30),
        )
        .order_by(InspectionAssignment.id)
    )
    for a, rnd in rows:
        p = progress(session, a)
        values = dict(
            title=rnd.title,
            department=department_name(session, a.department_id),
            due=rnd.due.isoformat(),
            answered=p.answered,
            total=p.total,
        )
        if today <= rnd.due <= today + timedelta(days=REMIND_DAYS_BEFORE):
            if enqueue(
                session,
                [a.inspector],
                text_message(texts.get("inspection.reminder", **values)),
                source="inspection:remind",
                now=now,
                dedup_key=f"inspection:remind:{a.id}",
            ):
                reminded += 1
        elif rnd.due < today:
            heads = [h for h in department_heads(session, a.department_id) if h != a.inspector]
            if heads and enqueue(
                session,
                heads,
                text_message(
                    texts.get(
                        "inspection.escalation",
                        inspector=display(session, a.inspector),
                        **values,
                    )
                ),
                source="inspection:escalate",
                now=now,
                dedup_key=f"inspection:escalate:{a.id}",
            ):
                escalated += 1
    return f"reminded {reminded}, escalated {escalated}"
