"""Grading a hazard (一般 / 重大事故隐患) and its rectification plan (治理方案).

A major hazard notifies the safety officers and the leadership at once and needs a plan before
its fix can be verified (bot.hazard.states refuses the verify otherwise). Both changes leave
a HazardTransition row, so the history shows them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.directory import officer_ids
from bot.hazard import notices, states
from bot.hazard.grades import GRADES, grade_label
from bot.models import HazardReport, RoleAssignment, User
from bot.outbox import enqueue
from bot.settings import Settings


def leaders(session: Session) -> list[str]:
    """Members with the leader role (单位领导), still with the organisation."""
    ids = set(session.scalars(select(RoleAssignment.userid).where(RoleAssignment.role == "leader")))
    active = set(session.scalars(select(User.userid).where(User.userid.in_(ids), User.status == 1)))
    return sorted(active)


def set_grade(
    session: Session,
    settings: Settings,
    hazard: HazardReport,
    grade: str,
    *,
    actor: str,
    now: datetime,
) -> bool:
    """Grade `hazard`; True if the grade changed. Raising to major tells the officers and the
    leadership at once (once per hazard: the outbox dedup key)."""
    if grade not in GRADES:
        raise ValueError(f"unknown grade {grade!r}")
    if hazard.grade == grade:
        return False
    hazard.grade, hazard.updated_at = grade, now
    states.record(
        session,
        hazard,
        actor=actor,
        action="grade",
        from_status=hazard.status,
        to_status=hazard.status,
        note=grade_label(grade),
        now=now,
    )
    if grade == "major":
        to = list(dict.fromkeys(officer_ids(session, settings) + leaders(session)))
        to = [u for u in to if u != actor] or to
        if to:
            enqueue(
                session,
                to,
                notices.major(session, hazard, actor),
                source="hazard:major",
                now=now,
                dedup_key=f"hazard:major:{hazard.ticket}",
            )
    return True


def set_plan(
    session: Session, hazard: HazardReport, plan: str, *, actor: str, now: datetime
) -> None:
    """Record the rectification plan (治理方案), a text (or the name of an attached file)."""
    plan = (plan or "").strip()[:4000]
    if not plan:
        raise states.MissingInput("need_plan")
    hazard.plan, hazard.updated_at = plan, now
    states.record(
        session,
        hazard,
        actor=actor,
        action="plan",
        from_status=hazard.status,
        to_status=hazard.status,
        note=plan[:500],
        now=now,
    )
