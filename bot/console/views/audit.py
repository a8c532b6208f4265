"""The audit log."""

from __future__ import annotations

from flask import g, render_template, request
from sqlalchemy import func, select

from bot.console.views.common import PAGE, bp, officer_only, services
from bot.models import AuditLog


@bp.get("/audit")
@officer_only
def audit_log():
    total = g.db.scalar(select(func.count()).select_from(AuditLog)) or 0
    pages = max(1, -(-total // PAGE))
    # Any page number past the end (however large: it would overflow OFFSET) shows the last.
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    rows = list(
        g.db.scalars(
            select(AuditLog).order_by(AuditLog.id.desc()).offset((page - 1) * PAGE).limit(PAGE)
        )
    )
    return render_template(
        "console/audit.html",
        rows=rows,
        page=page,
        pages=pages,
        tz=services().settings.tz,
    )
