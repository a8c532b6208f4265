"""隐患排查: rounds (progress per department, overdue first), a round's detail with every
item's result, note, photo and ticket, the start form, and the 检查记录表 download."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from bot.console import data
from bot.console.views.common import (
    actor,
    audit,
    bp,
    names,
    now,
    officer_only,
    people_names,
    scope,
    services,
    sheets_download,
    today,
    xlsx_download,
)
from bot.content import texts
from bot.inspection.export import result_label, rounds_sheet, write_round
from bot.inspection.rounds import RoundRefused, results_of, rounds_overview, start_round
from bot.inspection.schedule import REPEATS, create_schedule
from bot.inspection.templates import get_template, templates
from bot.models import HazardReport, InspectionRound, User

MAX_ID = 2**31 - 1
# The start form offers this many department/inspector rows.
FORM_ROWS = 4


@bp.get("/inspections")
@officer_only
def inspections():
    sc = scope()
    rows = [
        r
        for r in rounds_overview(g.db, today())
        if any(sc.allows(d["assignment"].department_id) for d in r["departments"])
    ]
    members = list(
        g.db.scalars(select(User).where(User.status == 1).order_by(User.department_id, User.userid))
    )
    return render_template(
        "console/inspections.html",
        rows=rows,
        templates=list(templates().values()),
        departments=data.departments_in(g.db, sc),
        members=members,
        names=data.department_names(g.db),
        form_rows=range(FORM_ROWS),
        repeats=REPEATS,
        export_url=url_for("console.inspections_xlsx"),
    )


@bp.get("/inspections.xlsx")
@officer_only
def inspections_xlsx():
    """The rounds on the page, a row per round and department this account sees."""
    sheet = rounds_sheet(g.db, scope().allows)
    detail = texts.get("console.audit_details.rows", count=len(sheet[2]))
    return sheets_download("inspections", [sheet], "console:inspection-export-all", detail)


@bp.post("/inspections/start")
@officer_only
def inspections_start():
    form = request.form
    pairs = []
    for dept, who in zip(form.getlist("department"), form.getlist("inspector"), strict=False):
        if dept.isdigit() and who and len(dept) < 10:
            pairs.append((int(dept), who))
    try:
        due = date.fromisoformat(form.get("due", ""))
    except ValueError:
        flash("请填写截止日期，例如 2026-06-30。", "error")
        return redirect(url_for("console.inspections"))
    template_id, repeat = form.get("template", ""), form.get("repeat", "")
    try:
        rnd = start_round(
            g.db,
            template_id=template_id,
            assignments=pairs,
            due=due,
            actor=actor(),
            now=now(),
            today=today(),
        )
    except RoundRefused as exc:
        flash(exc.text(), "error")
        return redirect(url_for("console.inspections"))
    if repeat in REPEATS:
        create_schedule(
            g.db,
            template_id=template_id,
            repeat=repeat,
            assignments=pairs,
            actor=actor(),
            now=now(),
            due_days=max(1, (due - today()).days),
        )
    audit(
        "console:inspection-start",
        texts.get(
            "console.audit_details.inspection_start",
            round=rnd.id,
            title=rnd.title,
            people="、".join(f"{names().department(d)}：{names().person(who)}" for d, who in pairs),
            due=due,
            repeat=texts.raw("console.audit_details.repeats").get(repeat or "none", repeat),
        ),
    )
    services().kick_sender()
    flash(f"第 {rnd.id} 轮排查已发起，已通知 {len(pairs)} 位检查人。")
    return redirect(url_for("console.inspection_detail", round_id=rnd.id))


def round_in_scope(round_id: int) -> InspectionRound:
    rnd = g.db.get(InspectionRound, round_id)
    if rnd is None or not any(scope().allows(a.department_id) for a in rnd.assignments):
        abort(404)
    return rnd


@bp.get(f"/inspections/<int(max={MAX_ID}):round_id>")
@officer_only
def inspection_detail(round_id: int):
    rnd = round_in_scope(round_id)
    template = get_template(rnd.template_id)
    sections = []
    for a in rnd.assignments:
        if not scope().allows(a.department_id):
            continue
        results = {r.item_id: r for r in results_of(g.db, a.id)}
        hazards = {
            h.id: h
            for h in g.db.scalars(
                select(HazardReport).where(
                    HazardReport.id.in_([r.hazard_id for r in results.values() if r.hazard_id])
                )
            )
        }
        items = []
        for n, item in enumerate(template.items if template else [], 1):
            r = results.get(item.id)
            items.append(
                {
                    "n": n,
                    "item": item,
                    "result": r.result if r else None,
                    "label": result_label(r.result if r else None),
                    "note": r.note if r else "",
                    "hazard": hazards.get(r.hazard_id) if r and r.hazard_id else None,
                }
            )
        sections.append({"assignment": a, "rows": items})
    return render_template(
        "console/inspection_detail.html",
        rnd=rnd,
        template=template,
        sections=sections,
        names=data.department_names(g.db),
        people=people_names(),
        overdue=rnd.due < today(),
    )


@bp.get(f"/inspections/<int(max={MAX_ID}):round_id>/record.xlsx")
@officer_only
def inspection_xlsx(round_id: int):
    rnd = round_in_scope(round_id)
    return xlsx_download(
        f"inspection-round-{rnd.id}",
        lambda path: write_round(g.db, services().settings, rnd.id, path),
        "console:inspection-export",
        texts.get("console.audit_details.inspection_round", round=rnd.id, title=rnd.title),
    )
