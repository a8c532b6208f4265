"""The dashboard and the campaign summary (活动总结) page and workbook."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Response, g, render_template, url_for

from bot.console import charts, data
from bot.console.report import build_summary, render_html, write_xlsx
from bot.console.report_docx import write_docx
from bot.console.views.common import audit, bp, now, people_names, scope, services, today
from bot.content import texts
from bot.inspection import stats as inspection_stats
from bot.learning.stats import completion_by_department
from bot.models import LearningAssignment
from bot.submissions.export import summary_rows as submission_rows


@bp.get("/")
def dashboard():
    s, sc, settings = g.db, scope(), services().settings
    participation = data.fill_days(data.participation_by_day(s, sc, now(), settings.tz))
    checkins = data.fill_days(data.checkins_by_day(s, sc))
    pledges = data.pledge_by_department(s, sc)
    quiz = data.quiz_by_theme(s, sc)
    counts = data.hazard_counts(s, sc)
    t = today()
    ledger = data.hazards(s, sc, t, limit=10)
    # Pledge completion is one pass over every member: computed once for both uses.
    rows = data.per_department(s, sc, pledges)
    return render_template(
        "console/dashboard.html",
        overview=data.overview(s, sc, t, rows, counts),
        inspections=inspection_stats.summary(s, now()),
        charts=dashboard_charts(participation, checkins, pledges, quiz, counts),
        ledger=ledger,
        today=t,
        is_overdue=data.is_overdue,
        names=data.department_names(s),
        people=people_names(),
        learning=completion_by_department(s, None, sc.filter(LearningAssignment.department_id)),
        submissions=submission_rows(s, services().settings.tz),
    )


def dashboard_charts(participation, checkins, pledges, quiz, counts) -> list:
    """The dashboard's charts (bench/reports.py measures this too)."""
    figures = {
        "participation": participation,
        "checkins": checkins,
        "pledges": pledges,
        "quiz": quiz,
        "hazard_counts": counts,
        "status_labels": data.STATUS_LABELS,
    }
    return charts.campaign_charts(figures, order=charts.DASHBOARD_ORDER, prefix="chart")


# -- the campaign summary -------------------------------------------------------------------------
@bp.get("/report")
def report_page():

    summary = build_summary(g.db, services().settings, now(), scope())
    return render_html(
        summary,
        download=url_for("console.report_xlsx"),
        download_docx=url_for("console.report_docx"),
    )


@bp.get("/report.xlsx")
def report_xlsx():

    return _download(".xlsx", write_xlsx, "console:report", XLSX_TYPE)


@bp.get("/report.docx")
def report_docx():
    """The written summary (活动总结) as an editable Word draft."""
    return _download(".docx", write_docx, "console:report-docx", DOCX_TYPE)


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _download(suffix: str, write, action: str, content_type: str) -> Response:
    summary = build_summary(g.db, services().settings, now(), scope())
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as fh:
        path = Path(fh.name)
    try:
        write(summary, path)
        payload = path.read_bytes()
    finally:
        path.unlink(missing_ok=True)
    audit(action, texts.get("console.audit_details.report"))
    name = f"safety-month-summary-{today().isoformat()}{suffix}"
    return Response(
        payload,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )
