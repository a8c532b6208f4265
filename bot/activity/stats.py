"""报送 figures for `stats`, the console and the campaign summary."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.activity.reports import kind_label, kinds, status_label
from bot.models import ActivityPhoto, ActivityReport, Department, User
from bot.stats_base import count_rows


def activity_reports(session: Session, now: datetime) -> int:
    """Activities the departments reported (报送)."""
    return count_rows(session, ActivityReport)


def summary_rows(session: Session, tz: tzinfo, *where: Any) -> dict[str, Any]:
    """Every report (oldest first) and the counts per kind and per department; `where`
    narrows the reports (the console's department scope)."""
    narrowing = [w for w in where if w is not True]
    names = dict(
        session.execute(
            select(Department.id, Department.name).order_by(Department.order, Department.id)
        ).all()
    )
    photo_counts = dict(
        session.execute(
            select(ActivityPhoto.report_id, func.count()).group_by(ActivityPhoto.report_id)
        ).all()
    )
    reports = list(
        session.scalars(
            select(ActivityReport)
            .where(*narrowing)
            .order_by(ActivityReport.held_on, ActivityReport.id)
        )
    )
    # Only the filers' names (the whole directory is 100,000 rows).
    filers = dict(
        session.execute(
            select(User.userid, User.name).where(
                User.userid.in_(sorted({r.filed_by for r in reports}) or [""])
            )
        ).all()
    )
    rows = []
    for r in reports:
        rows.append(
            {
                "id": r.id,
                "held_on": r.held_on,
                "department_id": r.department_id,
                "department": names.get(r.department_id or 0, "-"),
                "kind_key": r.kind,
                "kind": kind_label(r.kind),
                "place": r.place,
                "description": r.description,
                "head_count": r.head_count,
                "photos": int(photo_counts.get(r.id, 0)),
                "filed_by": filers.get(r.filed_by) or r.filed_by,
                "status": status_label(r.status),
                "returned": r.status == "returned",
            }
        )
    by_kind = []
    for key, label in kinds().items():
        mine = [r for r in rows if r["kind_key"] == key]
        if mine:
            by_kind.append(
                {"kind": label, "count": len(mine), "people": sum(r["head_count"] for r in mine)}
            )
    by_department = []
    for dept_id, name in names.items():
        mine = [r for r in rows if r["department_id"] == dept_id]
        if mine:
            by_department.append(
                {"name": name, "count": len(mine), "people": sum(r["head_count"] for r in mine)}
            )
    return {
        "reports": rows,
        "by_kind": by_kind,
        "by_department": by_department,
        "returned": sum(1 for r in rows if r["returned"]),
    }
