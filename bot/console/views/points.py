"""积分排行: every person's points per source and the departments' ranking, for choosing whom
to commend (a department head sees their own people; ranks are over everyone, as 排行 in chat
counts them), and the same tables as a download."""

from __future__ import annotations

from flask import g, render_template, url_for

from bot.console.views.common import bp, scope, sheets_download
from bot.content import texts
from bot.quiz.export import points_sheets
from bot.stats import point_sources


@bp.get("/points")
def points():
    people, departments = points_sheets(g.db, point_sources(g.db), scope().allows)
    return render_template(
        "console/points.html",
        people=people,
        departments=departments,
        export_url=url_for("console.points_xlsx"),
    )


@bp.get("/points.xlsx")
def points_xlsx():
    sheets = points_sheets(g.db, point_sources(g.db), scope().allows)
    detail = texts.get("console.audit_details.rows", count=len(sheets[0][2]))
    return sheets_download("points", sheets, "console:points-export", detail)
