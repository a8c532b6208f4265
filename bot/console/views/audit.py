"""The audit log: actions, people and 责任书 texts in words (bot.audit), a page at a time,
and the whole log as a download."""

from __future__ import annotations

from flask import g, render_template, request, url_for

from bot.audit import audit_rows, audit_sheets, count
from bot.console.views.common import PAGE, bp, officer_only, services, sheets_download
from bot.content import texts


@bp.get("/audit")
@officer_only
def audit_log():
    total = count(g.db)
    pages = max(1, -(-total // PAGE))
    # Any page number past the end (however large: it would overflow OFFSET) shows the last.
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    rows = audit_rows(g.db, services().settings.tz, offset=(page - 1) * PAGE, limit=PAGE)
    return render_template(
        "console/audit.html",
        rows=rows,
        page=page,
        pages=pages,
        export_url=url_for("console.audit_xlsx"),
    )


@bp.get("/audit.xlsx")
@officer_only
def audit_xlsx():
    """The whole log (every page), as the page shows it."""
    sheets = audit_sheets(g.db, services().settings.tz)
    detail = texts.get("console.audit_details.rows", count=len(sheets[0][2]))
    return sheets_download("audit-log", sheets, "console:audit-export", detail)
