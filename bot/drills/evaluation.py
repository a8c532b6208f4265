"""The evaluation form (演练评估), filled item by item by observers, and the findings it turns
up: each can become a hazard ticket (through the ledger's own creation code; origin is unique
there) or an improvement item on the plan."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.db import insert_ignore
from bot.drills.scenarios import EvalItem, Scenario, get_scenario
from bot.hazard import ledger
from bot.models import (
    Drill,
    DrillEvaluation,
    DrillFinding,
    EmergencyPlan,
    HazardReport,
    User,
)
from bot.settings import Settings

NOTHING = {"无", "没有", "暂无", "无问题", "跳过", "没问题"}


def answers(session: Session, drill_id: int, observer: str | None = None) -> list[DrillEvaluation]:
    q = select(DrillEvaluation).where(DrillEvaluation.drill_id == drill_id)
    if observer is not None:
        q = q.where(DrillEvaluation.observer == observer)
    return list(session.scalars(q.order_by(DrillEvaluation.id)))


def current_item(session: Session, drill: Drill, scenario: Scenario, observer: str):
    done = {a.item_id for a in answers(session, drill.id, observer)}
    return next((e for e in scenario.evaluation if e.id not in done), None)


def item_text(scenario: Scenario, item: EvalItem) -> str:
    index = scenario.evaluation.index(item) + 1
    key = "drills.eval.item_free" if item.free else "drills.eval.item_scale"
    return texts.get(key, index=index, total=len(scenario.evaluation), text=item.text)


def record(
    session: Session, drill: Drill, item: EvalItem, observer: str, text: str, now: datetime
) -> str | None:
    """Record an answer; the hint to show when it is not one (None when recorded)."""
    t = (text or "").strip()
    score = None
    if item.free:
        if not t:
            return texts.get("drills.eval.free_hint")
        value = "" if t in NOTHING else " ".join(t.split())[:2000]
    else:
        digits = t.rstrip("分")
        if not digits.isdigit() or not 1 <= int(digits) <= 5:
            return texts.get("drills.eval.scale_hint")
        score, value = int(digits), ""
    row = insert_ignore(
        session,
        DrillEvaluation,
        {
            "drill_id": drill.id,
            "observer": observer,
            "item_id": item.id,
            "score": score,
            "text": value,
            "answered_at": now,
        },
        returning=DrillEvaluation.id,
    ).first()
    if row is not None and item.free and value:
        insert_ignore(
            session,
            DrillFinding,
            {
                "drill_id": drill.id,
                "text": value,
                "found_by": observer,
                "found_at": now,
                "origin": f"eval:{row[0]}",
            },
        )
    return None


def findings(session: Session, drill_id: int | None = None) -> list[DrillFinding]:
    q = select(DrillFinding).order_by(DrillFinding.id)
    if drill_id is not None:
        q = q.where(DrillFinding.drill_id == drill_id)
    return list(session.scalars(q))


def average_scores(session: Session, drill: Drill) -> list[tuple[EvalItem, float | None, int]]:
    scenario = get_scenario(drill.scenario_id)
    rows = answers(session, drill.id)
    out = []
    for item in scenario.evaluation if scenario else ():
        if item.free:
            continue
        scores = [r.score for r in rows if r.item_id == item.id and r.score is not None]
        out.append((item, round(sum(scores) / len(scores), 1) if scores else None, len(scores)))
    return out


def make_ticket(
    session: Session,
    settings: Settings,
    finding: DrillFinding,
    *,
    owner: str,
    deadline: date,
    actor: str,
    now: datetime,
) -> HazardReport:
    """The finding becomes a YH ticket in the hazard ledger, assigned to `owner`."""
    if finding.hazard_id is not None:
        hazard = session.get(HazardReport, finding.hazard_id)
        if hazard is not None:
            return hazard
    drill = session.get(Drill, finding.drill_id)
    # The ticket belongs to the department that will fix it: the owner's.
    owner_row = session.get(User, owner)
    hazard = ledger.create_report(
        session,
        settings,
        reporter=actor if not actor.startswith(("console:", "cli")) else finding.found_by,
        department_id=owner_row.department_id if owner_row is not None else None,
        description=texts.get(
            "drills.findings.hazard_description", title=drill.title, text=finding.text
        ),
        category="other",
        location=drill.place or drill.title,
        latitude=None,
        longitude=None,
        photos=[],
        now=now,
        origin=f"drill:{finding.id}",
        # Filed and assigned by the officer in one step: nothing for the officers to accept.
        notify_officers=False,
    )
    ledger.assign(session, settings, hazard, actor=actor, now=now, owner=owner, deadline=deadline)
    finding.action, finding.hazard_id = "ticket", hazard.id
    finding.owner, finding.deadline = owner, deadline
    return hazard


def make_plan_item(
    session: Session, finding: DrillFinding, plan: EmergencyPlan, owner: str | None, deadline
) -> None:
    finding.action, finding.plan_id = "plan", plan.id
    finding.owner, finding.deadline = owner or plan.owner, deadline


def status_of(session: Session, finding: DrillFinding) -> str:
    """In words: open, a ticket's status, or the plan item's state."""
    if finding.hazard_id:
        hazard = session.get(HazardReport, finding.hazard_id)
        if hazard is not None:
            status = texts.raw("hazard.statuses").get(hazard.status, hazard.status)
            return f"{hazard.ticket} {status}"
    if finding.action == "plan":
        return texts.get(
            "drills.findings.plan_closed" if finding.closed_at else "drills.findings.plan_open"
        )
    return texts.get("drills.findings.open")
