"""Safety suggestions and replies."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.console import data
from bot.console.views.common import (
    actor,
    audit,
    bp,
    now,
    officer_only,
    people_names,
    scope,
    services,
)
from bot.content import texts
from bot.messages import text_message
from bot.models import Suggestion, SuggestionReply
from bot.outbox import enqueue


@bp.get("/suggestions")
def suggestions():
    rows = list(
        g.db.scalars(
            select(Suggestion)
            .options(selectinload(Suggestion.replies))
            .where(scope().filter(Suggestion.department_id))
            .order_by(Suggestion.id.desc())
            .limit(200)
        )
    )
    return render_template(
        "console/suggestions.html",
        rows=rows,
        people=people_names(),
        names=data.department_names(g.db),
        tz=services().settings.tz,
    )


@bp.post("/suggestions/<int:suggestion_id>/reply")
@officer_only
def suggestion_reply(suggestion_id: int):

    suggestion = g.db.get(Suggestion, suggestion_id) or abort(404)
    content = request.form.get("content", "").strip()[:2000]
    if not content:
        flash("回复内容不能为空。", "error")
        return redirect(url_for("console.suggestions"))
    g.db.add(
        SuggestionReply(suggestion_id=suggestion.id, replier=actor(), content=content, at=now())
    )
    notice = texts.get(
        "suggestion.reply_notice",
        ticket=suggestion.ticket,
        content=content,
        replier=texts.get("console.replier"),
    )
    enqueue(
        g.db,
        [suggestion.proposer],
        text_message(notice),
        source="suggestion:reply",
        now=now(),
    )
    audit("console:suggestion-reply", f"{suggestion.ticket} {content}"[:500])
    services().kick_sender()
    flash(f"已回复 {suggestion.ticket}。")
    return redirect(url_for("console.suggestions"))
