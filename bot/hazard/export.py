"""The hazard ledger as a spreadsheet (`safetybot export hazards FILE.xlsx`).

The columns are the ones a safety officer's paper ledger (隐患排查治理台账) has; photos are
listed one per column (照片1, 照片2 …, 整改照片1 …) by their path inside the files folder.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.exports import append_row
from bot.hazard import labels, queries, states
from bot.models import Department, User
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
]  # then 照片1 … and 整改照片1 …, as many as the most photos on one hazard
WIDTHS = [6, 18, 17, 10, 14, 20, 10, 40, 30, 10, 10, 12, 10, 12, 17, 17]
PHOTO_WIDTH = 52


def _names_of(session: Session, userids: set[str]) -> dict[str, str]:
    """userid -> name for the people the ledger names (not the whole directory: 100,000
    names cost most of a second), in bounded IN lists."""
    ordered, out = sorted(userids), {}
    for i in range(0, len(ordered), 5000):
        out.update(
            (u, n or u)
            for u, n in session.execute(
                select(User.userid, User.name).where(User.userid.in_(ordered[i : i + 5000]))
            )
        )
    return out


def ledger_rows(
    session: Session, settings: Settings, today: date | None = None, *where: Any
) -> list[dict[str, Any]]:
    """One dict per ledger entry, in report order: the one row builder behind this export and
    the 隐患台账 sheet of the campaign summary (each picks its columns). Times are local and
    naive (spreadsheet cells); `photos` (the report's) and `fix_photos` (the fix's) are paths
    relative to settings.files_dir; `where` narrows the ledger (a console scope)."""
    files_dir = Path(settings.files_dir).resolve()
    tz = settings.tz
    hazards = queries.ledger_hazards(session, *where)
    photos_of = queries.ledger_photos(session, *where)
    people = _names_of(
        session, {u for h in hazards for u in (h.reporter, h.owner, h.rechecker) if u}
    )
    names = dict(session.execute(select(Department.id, Department.name)).all())

    def local(value: datetime | None) -> datetime | None:
        return value.astimezone(tz).replace(tzinfo=None) if value else None

    def person(userid: str | None) -> str:
        return people.get(userid, userid) if userid else ""

    out = []
    for h in hazards:
        out.append(
            {
                "ticket": h.ticket,
                "reported_at": local(h.reported_at),
                "reporter": person(h.reporter),
                "department_id": h.department_id,
                "department": (
                    ""
                    if h.department_id is None
                    else names.get(h.department_id, str(h.department_id))
                ),
                "location": h.location,
                "category": labels.category_label(h.category),
                "description": h.description,
                "measure": h.measure or "",
                "funds": h.funds or "",
                "owner": person(h.owner),
                "deadline": h.deadline,
                "rechecker": person(h.rechecker),
                "status": h.status,
                "status_label": states.status_label(h.status),
                "overdue": bool(today and queries.days_overdue(h, today)),
                "rectified_at": local(h.rectified_at),
                "verified_at": local(h.verified_at),
                "closed_at": local(h.closed_at),
                "photos": [
                    photo_name(files_dir, p.path)
                    for p in photos_of.get(h.id, ())
                    if p.kind != "rectify"
                ],
                "fix_photos": [
                    photo_name(files_dir, p.path)
                    for p in photos_of.get(h.id, ())
                    if p.kind == "rectify"
                ],
            }
        )
    return out


# The export's columns (HEADER without 序号), keys of a ledger_rows() row.
COLUMNS = [
    "ticket",
    "reported_at",
    "reporter",
    "department",
    "location",
    "category",
    "description",
    "measure",
    "funds",
    "owner",
    "deadline",
    "rechecker",
    "status_label",
    "rectified_at",
    "verified_at",
]


def photo_name(files_dir: Path, path: str) -> str:
    """A stored photo as the export lists it: its path relative to the files folder
    (settings.files_dir), never an absolute path, which would give away the server's layout
    and mean nothing on the officer's computer. An old absolute path inside the folder is made
    relative; one outside it is cut to its file name."""
    stored = Path(path)
    if not stored.is_absolute():
        return stored.as_posix()
    try:
        return stored.resolve().relative_to(files_dir).as_posix()
    except ValueError:
        return stored.name


def export_hazards(session: Session, settings: Settings, path: str | Path, *where: Any) -> int:
    """The ledger workbook; `where` narrows it (the console's scope). Photos are listed under
    照片1, 照片2 … and the fix's under 整改照片1 … (as many columns as the hazard with the most
    has), each as a file name relative to the files folder."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    rows = ledger_rows(session, settings, None, *where)
    most = max((len(r["photos"]) for r in rows), default=0)
    most_fix = max((len(r["fix_photos"]) for r in rows), default=0)
    header = list(HEADER)
    header += [f"照片{i}" for i in range(1, most + 1)]
    header += [f"整改照片{i}" for i in range(1, most_fix + 1)]
    wb = Workbook()
    ws = wb.active
    ws.title = "隐患台账"
    append_row(ws, header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r, row in enumerate(rows, start=2):
        photos = row["photos"] + [""] * (most - len(row["photos"]))
        fixes = row["fix_photos"] + [""] * (most_fix - len(row["fix_photos"]))
        append_row(ws, [r - 1] + [row[key] for key in COLUMNS] + photos + fixes)
        for c in (3, 15, 16):
            ws.cell(row=r, column=c).number_format = "yyyy-mm-dd hh:mm"
        ws.cell(row=r, column=12).number_format = "yyyy-mm-dd"
    widths = WIDTHS + [PHOTO_WIDTH] * (most + most_fix)
    for idx, width in enumerate(widths, start=1):
        ws.column_dimensions[ws.cell(row=1, column=idx).column_letter].width = width
    ws.freeze_panes = "A2"
    wb.save(str(path))
    return len(rows)
