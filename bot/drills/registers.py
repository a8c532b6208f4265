"""The plan register and the supplies register as chat and CLI read them."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from bot.content import texts
from bot.drills import plans, supplies
from bot.people import display


def plan_line(session: Session, p, today: date) -> str:
    due = "；".join(
        texts.get(f"drills.plans.due_{what}", due=day.isoformat())
        for what, day in plans.due_items(p, today)
    )
    return texts.get(
        "drills.plans.line",
        id=p.id,
        title=p.title,
        kind=plans.kind_label(p.kind),
        version=p.version or "-",
        owner=display(session, p.owner) or "-",
        last_review=p.last_review.isoformat() if p.last_review else "-",
        next_review=p.next_review.isoformat() if p.next_review else "-",
        last_drill=p.last_drill.isoformat() if p.last_drill else "-",
        due=due,
    )


def plan_list_text(session: Session, today: date) -> str:
    rows = plans.all_plans(session)
    if not rows:
        return texts.get("drills.plans.none")
    return "\n".join(
        [texts.get("drills.plans.head")] + [plan_line(session, p, today) for p in rows]
    )


def supply_line(session: Session, s, today: date) -> str:
    flags = []
    if supplies.expiring(s, today):
        flags.append(texts.get("drills.supplies.flag_expiring"))
    if s.min_quantity and s.quantity < s.min_quantity:
        flags.append(texts.get("drills.supplies.flag_low"))
    return texts.get(
        "drills.supplies.line",
        id=s.id,
        name=s.name,
        quantity=s.quantity,
        location=s.location or "-",
        keeper=display(session, s.keeper) or "-",
        expires=s.expires_on.isoformat() if s.expires_on else "-",
        condition=supplies.condition_label(s),
        flags="".join(flags),
    )


def supply_list_text(session: Session, today: date) -> str:
    rows = supplies.all_supplies(session)
    if not rows:
        return texts.get("drills.supplies.none")
    return "\n".join(
        [texts.get("drills.supplies.head")] + [supply_line(session, s, today) for s in rows]
    )
