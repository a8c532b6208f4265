"""The hazard ledger as a spreadsheet (`safetybot export hazards FILE.xlsx`).

The columns are the ones a safety officer's paper ledger (隐患排查治理台账) has; photos are
listed as links to the stored files.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.hazard import ledger
from bot.hazard.people import department_name, display
from bot.models import HazardReport
from bot.settings import Settings

HEADER = [
    "序号",
    "隐患编号",
    "上报时间",
    "上报人",
    "部门",
    "位置",
    "类别",
    "隐患描述",
    "整改措施",
    "整改资金",
    "责任人",
    "整改期限",
    "复查人",
    "状态",
    "整改完成时间",
    "验收时间",
    "照片",
]
WIDTHS = [6, 18, 17, 10, 14, 20, 10, 40, 30, 10, 10, 12, 10, 12, 17, 17, 60]


def ledger_rows(session: Session, settings: Settings) -> list[tuple[list, list[str]]]:
    """[(cells without the photo column, absolute photo paths)] in ticket order."""
    files_dir = Path(settings.files_dir).resolve()
    hazards = session.scalars(
        select(HazardReport)
        .options(selectinload(HazardReport.photos))
        .order_by(HazardReport.reported_at, HazardReport.id)
    )
    out = []
    for i, h in enumerate(hazards, 1):
        tz = settings.tz

        def local(value, tz=tz):
            return value.astimezone(tz).replace(tzinfo=None) if value else None

        cells = [
            i,
            h.ticket,
            local(h.reported_at),
            display(session, h.reporter),
            department_name(session, h.department_id),
            h.location,
            ledger.category_label(h.category),
            h.description,
            h.measure or "",
            h.funds or "",
            display(session, h.owner),
            h.deadline,
            display(session, h.rechecker),
            ledger.status_label(h.status),
            local(h.rectified_at),
            local(h.verified_at),
        ]
        paths = [str(files_dir / p.path) for p in h.photos if p.status == "stored" and p.path]
        out.append((cells, paths))
    return out


def export_hazards(session: Session, settings: Settings, path: str | Path) -> int:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "隐患台账"
    ws.append(HEADER)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    rows = ledger_rows(session, settings)
    photo_col = len(HEADER)
    for r, (cells, paths) in enumerate(rows, start=2):
        ws.append(cells + [paths[0] if paths else ""])
        for c in (3, 15, 16):
            ws.cell(row=r, column=c).number_format = "yyyy-mm-dd hh:mm"
        ws.cell(row=r, column=12).number_format = "yyyy-mm-dd"
        if paths:
            # Excel allows one hyperlink per cell: the first photo here, any others to the right.
            cell = ws.cell(row=r, column=photo_col)
            cell.hyperlink = Path(paths[0]).as_uri()
            cell.style = "Hyperlink"
        for j, extra in enumerate(paths[1:], start=1):
            cell = ws.cell(row=r, column=photo_col + j, value=extra)
            cell.hyperlink = Path(extra).as_uri()
            cell.style = "Hyperlink"
    for idx, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[ws.cell(row=1, column=idx).column_letter].width = width
    ws.freeze_panes = "A2"
    wb.save(str(path))
    return len(rows)
