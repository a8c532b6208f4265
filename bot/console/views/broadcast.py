"""Broadcasts and warnings from the console, and CAP alert approvals."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from bot.console import data
from bot.console.actions import BroadcastError, compose_broadcast
from bot.console.views.common import actor, audit, bp, now, officer_only, scope, services
from bot.content import texts
from bot.localtime import stamp
from bot.warnings import acks, cap_alerts, publish
from bot.warnings.templates import LEVEL_NAMES


@bp.route("/broadcast", methods=["GET", "POST"])
@officer_only
def broadcast():

    form = request.form if request.method == "POST" else {}
    preview = None
    if request.method == "POST":
        try:
            draft = compose_broadcast(
                g.db, services().settings, now(), form, request.form.getlist("departments")
            )
        except BroadcastError as exc:
            flash(str(exc), "error")
        else:
            if request.form.get("do") == "send":
                warning = publish.publish(
                    g.db,
                    services().settings,
                    draft.send_at,
                    created_by=actor(),
                    rendered=draft.rendered,
                    department_ids=draft.department_ids,
                    require_ack=draft.require_ack,
                    kind=draft.kind,
                )
                audit(
                    "console:broadcast",
                    texts.get(
                        "console.audit_details.broadcast",
                        id=warning.id,
                        kind=texts.get(f"warning.kind_{draft.kind}"),
                        count=warning.recipients_total,
                        when=stamp(draft.send_at, services().settings.tz),
                    ),
                )
                services().kick_sender()
                when = (
                    ""
                    if draft.send_at <= now()
                    else texts.get(
                        "console.broadcast.scheduled",
                        time=stamp(draft.send_at, services().settings.tz),
                    )
                )
                flash(
                    texts.get(
                        "console.broadcast.submitted",
                        id=warning.id,
                        count=warning.recipients_total,
                        when=when,
                    )
                )
                return redirect(url_for("console.broadcast"))
            preview = draft
    recent = publish.recent_warnings(g.db)
    acked = {w.id: acks.ack_count(g.db, w.id) for w in recent}
    return render_template(
        "console/broadcast.html",
        form=form,
        preview=preview,
        recent=recent,
        acks=acked,
        pending=cap_alerts.pending_alerts(g.db),
        departments=data.departments_in(g.db, scope()),
        chosen=set(request.form.getlist("departments")),
        tz=services().settings.tz,
        labels=publish.labels(),
        level_names=LEVEL_NAMES,
        severities=texts.raw("warning.cap.severities"),
    )


@bp.post("/cap/<int(max=2147483647):alert_id>")
@officer_only
def cap_decide(alert_id: int):
    approve = request.form.get("do") == "approve"
    row, warning = cap_alerts.decide_cap(
        g.db, services().settings, now(), alert_id, approve=approve, by=actor()
    )
    if row is None:
        flash(texts.get("console.cap.already_decided"), "error")
    else:
        audit("console:cap-" + ("approve" if approve else "ignore"), f"{alert_id} {row.event}")
        services().kick_sender()
        key = "console.cap.approved" if approve else "console.cap.ignored"
        flash(texts.get(key, event=row.event or alert_id))
    return redirect(url_for("console.broadcast"))
