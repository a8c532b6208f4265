"""Check-in events and their attendance."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from bot.checkin.events import kind_label, kinds
from bot.console import data
from bot.console.actions import EventError, create_event
from bot.console.qr import checkin_qr
from bot.console.views.common import actor, audit, bp, now, officer_only, scope, services
from bot.content import texts
from bot.models import CheckinEvent, EventAttendance

# Ids are 32-bit on PostgreSQL (and SQLite overflows at 64 bits): a larger number in a URL
# names no row, so the route does not match it (404) instead of overflowing in the driver.
MAX_ID = 2**31 - 1


@bp.get("/events")
def events():
    rows = []
    for event in g.db.scalars(select(CheckinEvent).order_by(CheckinEvent.starts_at.desc())):
        n = g.db.scalar(
            select(func.count())
            .select_from(EventAttendance)
            .where(
                EventAttendance.event_id == event.id, scope().filter(EventAttendance.department_id)
            )
        )
        rows.append((event, n or 0))
    return render_template(
        "console/events.html",
        rows=rows,
        tz=services().settings.tz,
        kinds={kind: kind_label(kind) for kind in kinds()},
    )


@bp.get(f"/events/<int(max={MAX_ID}):event_id>")
def event_detail(event_id: int):

    event = g.db.get(CheckinEvent, event_id) or abort(404)
    attendance = list(
        g.db.scalars(
            select(EventAttendance)
            .where(
                EventAttendance.event_id == event.id, scope().filter(EventAttendance.department_id)
            )
            .order_by(EventAttendance.checked_at)
        )
    )
    return render_template(
        "console/event_detail.html",
        event=event,
        attendance=attendance,
        qr=checkin_qr(event.code),
        tz=services().settings.tz,
        names=data.department_names(g.db),
    )


@bp.post("/events")
@officer_only
def events_create():

    try:
        event = create_event(
            g.db,
            services().settings,
            now(),
            actor=actor(),
            title=request.form.get("title", ""),
            kind=request.form.get("kind", "other"),
            starts=request.form.get("starts_at", ""),
            ends=request.form.get("ends_at", ""),
        )
    except EventError as exc:
        flash(str(exc), "error")
        return redirect(url_for("console.events"))
    audit(
        "console:event-create",
        texts.get(
            "console.audit_details.event_create", id=event.id, title=event.title, code=event.code
        ),
    )
    return redirect(url_for("console.event_detail", event_id=event.id))
