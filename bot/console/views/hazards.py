"""The hazard ledger (隐患台账): list, detail, assign, state changes, photos."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flask import (
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
    PAGE,
    actor,
    audit,
    bp,
    names,
    now,
    officer_only,
    people_names,
    scope,
    services,
    today,
    xlsx_download,
)
from bot.content import texts
from bot.hazard import grading, labels, ledger, queries, states
from bot.hazard.export import export_hazards
from bot.hazard.grades import GRADES, grade_label, major_criteria_lines
from bot.hazard.queries import LedgerFilter
from bot.models import HazardPhoto, HazardReport, User

# Ids are 32-bit on PostgreSQL (and SQLite overflows at 64 bits): a larger number in a URL
# names no row, so the route does not match it (404) instead of overflowing in the driver.
MAX_ID = 2**31 - 1


def hazard_in_scope(ticket: str) -> HazardReport:
    hazard = g.db.scalar(select(HazardReport).where(HazardReport.ticket == ticket))
    if hazard is None or not scope().allows(hazard.department_id):
        abort(404)
    return hazard


def ledger_filter() -> LedgerFilter:
    """The filters of the ledger page, from the query string (the page and its download
    read the same ones); a value that makes no sense is left out."""
    args = request.args

    def day(name: str) -> date | None:
        try:
            return date.fromisoformat(args.get(name, ""))
        except ValueError:
            return None

    department = args.get("department", "")
    status = args.get("status") or None
    return LedgerFilter(
        search=args.get("q", "").strip()[:100],
        department_id=int(department) if department.isdigit() and len(department) < 10 else None,
        status=status if status in states.STATUSES else None,
        since=day("since"),
        until=day("until"),
    )


def filter_args(f: LedgerFilter) -> dict[str, str]:
    """The filter as query-string arguments (links to other pages, the download)."""
    values = {
        "q": f.search,
        "department": "" if f.department_id is None else str(f.department_id),
        "status": f.status or "",
        "since": f.since.isoformat() if f.since else "",
        "until": f.until.isoformat() if f.until else "",
    }
    return {k: v for k, v in values.items() if v}


@bp.get("/hazards")
def hazards():
    f = ledger_filter()
    t = today()
    ids = data.hazard_ids(g.db, scope(), t, where=f.clauses(services().settings.tz))
    pages = max(1, -(-len(ids) // PAGE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    args = filter_args(f)
    return render_template(
        "console/hazards.html",
        rows=data.hazards_by_id(g.db, ids[(page - 1) * PAGE : page * PAGE]),
        total=len(ids),
        page=page,
        pages=pages,
        filter=f,
        args=args,
        status=f.status,
        today=t,
        is_overdue=data.is_overdue,
        counts=data.hazard_counts(g.db, scope()),
        departments=data.departments_in(g.db, scope()),
        names=data.department_names(g.db),
        people=people_names(),
        export_url=url_for("console.hazards_xlsx", **args),
    )


@bp.get("/hazards.xlsx")
def hazards_xlsx():
    """The ledger workbook (the `export hazards` one) of the departments this account sees,
    with the page's filters (all pages)."""
    f = ledger_filter()
    where = [scope().filter(HazardReport.department_id), *f.clauses(services().settings.tz)]
    detail = texts.get("console.audit_details.hazard_export")
    if not f.is_empty():
        detail += texts.get("console.audit_details.filtered", filters=describe_filter(f))
    return xlsx_download(
        "hazards",
        lambda path: export_hazards(g.db, services().settings, path, *where),
        "console:hazard-export",
        detail,
    )


def describe_filter(f: LedgerFilter) -> str:
    """The filter in words, for the audit log."""
    parts = []
    if f.search:
        parts.append(texts.get("console.ledger_filter.search", text=f.search))
    if f.department_id is not None:
        name = data.department_names(g.db).get(f.department_id, str(f.department_id))
        parts.append(texts.get("console.ledger_filter.department", name=name))
    if f.status:
        parts.append(
            texts.get("console.ledger_filter.status", status=states.status_label(f.status))
        )
    if f.since or f.until:
        parts.append(
            texts.get(
                "console.ledger_filter.days",
                since=f.since.isoformat() if f.since else "",
                until=f.until.isoformat() if f.until else "",
            )
        )
    return "，".join(parts)


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
    name = names().person(owner)
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
    audit(
        "console:hazard-grade",
        texts.get(
            "console.audit_details.hazard_grade",
            ticket=ticket,
            grade=grade_label(hazard.grade),
            plan=texts.get("console.audit_details.hazard_plan") if plan else "",
        ),
    )
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
