"""Check-in events: the list, creating one (with a warning for a start in the past), an
event's attendance and absentees (scoped for department heads), a late manual sign-in by an
officer, and the absentee workbook."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from bot.checkin import attendance as attend
from bot.checkin.events import kind_label, kinds
from bot.checkin.export import METHODS, absentee_sheets, attendance_sheets
from bot.console import data
from bot.console.actions import EventError, PastStart, create_event
from bot.console.qr import checkin_link, checkin_qr
from bot.console.views.common import (
    actor,
    audit,
    bp,
    names,
    now,
    officer_only,
    scope,
    services,
    sheets_download,
)
from bot.content import texts
from bot.localtime import label
from bot.models import CheckinEvent, EventAttendance, User

# Ids are 32-bit on PostgreSQL (and SQLite overflows at 64 bits): a larger number in a URL
# names no row, so the route does not match it (404) instead of overflowing in the driver.
MAX_ID = 2**31 - 1


def _events_page(form=None, past_warning: str = ""):
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
        departments=data.departments_in(g.db, scope()),
        form=form or {},
        chosen=[int(d) for d in (form.getlist("departments") if form else []) if d.isdigit()],
        past_warning=past_warning,
    )


@bp.get("/events")
def events():
    return _events_page()


def _event_or_404(event_id: int) -> CheckinEvent:
    return g.db.get(CheckinEvent, event_id) or abort(404)


@bp.get(f"/events/<int(max={MAX_ID}):event_id>")
def event_detail(event_id: int):
    event = _event_or_404(event_id)
    attendance = list(
        g.db.scalars(
            select(EventAttendance)
            .where(
                EventAttendance.event_id == event.id, scope().filter(EventAttendance.department_id)
            )
            .order_by(EventAttendance.checked_at)
        )
    )
    absent = [u for u in attend.absentees(g.db, event) if scope().allows(u.department_id)]
    names = data.department_names(g.db)
    return render_template(
        "console/event_detail.html",
        event=event,
        attendance=attendance,
        absent=absent,
        invited=[names.get(d, str(d)) for d in event.department_ids or []],
        qr=checkin_qr(event.code, services().settings.public_url),
        link=checkin_link(services().settings.public_url, event.code),
        tz=services().settings.tz,
        names=names,
        methods=METHODS,
    )


@bp.post("/events")
@officer_only
def events_create():
    departments = [int(d) for d in request.form.getlist("departments") if d.isdigit()]
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
            departments=departments,
            latitude=request.form.get("latitude", ""),
            longitude=request.form.get("longitude", ""),
            radius=request.form.get("radius", ""),
            place=request.form.get("place", ""),
            confirm_past=request.form.get("confirm_past") == "1",
        )
    except PastStart as exc:
        # Nothing created: the same form again, filled in, with the warning and a confirm button.
        return _events_page(request.form, past_warning=str(exc))
    except EventError as exc:
        flash(str(exc), "error")
        return redirect(url_for("console.events"))
    audit(
        "console:event-create",
        texts.get(
            "console.audit_details.event_create", id=event.id, title=event.title, code=event.code
        ),
    )
    services().kick_sender()
    return redirect(url_for("console.event_detail", event_id=event.id))


@bp.get(f"/events/<int(max={MAX_ID}):event_id>/poster")
def event_poster(event_id: int):
    """A printable A4 poster: title, time, place, the QR code and the code in large print."""
    event = _event_or_404(event_id)
    tz = services().settings.tz
    return render_template(
        "console/event_poster.html",
        event=event,
        qr=checkin_qr(event.code, services().settings.public_url, scale=12, fluid=True),
        link=checkin_link(services().settings.public_url, event.code),
        when=f"{label(event.starts_at, tz)}—{label(event.ends_at, tz)[-5:]}",
    )


@bp.post(f"/events/<int(max={MAX_ID}):event_id>/manual")
@officer_only
def event_manual_sign_in(event_id: int):
    """A late sign-in recorded by an officer (someone who came but could not sign in)."""
    event = _event_or_404(event_id)
    user = g.db.get(User, request.form.get("userid", "").strip()[:64])
    if user is None or user.status != 1:
        flash(texts.get("console.event_manual_unknown"), "error")
        return redirect(url_for("console.event_detail", event_id=event.id))
    row = attend.attend(g.db, event, user, now(), method="manual", recorded_by=actor())
    name = user.name or user.userid
    if row is None:
        done = attend.attendance_of(g.db, event.id, user.userid)
        when = label(done.checked_at, services().settings.tz) if done else ""
        flash(texts.get("console.event_manual_already", name=name, when=when))
    else:
        audit(
            "console:event-manual",
            texts.get(
                "console.audit_details.event_manual",
                id=event.id,
                title=event.title,
                name=names().person(user.userid),
            ),
        )
        flash(texts.get("console.event_manual_done", name=name, title=event.title))
    return redirect(url_for("console.event_detail", event_id=event.id))


@bp.get(f"/events/<int(max={MAX_ID}):event_id>/attendance.xlsx")
def event_attendance_xlsx(event_id: int):
    """Who signed in (of this account's departments), per department, the drill survey."""
    event = _event_or_404(event_id)
    sheets = attendance_sheets(g.db, event, services().settings.tz, scope().allows)
    detail = texts.get(
        "console.audit_details.event_rows", id=event.id, title=event.title, count=len(sheets[0][2])
    )
    return sheets_download(f"event-{event.id}-attendance", sheets, "console:event-export", detail)


@bp.get(f"/events/<int(max={MAX_ID}):event_id>/absentees.xlsx")
def event_absentees_xlsx(event_id: int):
    """Who was invited and did not come (of this account's departments)."""
    event = _event_or_404(event_id)
    sheets = absentee_sheets(g.db, event, services().settings.tz, scope().allows)
    detail = texts.get(
        "console.audit_details.event_rows", id=event.id, title=event.title, count=len(sheets[0][2])
    )
    return sheets_download(f"event-{event.id}-absentees", sheets, "console:event-absentees", detail)
