"""The audit log."""

from __future__ import annotations

from flask import g, render_template, request
from sqlalchemy import func, select

from bot.console.views.common import PAGE, bp, officer_only, services
from bot.models import AuditLog


@bp.get("/audit")
@officer_only
def audit_log():
    page = max(1, request.args.get("page", 1, type=int) or 1)
    total = g.db.scalar(select(func.count()).select_from(AuditLog)) or 0
    rows = list(
        g.db.scalars(
            select(AuditLog).order_by(AuditLog.id.desc()).offset((page - 1) * PAGE).limit(PAGE)
        )
    )
    return render_template(
        "console/audit.html",
        rows=rows,
        page=page,
        pages=max(1, -(-total // PAGE)),
        tz=services().settings.tz,
    )
