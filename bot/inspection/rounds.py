"""Inspection rounds: starting one (a template, departments and their inspectors, a due date),
telling the inspectors, and the queries over rounds and their progress."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.db import insert_ignore
from bot.directory import active_members
from bot.inspection.templates import Template, find_template, templates
from bot.messages import text_message
from bot.models import Department, InspectionAssignment, InspectionResult, InspectionRound, User
from bot.outbox import enqueue
from bot.people import department_name, display

CARD_PREFIX = "inspection:"


class RoundRefused(ValueError):
    """A round that cannot be started: `key` names the reply text (content inspection.*)."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key, self.values = key, values

    def text(self) -> str:
        return texts.get(f"inspection.{self.key}", **self.values)


def check_round(
    session: Session, template_id: str, assignments: list[tuple[int, str]], due: date, today: date
) -> Template:
    """The template, if the round can be started; RoundRefused (one reason) otherwise."""
    template = find_template(template_id)
    if template is None:
        titles = "、".join(f"{i}. {tp.title}" for i, tp in enumerate(templates().values(), 1))
        raise RoundRefused("unknown_template", template=template_id, ids=titles or "-")
    if not assignments:
        raise RoundRefused("no_departments")
    seen: set[int] = set()
    for dept_id, inspector in assignments:
        dept = session.get(Department, dept_id) if -(2**31) <= dept_id < 2**31 else None
        if dept is None:
            raise RoundRefused("unknown_department", department=dept_id)
        if dept_id in seen:
            raise RoundRefused("department_twice", department=dept.name)
        seen.add(dept_id)
        if not active_members(session, [dept_id]):
            raise RoundRefused("no_members", department=dept.name)
        user = session.get(User, inspector)
        if user is None or user.status != 1:
            raise RoundRefused("unknown_inspector", inspector=inspector)
    if due < today:
        raise RoundRefused("past_due", due=due.isoformat())
    return template


def start_round(
    session: Session,
    *,
    template_id: str,
    assignments: list[tuple[int, str]],
    due: date,
    actor: str,
    now: datetime,
    today: date,
    schedule_id: int | None = None,
    occurrence: str | None = None,
) -> InspectionRound | None:
    """Start a round and tell each inspector (a text and a card). With `occurrence` (a
    schedule's), a second start of the same occurrence does nothing and returns None."""
    template = check_round(session, template_id, assignments, due, today)
    values = {
        "template_id": template.id,
        "title": template.title[:128],
        "due": due,
        "started_by": actor,
        "started_at": now,
        "schedule_id": schedule_id,
        "occurrence": occurrence,
    }
    row = insert_ignore(session, InspectionRound, values, returning=InspectionRound.id).first()
    if row is None:
        return None
    rnd = session.get(InspectionRound, row[0])
    for dept_id, inspector in assignments:
        a = InspectionAssignment(
            round_id=rnd.id,
            department_id=dept_id,
            inspector=inspector,
            status="pending",
            items_total=len(template.items),
        )
        session.add(a)
        session.flush()
        notify_inspector(session, rnd, a, template, now)
    return rnd


def notify_inspector(
    session: Session, rnd: InspectionRound, a: InspectionAssignment, template: Template, now
) -> None:
    place = department_name(session, a.department_id)
    body = texts.get(
        "inspection.assigned",
        title=template.title,
        department=place,
        due=rnd.due.isoformat(),
        count=len(template.items),
    )
    enqueue(
        session,
        [a.inspector],
        text_message(body),
        source="inspection:start",
        now=now,
        dedup_key=f"inspection:start:{a.id}",
    )
    enqueue(
        session,
        [a.inspector],
        {"msgtype": "template_card", "template_card": start_card(rnd, a, template, place)},
        source="inspection:start",
        now=now,
        dedup_key=f"inspection:start-card:{a.id}",
    )


def start_card(
    rnd: InspectionRound, a: InspectionAssignment, template: Template, place: str
) -> dict[str, Any]:
    """A button card: tapping 开始检查 starts (or continues) the checklist in chat."""
    t = texts.get
    return {
        "card_type": "button_interaction",
        "source": {"desc": t("inspection.card_source")},
        "main_title": {
            "title": t("inspection.card_title", title=template.title)[:36],
            "desc": t("inspection.card_desc", due=rnd.due.isoformat())[:44],
        },
        "horizontal_content_list": [
            {"keyname": t("inspection.card_place")[:5], "value": place[:30] or "-"},
            {"keyname": t("inspection.card_items")[:5], "value": str(len(template.items))},
            {"keyname": t("inspection.card_due")[:5], "value": rnd.due.isoformat()},
        ],
        "task_id": f"insp-{a.id}-{rnd.started_at:%Y%m%d%H%M%S}"[:128],
        "button_list": [
            {"text": t("inspection.card_button"), "style": 1, "key": f"{CARD_PREFIX}start:{a.id}"}
        ],
    }


# -- queries ------------------------------------------------------------------------------------
def open_assignments(session: Session, userid: str) -> list[InspectionAssignment]:
    """The inspector's unfinished assignments, the one already started first, then by due."""
    rows = session.scalars(
        select(InspectionAssignment)
        .join(InspectionRound)
        .where(InspectionAssignment.inspector == userid, InspectionAssignment.status != "done")
        .order_by(
            (InspectionAssignment.status == "in_progress").desc(),
            InspectionRound.due,
            InspectionAssignment.id,
        )
    )
    return list(rows)


def results_of(session: Session, assignment_id: int) -> list[InspectionResult]:
    return list(
        session.scalars(
            select(InspectionResult)
            .where(InspectionResult.assignment_id == assignment_id)
            .order_by(InspectionResult.id)
        )
    )


@dataclass
class Progress:
    answered: int
    total: int
    passed: int
    failed: int
    na: int


def progress(session: Session, a: InspectionAssignment) -> Progress:
    counts: Counter[str] = Counter()
    for result, n in session.execute(
        select(InspectionResult.result, func.count())
        .where(InspectionResult.assignment_id == a.id)
        .group_by(InspectionResult.result)
    ):
        counts[result] = n
    return Progress(
        answered=sum(counts.values()),
        total=a.items_total,
        passed=counts["pass"],
        failed=counts["fail"],
        na=counts["na"],
    )


def rounds_overview(session: Session, today: date) -> list[dict[str, Any]]:
    """Every round with its departments' progress; overdue unfinished rounds first."""
    out = []
    for rnd in session.scalars(select(InspectionRound).order_by(InspectionRound.id.desc())):
        depts = []
        for a in rnd.assignments:
            p = progress(session, a)
            depts.append(
                {
                    "assignment": a,
                    "department": department_name(session, a.department_id),
                    "inspector": display(session, a.inspector),
                    "progress": p,
                }
            )
        done = all(a.status == "done" for a in rnd.assignments)
        out.append(
            {
                "round": rnd,
                "departments": depts,
                "done": done,
                "overdue": not done and rnd.due < today,
            }
        )
    out.sort(key=lambda r: (not r["overdue"], r["done"], -r["round"].id))
    return out
