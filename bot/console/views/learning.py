"""学习任务: create a task, completion per department, who is missing (with a reminder
button), the export download."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, g, redirect, render_template, request, url_for

from bot.console.views.common import (
    actor,
    audit,
    bp,
    now,
    officer_only,
    scope,
    services,
    sheets_download,
    today,
)
from bot.content import texts
from bot.learning.content import load_items
from bot.learning.export import export_sheets
from bot.learning.reminders import remind_now
from bot.learning.stats import completion_by_department
from bot.learning.tasks import AssignError, assign, tasks, unfinished
from bot.models import Department, LearningAssignment, LearningTask, User


@bp.get("/learning")
@officer_only
def learning():
    rows = [(t, completion_by_department(g.db, t.id)) for t in tasks(g.db)]
    return render_template(
        "console/learning.html",
        rows=[
            (t, sum(d["completed"] for d in figs), sum(d["opened"] for d in figs))
            for t, figs in rows
        ],  # fmt: skip
        items=sorted(load_items().values(), key=lambda i: (i.kind, i.id)),
        departments=[
            (d.id, d.name) for d in g.db.query(Department).order_by(Department.order, Department.id)
        ],
        today=today(),
        export_url=url_for("console.learning_export"),
    )


@bp.post("/learning/create")
@officer_only
def learning_create():
    form = request.form
    source = form.get("source", "item")
    try:
        due = date.fromisoformat(form.get("due", ""))
    except ValueError:
        flash("请填写截止日期。")
        return redirect(url_for("console.learning"))
    count = form.get("questions", "").strip()
    try:
        done = assign(
            g.db,
            title=form.get("title", ""),
            item_id=(form.get("item") or "") if source == "item" else None,
            url=(form.get("url") or "").strip() if source == "url" else None,
            departments=[int(d) for d in form.getlist("departments") if d.isdigit()],
            due=due,
            questions=int(count) if count.isdigit() else None,
            created_by=actor(),
            now=now(),
            tz=services().settings.tz,
            public_url=services().settings.public_url,
        )
    except AssignError as exc:
        flash(str(exc))
        return redirect(url_for("console.learning"))
    audit(
        "console:learning-assign",
        texts.get(
            "console.audit_details.learning_assign",
            id=done.task.id,
            title=done.task.title,
            count=done.members,
        ),
    )
    services().kick_sender()
    flash(f"学习任务已布置：{done.members} 人将收到学习卡片。")
    return redirect(url_for("console.learning_detail", task_id=done.task.id))


def _task(task_id: int) -> LearningTask:
    task = g.db.get(LearningTask, task_id) if task_id < 2**31 else None
    if task is None:
        abort(404)
    return task


@bp.get("/learning/<int:task_id>")
@officer_only
def learning_detail(task_id: int):
    task = _task(task_id)
    names = dict(g.db.query(User.userid, User.name).all())
    depts = dict(g.db.query(Department.id, Department.name).all())
    missing = [
        (depts.get(a.department_id or 0, ""), names.get(a.userid) or a.userid, a)
        for a in unfinished(g.db, task.id)
    ]
    return render_template(
        "console/learning_detail.html",
        task=task,
        item=load_items().get(task.item_id or ""),
        completion=completion_by_department(g.db, task.id),
        missing=sorted(missing, key=lambda m: (m[0], m[1])),
        export_url=url_for("console.learning_export", task=task.id),
    )


@bp.post("/learning/<int:task_id>/remind")
@officer_only
def learning_remind(task_id: int):
    task = _task(task_id)
    n = remind_now(g.db, task, now(), actor())
    audit(
        "console:learning-remind",
        texts.get("console.audit_details.learning_remind", id=task.id, title=task.title, count=n),
    )
    services().kick_sender()
    flash(f"已向 {n} 位未完成的人发送提醒。" if n else "没有需要提醒的人（或刚刚已提醒过）。")
    return redirect(url_for("console.learning_detail", task_id=task.id))


@bp.get("/learning/export.xlsx")
@officer_only
def learning_export():
    """Each person and task, and the department summary (`export learning`); `?task=N`: one
    task. Limited to this account's departments."""
    value = request.args.get("task", "")
    task = _task(int(value)) if value.isdigit() and len(value) < 10 else None
    where = scope().filter(LearningAssignment.department_id)
    sheets = export_sheets(g.db, services().settings.tz, task.id if task else None, where)
    what = (
        texts.get("console.audit_details.learning_task", id=task.id, title=task.title)
        if task
        else texts.get("console.audit_details.learning_all")
    )
    detail = texts.get("console.audit_details.learning_export", what=what, count=len(sheets[0][2]))
    return sheets_download("learning", sheets, "console:learning-export", detail)
