"""Going through a checklist: the next item, recording an answer, a failed item's photo and
note, and the hazard ticket each failed item opens.

Progress lives in inspection_results (one row per item, unique per assignment), never in the
conversation: the inspector can stop, be interrupted, or come back after a restart and carry
on at the first item without a result. A failed item moves through stage photo → note → done;
at done it has its ticket, created through the hazard ledger (origin is unique there, so a
retried answer never opens a second ticket).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.db import insert_ignore
from bot.directory import officer_ids
from bot.hazard import ledger, photos
from bot.inspection.rounds import results_of
from bot.inspection.templates import Item, Template
from bot.messages import text_message
from bot.models import HazardReport, InspectionAssignment, InspectionResult
from bot.outbox import enqueue
from bot.people import department_name, display
from bot.settings import Settings

# What an inspector may type for each answer (normalised text).
ANSWERS = {
    "pass": {"合格", "1", "✓", "✔", "√", "对", "是", "好", "正常", "ok", "OK", "y", "Y"},
    "fail": {"不合格", "2", "✗", "✘", "×", "x", "X", "错", "否", "有问题", "n", "N"},
    "na": {"不适用", "3", "无此项", "不涉及", "/", "-", "na", "NA", "N/A", "n/a"},
}
SKIP_WORDS = {"跳过", "无", "没有", "不用", "略过", "算了", "不拍"}


def parse_answer(text: str) -> str | None:
    t = (text or "").strip().rstrip("。.!！")
    for value, words in ANSWERS.items():
        if t in words:
            return value
    return None


@dataclass
class Step:
    """Where an assignment stands: "item" (ask it), "photo"/"note" (a failed item), "done"."""

    kind: str
    index: int = 0  # 0-based item index
    item: Item | None = None
    result: InspectionResult | None = None


def current_step(session: Session, a: InspectionAssignment, template: Template) -> Step:
    rows = {r.item_id: r for r in results_of(session, a.id)}
    index = {item.id: i for i, item in enumerate(template.items)}
    for r in rows.values():
        if r.stage != "done" and r.item_id in index:
            return Step(r.stage, index[r.item_id], template.items[index[r.item_id]], r)
    for i, item in enumerate(template.items):
        if item.id not in rows:
            return Step("item", i, item)
    return Step("done")


def answer(
    session: Session,
    settings: Settings,
    a: InspectionAssignment,
    template: Template,
    item: Item,
    result: str,
    *,
    actor: str,
    now: datetime,
) -> bool:
    """Record one item's result; False if it was already recorded (a retried answer)."""
    stage = "done" if result != "fail" else ("photo" if item.photo_on_fail else "note")
    row = insert_ignore(
        session,
        InspectionResult,
        {
            "assignment_id": a.id,
            "item_id": item.id,
            "result": result,
            "stage": stage,
            "note": "",
            "answered_by": actor,
            "answered_at": now,
        },
        returning=InspectionResult.id,
    ).first()
    if row is None:
        return False
    if a.status == "pending":
        a.status, a.started_at = "in_progress", now
    if result == "fail" and item.critical:
        notify_critical(session, settings, a, template, item, actor, now)
    return True


def notify_critical(
    session: Session,
    settings: Settings,
    a: InspectionAssignment,
    template: Template,
    item: Item,
    actor: str,
    now: datetime,
) -> None:
    """A critical item failed: a 重大事故隐患 candidate, the officers are told at once."""
    officers = officer_ids(session, settings)
    if not officers:
        return
    body = texts.get(
        "inspection.critical_notice",
        title=template.title,
        department=department_name(session, a.department_id),
        inspector=display(session, actor),
        item=item.text,
        source=item.source,
    )
    enqueue(
        session,
        officers,
        text_message(body),
        source="inspection:critical",
        now=now,
        dedup_key=f"inspection:critical:{a.id}:{item.id}",
    )


def locked_result(session: Session, result_id: int) -> InspectionResult | None:
    return session.scalar(
        select(InspectionResult).where(InspectionResult.id == result_id).with_for_update()
    )


def add_photo(row: InspectionResult, media_id: str | None) -> None:
    """The failed item's photo (or none: 跳过); next the note."""
    if row.stage == "photo":
        row.media_id, row.stage = media_id, "note"


def add_note(
    session: Session,
    settings: Settings,
    a: InspectionAssignment,
    template: Template,
    row: InspectionResult,
    note: str,
    *,
    actor: str,
    now: datetime,
) -> HazardReport | None:
    """The failed item's note (or none): the item is done and its ticket is opened."""
    if row.stage != "note":
        return None
    row.note, row.stage = (note or "").strip()[:2000], "done"
    item = template.item(row.item_id)
    if item is None:
        return None
    place = department_name(session, a.department_id)
    description = texts.get(
        "inspection.hazard_description",
        title=template.title,
        item=item.text,
        note=texts.get("inspection.hazard_note", note=row.note) if row.note else "",
    )
    photo_rows = []
    if row.media_id:
        # Downloaded by the hazard photo retry job (within the minute): the callback has
        # WeCom's 5 s to answer and must not fetch media inside its transaction.
        photo_rows = [photos.photo_values(row.media_id, None, "not downloaded yet", now)]
    hazard = ledger.create_report(
        session,
        settings,
        reporter=actor,
        department_id=a.department_id,
        description=description,
        category=item.category,
        location=place,
        latitude=None,
        longitude=None,
        photos=photo_rows,
        now=now,
        origin=f"inspection:{a.id}:{item.id}",
    )
    row.hazard_id = hazard.id
    return hazard


def finish_if_complete(
    session: Session, a: InspectionAssignment, template: Template, now: datetime
) -> bool:
    """Mark the assignment done once every item has a finished result."""
    if a.status == "done":
        return True
    if current_step(session, a, template).kind != "done":
        return False
    a.status, a.finished_at = "done", now
    return True


def tickets_of(session: Session, assignment_id: int) -> list[str]:
    return list(
        session.scalars(
            select(HazardReport.ticket)
            .join(InspectionResult, InspectionResult.hazard_id == HazardReport.id)
            .where(InspectionResult.assignment_id == assignment_id)
            .order_by(HazardReport.id)
        )
    )
