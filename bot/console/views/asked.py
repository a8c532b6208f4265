"""Questions staff asked the bot: those without a confident answer (to turn into knowledge
entries) and the 转人工 tickets (WT-…), with a form to answer a ticket as chat's 回复 does."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from bot.console.views.common import (
    actor,
    audit,
    bp,
    now,
    officer_only,
    people_names,
    services,
    sheets_download,
)
from bot.content import texts
from bot.knowledge import answers, tickets
from bot.knowledge.export import asked_sheets, entry_titles
from bot.models import QuestionTicket

MAX_ID = 2**31 - 1


LIMIT = 200  # of each list, on the page and in its download


@bp.get("/asked")
@officer_only
def asked():
    questions = answers.unanswered(g.db, limit=LIMIT)
    wt = tickets.recent(g.db, limit=LIMIT)
    ids = {q.best_id for q in questions} | {t.best_id for t in wt}
    return render_template(
        "console/asked.html",
        questions=questions,
        tickets=wt,
        titles=entry_titles(ids),
        people=people_names(),
        export_url=url_for("console.asked_xlsx"),
    )


@bp.get("/asked.xlsx")
@officer_only
def asked_xlsx():
    sheets = asked_sheets(g.db, services().settings.tz, limit=LIMIT)
    detail = texts.get(
        "console.audit_details.asked_export", tickets=len(sheets[0][2]), questions=len(sheets[1][2])
    )
    return sheets_download("asked", sheets, "console:asked-export", detail)


@bp.post(f"/asked/<int(max={MAX_ID}):ticket_id>/reply")
@officer_only
def asked_reply(ticket_id: int):
    ticket = g.db.get(QuestionTicket, ticket_id) or abort(404)
    content = request.form.get("content", "").strip()[:2000]
    if not content:
        flash(texts.get("knowledge.console_empty"), "error")
        return redirect(url_for("console.asked"))
    tickets.answer(
        g.db,
        ticket,
        replier=actor(),
        replier_name=texts.get("console.replier"),
        content=content,
        now=now(),
    )
    audit("console:question-reply", f"{ticket.ticket} {content}"[:500])
    services().kick_sender()
    flash(texts.get("knowledge.console_replied", ticket=ticket.ticket))
    return redirect(url_for("console.asked"))
