"""应急演练, 应急预案, 应急物资: drills (list; detail with key times, evacuation time,
evaluation, findings and their ticket status; a finding made a ticket), the plan register and
the supplies register (create and edit forms, the supplies workbook)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from bot.console.views.common import (
    actor,
    audit,
    bp,
    now,
    officer_only,
    people_names,
    services,
    today,
)
from bot.drills import evaluation, live, plans, supplies
from bot.drills.common import DrillRefused, all_drills, participants
from bot.drills.scenarios import get_scenario
from bot.drills.stats import summary_rows
from bot.exports import write_xlsx
from bot.models import Drill as DrillRow
from bot.models import DrillFinding, EmergencyPlan, EmergencySupply, User

MAX_ID = 2**31 - 1


def _members():
    return list(
        g.db.scalars(select(User).where(User.status == 1).order_by(User.department_id, User.userid))
    )


def _date(name: str) -> date | None:
    text = request.form.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DrillRefused("cli") from None


@bp.get("/drills")
@officer_only
def drills():
    tz = services().settings.tz
    rows = {r["id"]: r for r in summary_rows(g.db, tz)}
    return render_template(
        "console/drills.html",
        drills=[(d, rows.get(d.id)) for d in all_drills(g.db)],
    )


@bp.get(f"/drills/<int(max={MAX_ID}):drill_id>")
@officer_only
def drill_detail(drill_id: int):
    drill = g.db.get(DrillRow, drill_id)
    if drill is None:
        abort(404)
    scenario = get_scenario(drill.scenario_id)
    times = live.key_times(g.db, drill.id)
    durations = live.evacuation_times(times)
    found = evaluation.findings(g.db, drill.id)
    return render_template(
        "console/drill_detail.html",
        drill=drill,
        scenario=scenario,
        times=[(k.name, times.get(k.key)) for k in (scenario.key_times if scenario else ())],
        evacuated=live.duration_text(durations["evacuated"]),
        counted=live.duration_text(durations["counted"]),
        scores=evaluation.average_scores(g.db, drill),
        findings=[(f, evaluation.status_of(g.db, f)) for f in found],
        people=participants(g.db, drill.id),
        names=people_names(),
        roles={r.key: r.name for r in (scenario.roles if scenario else ())},
        photos=len(live.photos_of(g.db, drill.id)),
        members=_members(),
        plans=plans.all_plans(g.db),
        plan=g.db.get(EmergencyPlan, drill.plan_id) if drill.plan_id else None,
    )


@bp.post(f"/drills/findings/<int(max={MAX_ID}):finding_id>/ticket")
@officer_only
def drill_finding_ticket(finding_id: int):
    finding = g.db.get(DrillFinding, finding_id)
    if finding is None:
        abort(404)
    owner = request.form.get("owner", "")
    try:
        deadline = _date("deadline")
    except DrillRefused:
        deadline = None
    back = redirect(url_for("console.drill_detail", drill_id=finding.drill_id))
    if g.db.get(User, owner) is None or deadline is None or deadline < today():
        flash("请选择整改负责人，并填写今天或以后的整改期限。", "error")
        return back
    hazard = evaluation.make_ticket(
        g.db,
        services().settings,
        finding,
        owner=owner,
        deadline=deadline,
        actor=actor(),
        now=now(),
    )
    audit("console:drill-finding-ticket", f"演练问题 {finding.id} 转为隐患 {hazard.ticket}")
    flash(f"已登记为隐患 {hazard.ticket}。")
    return back


@bp.post(f"/drills/findings/<int(max={MAX_ID}):finding_id>/plan")
@officer_only
def drill_finding_plan(finding_id: int):
    finding = g.db.get(DrillFinding, finding_id)
    plan_id = request.form.get("plan", "")
    plan = (
        g.db.get(EmergencyPlan, int(plan_id)) if plan_id.isdigit() and len(plan_id) < 10 else None
    )
    if finding is None:
        abort(404)
    back = redirect(url_for("console.drill_detail", drill_id=finding.drill_id))
    if plan is None:
        flash("请选择应急预案。", "error")
        return back
    if request.form.get("close"):
        finding.closed_at = now()
    else:
        evaluation.make_plan_item(g.db, finding, plan, None, None)
    audit("console:drill-finding-plan", f"演练问题 {finding.id} 列入预案 {plan.id} 的改进项")
    flash("已更新预案改进项。")
    return back


# -- plans ----------------------------------------------------------------------------------------
def _plan_form(plan: EmergencyPlan | None):
    form = request.form
    try:
        return plans.save_plan(
            g.db,
            title=form.get("title", ""),
            kind=form.get("kind", ""),
            owner=form.get("owner") if g.db.get(User, form.get("owner", "")) else None,
            version=form.get("version", ""),
            url=form.get("url", ""),
            last_review=_date("last_review"),
            next_review=_date("next_review"),
            actor=actor(),
            now=now(),
            plan=plan,
        )
    except DrillRefused as exc:
        flash(exc.text() if exc.key != "cli" else "日期请写成 2026-06-30。", "error")
        return None


@bp.get("/plans")
@officer_only
def plans_page():
    day = today()
    rows = [(p, plans.due_items(p, day)) for p in plans.all_plans(g.db)]
    return render_template(
        "console/plans.html", rows=rows, members=_members(), kinds=plans.KINDS, plan=None
    )


@bp.post("/plans")
@officer_only
def plans_create():
    plan = _plan_form(None)
    if plan is not None:
        audit("console:plan-create", f"预案 {plan.id}「{plan.title}」")
        flash(f"已登记预案【{plan.title}】。")
    return redirect(url_for("console.plans_page"))


@bp.get(f"/plans/<int(max={MAX_ID}):plan_id>")
@officer_only
def plan_edit(plan_id: int):
    plan = g.db.get(EmergencyPlan, plan_id) or abort(404)
    return render_template(
        "console/plan_edit.html", plan=plan, members=_members(), kinds=plans.KINDS
    )


@bp.post(f"/plans/<int(max={MAX_ID}):plan_id>")
@officer_only
def plan_update(plan_id: int):
    plan = g.db.get(EmergencyPlan, plan_id) or abort(404)
    if _plan_form(plan) is not None:
        audit("console:plan-edit", f"预案 {plan.id}")
        flash("预案已保存。")
    return redirect(url_for("console.plans_page"))


# -- supplies -------------------------------------------------------------------------------------
def _supply_form(supply: EmergencySupply | None):
    form = request.form
    try:
        return supplies.save_supply(
            g.db,
            name=form.get("name", ""),
            quantity_value=form.get("quantity", ""),
            min_quantity=form.get("min_quantity", "") or "0",
            location=form.get("location", ""),
            keeper=form.get("keeper") if g.db.get(User, form.get("keeper", "")) else None,
            interval_days=form.get("interval_days", "") or "30",
            expires_on=_date("expires_on"),
            now=now(),
            supply=supply,
        )
    except DrillRefused as exc:
        flash(exc.text() if exc.key != "cli" else "日期请写成 2026-06-30。", "error")
        return None


@bp.get("/supplies")
@officer_only
def supplies_page():
    day = today()
    rows = [
        (s, supplies.expiring(s, day), bool(s.min_quantity and s.quantity < s.min_quantity))
        for s in supplies.all_supplies(g.db)
    ]
    return render_template("console/supplies.html", rows=rows, members=_members(), supply=None)


@bp.post("/supplies")
@officer_only
def supplies_create():
    supply = _supply_form(None)
    if supply is not None:
        audit("console:supply-create", f"物资 {supply.id}「{supply.name}」")
        flash(f"已登记物资【{supply.name}】。")
    return redirect(url_for("console.supplies_page"))


@bp.get(f"/supplies/<int(max={MAX_ID}):supply_id>")
@officer_only
def supply_edit(supply_id: int):
    supply = g.db.get(EmergencySupply, supply_id) or abort(404)
    return render_template("console/supply_edit.html", supply=supply, members=_members())


@bp.post(f"/supplies/<int(max={MAX_ID}):supply_id>")
@officer_only
def supply_update(supply_id: int):
    supply = g.db.get(EmergencySupply, supply_id) or abort(404)
    if _supply_form(supply) is not None:
        audit("console:supply-edit", f"物资 {supply.id}")
        flash("物资已保存。")
    return redirect(url_for("console.supplies_page"))


@bp.get("/supplies.xlsx")
@officer_only
def supplies_xlsx():
    with tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False) as fh:
        path = Path(fh.name)
    try:
        write_xlsx(path, supplies.export_sheets(g.db, services().settings.tz))
        payload = path.read_bytes()
    finally:
        path.unlink(missing_ok=True)
    audit("console:supply-export", "应急物资台账")
    return Response(
        payload,
        headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": 'attachment; filename="supplies.xlsx"',
        },
    )
