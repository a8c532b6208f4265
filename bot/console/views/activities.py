"""部门活动报送: the departments' activity reports, per department; a form to file one; the
officer's send-back (the filer is told why in chat) and the history of each report."""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for

from bot.activity import photos as activity_photos
from bot.activity import reports
from bot.activity.reports import ActivityError
from bot.activity.stats import summary_rows
from bot.console import data
from bot.console.views.common import (
    actor,
    audit,
    bp,
    now,
    officer_only,
    people_names,
    scope,
    services,
    today,
)
from bot.content import texts
from bot.models import ActivityPhoto, ActivityReport

MAX_ID = 2**31 - 1
MAX_UPLOADS = 9


def _report_or_404(report_id: int) -> ActivityReport:
    report = g.db.get(ActivityReport, report_id)
    if report is None or not scope().allows(report.department_id):
        abort(404)
    return report


@bp.get("/activities")
def activities():
    figures = summary_rows(
        g.db, services().settings.tz, scope().filter(ActivityReport.department_id)
    )
    by_department: dict[str, list[dict]] = {}
    for r in reversed(figures["reports"]):  # newest first within each department
        by_department.setdefault(r["department"], []).append(r)
    return render_template("console/activities.html", figures=figures, by_department=by_department)


@bp.route("/activities/new", methods=["GET", "POST"])
def activity_new():
    departments = data.departments_in(g.db, scope())
    form = request.form if request.method == "POST" else {}
    if request.method == "POST":
        try:
            report = _file_from_form(form, {d for d, _ in departments})
        except ActivityError as exc:
            flash(texts.get(f"activity.form_errors.{exc.key}"), "error")
        else:
            if report is None:  # the same form posted twice
                return redirect(url_for("console.activities"))
            audit("console:activity-file", f"{report.id} {report.kind} {report.held_on}")
            flash(texts.get("activity.console_filed", id=report.id))
            return redirect(url_for("console.activity_detail", report_id=report.id))
    return render_template(
        "console/activity_form.html",
        departments=departments,
        kinds=reports.kinds(),
        form=form,
        nonce=form.get("nonce") or secrets.token_urlsafe(16),
        today=today(),
    )


def _file_from_form(form, allowed: set[int]) -> ActivityReport | None:
    try:
        department_id = int(form.get("department_id", ""))
    except ValueError:
        raise ActivityError("department") from None
    if department_id not in allowed:
        raise ActivityError("department")
    kind = form.get("kind", "")
    if kind not in reports.kinds():
        raise ActivityError("kind")
    try:
        held_on = date.fromisoformat(form.get("held_on", ""))
    except ValueError:
        raise ActivityError("date") from None
    if held_on > today():
        raise ActivityError("future")
    place, description = form.get("place", "").strip(), form.get("description", "").strip()
    if not place:
        raise ActivityError("place")
    if not description:
        raise ActivityError("description")
    try:
        head_count = reports.parse_head_count(form.get("head_count", ""))
    except ActivityError:
        raise ActivityError("head_count") from None
    uploads = [f.read() for f in request.files.getlist("photos") if f and f.filename]
    if len(uploads) > MAX_UPLOADS or any(
        activity_photos.sniff(b) is None or len(b) > activity_photos.MAX_BYTES for b in uploads
    ):
        raise ActivityError("photo")
    report = reports.file_report(
        g.db,
        source_key=f"console:{form.get('nonce', '')[:64] or secrets.token_urlsafe(16)}",
        department_id=department_id,
        filed_by=actor(),
        kind=kind,
        held_on=held_on,
        place=place,
        description=description,
        head_count=head_count,
        now=now(),
    )
    if report is not None:
        for blob in uploads:
            if (
                activity_photos.add_upload(
                    g.db, services().settings.files_dir, report.id, blob, now()
                )
                is None
            ):
                raise ActivityError("photo")
    return report


@bp.get(f"/activities/<int(max={MAX_ID}):report_id>")
def activity_detail(report_id: int):
    report = _report_or_404(report_id)
    return render_template(
        "console/activity_detail.html",
        r=report,
        kind=reports.kind_label(report.kind),
        status=reports.status_label(report.status),
        department=data.department_names(g.db).get(report.department_id or 0, "-"),
        history=reports.history(g.db, report.id),
        photos=reports.photos(g.db, report.id),
        people=people_names(),
        action_labels=texts.raw("activity.actions"),
    )


@bp.post(f"/activities/<int(max={MAX_ID}):report_id>/return")
@officer_only
def activity_return(report_id: int):
    report = _report_or_404(report_id)
    reason = request.form.get("reason", "")
    try:
        reports.send_back(
            g.db, report, actor=actor(), reason=reason, tz=services().settings.tz, now=now()
        )
    except ActivityError as exc:
        flash(texts.get(f"activity.{exc.key}", **exc.values), "error")
        return redirect(url_for("console.activity_detail", report_id=report.id))
    audit("console:activity-return", f"{report.id} {reason.strip()}"[:500])
    services().kick_sender()
    flash(texts.get("activity.console_returned", id=report.id))
    return redirect(url_for("console.activity_detail", report_id=report.id))


@bp.get(f"/activity-photos/<int(max={MAX_ID}):photo_id>")
def activity_photo(photo_id: int):
    """A stored activity photo; the path comes from the database and must stay in files_dir."""
    row = g.db.get(ActivityPhoto, photo_id)
    if row is None or row.status != "stored" or not row.path:
        abort(404)
    _report_or_404(row.report_id)
    root = Path(services().settings.files_dir).resolve()
    target = (root / row.path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        abort(404)
    return send_file(target, mimetype=row.content_type or "application/octet-stream")
