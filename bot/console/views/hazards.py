"""The hazard ledger (隐患台账): list, detail, assign, state changes, photos."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from flask import (
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy import select

from bot.console import auth, data
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
from bot.hazard import grading, labels, ledger, queries, states
from bot.hazard.export import export_hazards
from bot.hazard.grades import GRADES, grade_label, major_criteria_lines
from bot.models import HazardPhoto, HazardReport, User

# Ids are 32-bit on PostgreSQL (and SQLite overflows at 64 bits): a larger number in a URL
# names no row, so the route does not match it (404) instead of overflowing in the driver.
MAX_ID = 2**31 - 1


def hazard_in_scope(ticket: str) -> HazardReport:
    hazard = g.db.scalar(select(HazardReport).where(HazardReport.ticket == ticket))
    if hazard is None or not scope().allows(hazard.department_id):
        abort(404)
    return hazard


@bp.get("/hazards")
def hazards():
    status = request.args.get("status") or None
    t = today()
    rows = data.hazards(g.db, scope(), t, status=status)
    return render_template(
        "console/hazards.html",
        rows=rows,
        status=status,
        today=t,
        is_overdue=data.is_overdue,
        counts=data.hazard_counts(g.db, scope()),
        names=data.department_names(g.db),
        people=people_names(),
    )


@bp.get("/hazards.xlsx")
def hazards_xlsx():
    """The ledger workbook of the departments this account sees (the `export hazards` one)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hazards.xlsx"
        export_hazards(g.db, services().settings, path, scope().filter(HazardReport.department_id))
        payload = path.read_bytes()
    audit("console:hazard-export", texts.get("console.audit_details.hazard_export"))
    return Response(
        payload,
        headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": f'attachment; filename="hazards-{today().isoformat()}.xlsx"',
        },
    )


@bp.get("/hazards/<ticket>")
def hazard_detail(ticket: str):
    hazard = hazard_in_scope(ticket)
    members = list(
        g.db.scalars(select(User).where(User.status == 1).order_by(User.department_id, User.userid))
    )
    return render_template(
        "console/hazard_detail.html",
        hazard=hazard,
        history=queries.history(g.db, hazard),
        actions=states.allowed_actions(hazard.status) if auth.can_act(g.account) else [],
        action_labels={
            "report": "上报",
            "assign": "指派（六定）",
            **{a: labels.action_label(a) for a in states.ACTIONS},
        },
        category=labels.category_label(hazard.category),
        grades=[(g_, grade_label(g_)) for g_ in GRADES],
        grade=grade_label(hazard.grade),
        criteria=major_criteria_lines(),
        members=members,
        names=data.department_names(g.db),
        people=people_names(),
        today=today(),
        overdue=data.is_overdue(hazard, today()),
        tz=services().settings.tz,
        can_assign=auth.can_act(g.account)
        and hazard.status in ("reported", "accepted", "rectifying"),
    )


@bp.post("/hazards/<ticket>/assign")
@officer_only
def hazard_assign(ticket: str):
    hazard = hazard_in_scope(ticket)
    owner = request.form.get("owner", "").strip()
    try:
        deadline = date.fromisoformat(request.form.get("deadline", ""))
    except ValueError:
        deadline = None
    if not owner or g.db.get(User, owner) is None or deadline is None:
        flash("请选择责任人并填写整改期限（YYYY-MM-DD）。", "error")
        return redirect(url_for("console.hazard_detail", ticket=ticket))

    def opt(name: str) -> str | None:
        return request.form.get(name, "").strip() or None

    try:
        ledger.assign(
            g.db,
            services().settings,
            hazard,
            actor=actor(),
            now=now(),
            owner=owner,
            deadline=deadline,
            rechecker=opt("rechecker"),
            measure=opt("measure"),
            funds=opt("funds"),
        )
    except states.TransitionRefused as exc:
        flash(f"无法指派：{exc}", "error")
        return redirect(url_for("console.hazard_detail", ticket=ticket))
    name = people_names().get(owner, owner)
    audit(
        "console:hazard-assign",
        texts.get(
            "console.audit_details.hazard_assign", ticket=ticket, owner=name, deadline=deadline
        ),
    )
    services().kick_sender()
    flash(f"{ticket} 已指派给 {name}，期限 {deadline}。")
    return redirect(url_for("console.hazard_detail", ticket=ticket))


REFUSALS = {
    "need_reason": "驳回需要填写原因。",
    "need_proof": "完成整改需要填写整改说明或上传照片。",
    "need_owner": "开始整改前请先指派责任人。",
    "need_return_reason": "退回整改需要填写原因。",
    "need_plan": "重大事故隐患验收前须先登记治理方案。",
}


@bp.post("/hazards/<ticket>/grade")
@officer_only
def hazard_grade(ticket: str):
    """The grade (一般/重大事故隐患) and the rectification plan (治理方案)."""
    hazard = hazard_in_scope(ticket)
    grade = request.form.get("grade", "")
    plan = request.form.get("plan", "").strip()
    if grade in GRADES:
        grading.set_grade(g.db, services().settings, hazard, grade, actor=actor(), now=now())
    if plan and plan != (hazard.plan or ""):
        grading.set_plan(g.db, hazard, plan, actor=actor(), now=now())
    audit("console:hazard-grade", f"{ticket} {grade} plan={bool(plan)}")
    services().kick_sender()
    flash(f"{ticket} 等级与治理方案已保存。")
    return redirect(url_for("console.hazard_detail", ticket=ticket))


@bp.post("/hazards/<ticket>/action")
@officer_only
def hazard_action(ticket: str):
    hazard = hazard_in_scope(ticket)
    action = request.form.get("action", "")
    if action not in states.ACTIONS:
        abort(400)
    try:
        to = ledger.change(
            g.db,
            services().settings,
            hazard,
            action,
            actor=actor(),
            now=now(),
            note=request.form.get("note", ""),
            has_photo=queries.photo_counts(g.db, hazard)["rectify"] > 0,
        )
    except states.IllegalTransition:
        flash(f"当前状态（{data.STATUS_LABELS.get(hazard.status)}）不能执行此操作。", "error")
        return redirect(url_for("console.hazard_detail", ticket=ticket))
    except states.TransitionRefused as exc:
        flash(REFUSALS.get(exc.reason, str(exc)), "error")
        return redirect(url_for("console.hazard_detail", ticket=ticket))
    status = data.STATUS_LABELS.get(to, to)
    audit(
        "console:hazard-" + action,
        texts.get("console.audit_details.hazard_action", ticket=ticket, status=status),
    )
    services().kick_sender()
    flash(f"{ticket} 状态已更新为「{data.STATUS_LABELS.get(to, to)}」。")
    return redirect(url_for("console.hazard_detail", ticket=ticket))


@bp.get(f"/photos/<int(max={MAX_ID}):photo_id>")
def photo(photo_id: int):
    """A stored hazard photo. The path comes from the database, never from the URL, and must
    still resolve inside files_dir (a tampered row cannot reach other files)."""
    row = g.db.get(HazardPhoto, photo_id)
    if row is None or row.status != "stored" or not row.path:
        abort(404)
    hazard = g.db.get(HazardReport, row.hazard_id)
    if hazard is None or not scope().allows(hazard.department_id):
        abort(404)
    root = Path(services().settings.files_dir).resolve()
    target = (root / row.path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        abort(404)
    return send_file(target, mimetype=row.content_type or "application/octet-stream")
