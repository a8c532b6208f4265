"""A round as a 检查记录表: one sheet per department, in the shape of the paper form an
inspector and the department head sign (header with place, date and inspector; the items with
their results, notes and tickets; signature lines). Every cell goes through bot.exports, so
text typed in chat is never a formula."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.exports import set_cell
from bot.inspection.rounds import results_of
from bot.inspection.templates import get_template
from bot.localtime import stamp
from bot.models import HazardReport, InspectionRound
from bot.people import department_name, display
from bot.settings import Settings


def _t(key: str, **values: Any) -> str:
    return texts.get(f"inspection.export.{key}", **values)


def result_label(result: str | None) -> str:
    return _t(f"results.{result or 'none'}")


def item_rows(session: Session, assignment, template) -> list[list[Any]]:
    """[序号, 检查项目, 检查结果, 问题说明, 隐患编号, 依据] for every item of the template."""
    results = {r.item_id: r for r in results_of(session, assignment.id)}
    tickets = dict(
        session.execute(
            select(HazardReport.id, HazardReport.ticket).where(
                HazardReport.id.in_([r.hazard_id for r in results.values() if r.hazard_id])
            )
        ).all()
    )
    rows = []
    for n, item in enumerate(template.items if template else [], 1):
        r = results.get(item.id)
        rows.append(
            [
                n,
                item.text,
                result_label(r.result if r else None),
                (r.note if r else "") or "",
                tickets.get(r.hazard_id, "") if r and r.hazard_id else "",
                item.source,
            ]
        )
    return rows


def write_round(session: Session, settings: Settings, round_id: int, path: str | Path) -> int:
    """Write the round's 检查记录表 to `path`; returns the number of sheets (departments)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    rnd = session.get(InspectionRound, round_id)
    if rnd is None:
        raise LookupError(round_id)
    template = get_template(rnd.template_id)
    wb = Workbook()
    wb.remove(wb.active)
    wrap = Alignment(wrap_text=True, vertical="top")
    for a in rnd.assignments:
        place = department_name(session, a.department_id)
        ws = wb.create_sheet(title=(place or str(a.department_id))[:31])
        set_cell(ws, 1, 1, _t("title", title=rnd.title)).font = Font(size=14, bold=True)
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=6)
        when = stamp(a.finished_at or a.started_at, settings.tz, "%Y-%m-%d") or ""
        header = [
            (_t("place"), place),
            (_t("date"), when),
            (_t("inspector"), display(session, a.inspector)),
        ]
        for col, (label, value) in enumerate(header):
            set_cell(ws, 2, 1 + col * 2, label).font = Font(bold=True)
            set_cell(ws, 2, 2 + col * 2, value)
        set_cell(ws, 3, 1, _t("due")).font = Font(bold=True)
        set_cell(ws, 3, 2, rnd.due.isoformat())
        set_cell(ws, 3, 3, _t("sources")).font = Font(bold=True)
        set_cell(ws, 3, 4, "；".join(template.sources) if template else "")
        ws.merge_cells(start_row=3, start_column=4, end_row=3, end_column=6)
        row = 5
        for col, label in enumerate(texts.raw("inspection.export.header"), 1):
            set_cell(ws, row, col, str(label)).font = Font(bold=True)
        for values in item_rows(session, a, template):
            row += 1
            for col, value in enumerate(values, 1):
                set_cell(ws, row, col, value).alignment = wrap
        row += 2
        set_cell(ws, row, 1, _t("sign_inspector"))
        set_cell(ws, row, 3, _t("sign_head"))
        set_cell(ws, row, 5, _t("sign_date"))
        for col, width in zip("ABCDEF", (8, 40, 10, 30, 20, 40), strict=True):
            ws.column_dimensions[col].width = width
    if not rnd.assignments:
        wb.create_sheet(title=rnd.title[:31])
    wb.save(str(path))
    return len(rnd.assignments)


def summary_rows(session: Session, allows=lambda _dept: True) -> list[dict[str, Any]]:
    """One row per round and department, for the campaign summary (活动总结)."""
    from bot.inspection.answering import tickets_of
    from bot.inspection.rounds import progress

    rows = []
    for rnd in session.scalars(select(InspectionRound).order_by(InspectionRound.id)):
        for a in rnd.assignments:
            if not allows(a.department_id):
                continue
            p = progress(session, a)
            rows.append(
                {
                    "round": rnd.id,
                    "title": rnd.title,
                    "due": rnd.due,
                    "department": department_name(session, a.department_id),
                    "inspector": display(session, a.inspector),
                    "answered": p.answered,
                    "total": p.total,
                    "failed": p.failed,
                    "done": a.status == "done",
                    "tickets": "、".join(tickets_of(session, a.id)),
                }
            )
    return rows


ROUNDS_HEADER = [
    "轮次",
    "检查清单",
    "截止日期",
    "部门",
    "检查人",
    "已查项",
    "总项",
    "不合格",
    "是否完成",
    "隐患编号",
]


def rounds_sheet(session: Session, allows=lambda _dept: True) -> tuple[str, list[str], list]:
    """The 隐患排查 list as one sheet: a row per round and department (`allows`: the
    departments a console account sees), the rows of the campaign summary's sheet."""
    rows = [
        [
            r["round"],
            r["title"],
            r["due"],
            r["department"],
            r["inspector"],
            r["answered"],
            r["total"],
            r["failed"],
            "是" if r["done"] else "否",
            r["tickets"],
        ]
        for r in summary_rows(session, allows)
    ]
    return ("排查轮次", ROUNDS_HEADER, rows)
