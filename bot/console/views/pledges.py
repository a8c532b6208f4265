"""Pledge (责任书) texts, rounds and completion; launching a round."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from bot.console import data
from bot.console.auth import can_act
from bot.console.reminders import pledge_pending
from bot.console.views.common import (
    actor,
    audit,
    bp,
    now,
    officer_only,
    scope,
    services,
    sheets_download,
)
from bot.content import texts
from bot.models import PledgeRound, PledgeRoundMember, PledgeSignature, PledgeText
from bot.pledge.export import PLEDGE_SHEET_HEADER, SUMMARY_HEADER, export_rows
from bot.pledge.rounds import launch
from bot.pledge.texts import current_texts


@bp.get("/pledges")
def pledges():
    """Officers: texts, rounds, launching. Everyone (a department head: scoped to their
    departments): completion per department and who has not signed yet (names for the first
    departments, up to reminders.PLEDGE_NAMES_SHOWN people; `?department=ID` lists that one
    too; the export has everyone)."""
    officer = can_act(g.account)
    rounds = []
    limit = 20 if officer else 0
    for rnd in g.db.scalars(select(PledgeRound).order_by(PledgeRound.id.desc()).limit(limit)):
        signed = g.db.scalar(
            select(func.count())
            .select_from(PledgeRoundMember)
            .join(
                PledgeSignature,
                (PledgeSignature.userid == PledgeRoundMember.userid)
                & (PledgeSignature.text_hash == PledgeRoundMember.text_hash),
            )
            .where(PledgeRoundMember.round_id == rnd.id)
        )
        rounds.append((rnd, signed or 0))
    completion = data.pledge_by_department(g.db, scope())
    expand = request.args.get("department", "")
    pending = pledge_pending(
        g.db, scope(), completion, int(expand) if expand.isdigit() and len(expand) < 10 else None
    )
    return render_template(
        "console/pledges.html",
        officer=officer,
        current=current_texts() if officer else {},
        history=list(
            g.db.scalars(select(PledgeText).order_by(PledgeText.key, PledgeText.id.desc()))
        )
        if officer
        else [],
        rounds=rounds,
        completion=completion,
        departments=data.departments_in(g.db, scope()),
        pending=pending,
        page="pledge",
        names=data.department_names(g.db),
        roles=texts.raw("pledge.roles"),
        export_url=url_for("console.pledges_xlsx"),
    )


@bp.get("/pledges.xlsx")
def pledges_xlsx():
    """Each member in this account's departments (signed or not) and the department summary,
    as `export pledges`; `?round=N` limits it to the members of a signing round."""
    value = request.args.get("round", "")
    round_id = int(value) if value.isdigit() and len(value) < 10 else None
    if round_id is not None and g.db.get(PledgeRound, round_id) is None:
        abort(404)
    rows, summary = export_rows(g.db, services().settings.tz, round_id, scope().allows)
    sheets = [("签署明细", PLEDGE_SHEET_HEADER, rows), ("部门汇总", SUMMARY_HEADER, summary)]
    detail = texts.get("console.audit_details.rows", count=len(rows))
    if round_id is not None:
        detail = texts.get("console.audit_details.pledge_round", round=round_id) + detail
    return sheets_download("pledges", sheets, "console:pledge-export", detail)


@bp.post("/pledges/launch")
@officer_only
def pledges_launch():
    departments = [int(d) for d in request.form.getlist("departments") if d.isdigit()]
    round_id, total, pending = launch(
        g.db, actor(), now(), departments or None, services().settings.tz
    )
    names = data.department_names(g.db)
    audit(
        "console:pledge-launch",
        texts.get(
            "console.audit_details.pledge_launch",
            round=round_id,
            departments="、".join(names.get(d, str(d)) for d in departments) or "全体",
        ),
    )
    services().kick_sender()
    flash(f"第 {round_id} 轮签订已发起：{total} 人在范围内，{pending} 人待签。")
    return redirect(url_for("console.pledges"))
