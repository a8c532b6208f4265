"""学习任务: create a task, completion per department, who is missing (with a reminder
button), the export download."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, g, redirect, render_template, request, url_for

from bot.console import reminders
from bot.console.auth import can_act
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
from bot.learning.reminders import reminder_text
from bot.learning.stats import completion_by_department
from bot.learning.tasks import AssignError, assign, tasks, unfinished
from bot.localtime import stamp
from bot.models import Department, LearningAssignment, LearningTask


@bp.get("/learning")
def learning():
    """Every task; a department head sees their departments' figures and cannot create."""
    in_scope = scope().filter(LearningAssignment.department_id)
    rows = [(t, completion_by_department(g.db, t.id, in_scope)) for t in tasks(g.db)]
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
        can_create=can_act(g.account),
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
def learning_detail(task_id: int):
    """Completion per department and who has not finished, grouped by department with a
    「提醒他们」 button each; a department head sees only their departments."""
    task = _task(task_id)
    in_scope = scope().filter(LearningAssignment.department_id)
    return render_template(
        "console/learning_detail.html",
        task=task,
        item=load_items().get(task.item_id or ""),
        completion=completion_by_department(g.db, task.id, in_scope),
        pending=reminders.pending_by_department(g.db, _page(task), scope(), today()),
        progress={
            a.userid: a for a in unfinished(g.db, task.id) if scope().allows(a.department_id)
        },
        can_export=can_act(g.account),
        export_url=url_for("console.learning_export", task=task.id),
    )


def _page(task: LearningTask) -> str:
    return f"{reminders.LEARNING}{task.id}"


@bp.post("/learning/<int:task_id>/remind/<int:department_id>")
def learning_remind(task_id: int, department_id: int):
    """The unfinished of one department, at most once an hour (like the other pages)."""
    task = _task(task_id)
    department = g.db.get(Department, department_id) if department_id < 2**31 else None
    if department is None:
        abort(404)
    if not scope().allows(department_id):
        audit("console:denied", f"learning remind {task.id} {department_id}", allowed=False)
        abort(403)
    outcome = reminders.remind(
        g.db,
        _page(task),
        department_id,
        scope(),
        today(),
        now(),
        actor(),
        message=reminder_text(task),
    )
    if outcome.next_at is not None:
        audit("console:remind-limited", f"{_page(task)}:{department_id}", allowed=False)
        when = stamp(outcome.next_at, services().settings.tz, "%H:%M")
        flash(texts.get("console.remind.limited", department=department.name, time=when), "error")
    elif outcome.sent:
        services().kick_sender()
        flash(texts.get("console.remind.sent", department=department.name, count=outcome.sent))
    else:
        flash(texts.get("console.remind.nobody", department=department.name))
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
