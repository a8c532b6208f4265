"""答题 and 打卡 progress per department (today), and 「提醒他们」 for the 责任书 / 答题 / 打卡
pages. A department head sees and reminds only their own departments; officers see all."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for

from bot.console import data, reminders
from bot.console.views.common import actor, audit, bp, now, scope, services, today
from bot.content import texts
from bot.localtime import stamp
from bot.models import Department

PAGE_ENDPOINTS = {
    "pledge": "console.pledges",
    "quiz": "console.quiz",
    "checkin": "console.checkins",
}
MAX_ID = 2**31 - 1


def _rows(page: str, pending: list[reminders.Pending]) -> list[dict]:
    """Per department in scope: members, how many have done it (today for 答题 and 打卡)."""
    waiting = {p.department_id: len(p.people) for p in pending}
    members = data.member_counts(g.db, scope())
    rows = []
    for dept_id, name in data.departments_in(g.db, scope()):
        if members.get(dept_id):
            done = members[dept_id] - waiting.get(dept_id, 0)
            rows.append(
                {
                    "name": name,
                    "members": members[dept_id],
                    "done": done,
                    "rate": done / members[dept_id],
                }
            )
    return rows


def _page(page: str, template: str):
    # Who is pending is the expensive part (every member in scope): computed once.
    pending = reminders.pending_by_department(g.db, page, scope(), today())
    return render_template(
        template,
        rows=_rows(page, pending),
        pending=pending,
        page=page,
        day=today(),
    )


@bp.get("/quiz")
def quiz():
    return _page("quiz", "console/quiz_progress.html")


@bp.get("/checkins")
def checkins():
    return _page("checkin", "console/checkins.html")


@bp.post(f"/remind/<page>/<int(max={MAX_ID}):department_id>")
def remind(page: str, department_id: int):
    department = g.db.get(Department, department_id)
    if department is None or page not in PAGE_ENDPOINTS:
        abort(404)
    if not scope().allows(department_id):
        audit("console:denied", f"remind {page} {department_id}", allowed=False)
        abort(403)
    outcome = reminders.remind(g.db, page, department_id, scope(), today(), now(), actor())
    if outcome.next_at is not None:
        audit(
            "console:remind-limited",
            texts.get(
                "console.audit_details.remind_limited",
                what=texts.raw("console.audit_details.remind_pages").get(page, page),
                department=department.name,
            ),
            allowed=False,
        )
        when = stamp(outcome.next_at, services().settings.tz, "%H:%M")
        flash(texts.get("console.remind.limited", department=department.name, time=when), "error")
    elif outcome.sent:
        services().kick_sender()
        flash(texts.get("console.remind.sent", department=department.name, count=outcome.sent))
    else:
        flash(texts.get("console.remind.nobody", department=department.name))
    return redirect(url_for(PAGE_ENDPOINTS[page]))
