"""Safety suggestions and replies."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from bot.console import data
from bot.console.actions import SuggestionReplyError, adopt_suggestion, reply_to_suggestion
from bot.console.views.common import (
    actor,
    audit,
    bp,
    now,
    officer_only,
    people_names,
    scope,
    services,
    sheets_download,
)
from bot.content import texts
from bot.models import Suggestion
from bot.suggestion import EXPORT_HEADER, export_rows, recent

# Ids are 32-bit on PostgreSQL (and SQLite overflows at 64 bits): a larger number in a URL
# names no row, so the route does not match it (404) instead of overflowing in the driver.
MAX_ID = 2**31 - 1


LIMIT = 200  # the newest suggestions the page lists (and its download holds)


@bp.get("/suggestions")
def suggestions():
    rows = recent(g.db, scope().filter(Suggestion.department_id), limit=LIMIT)
    return render_template(
        "console/suggestions.html",
        rows=rows,
        people=people_names(),
        names=data.department_names(g.db),
        tz=services().settings.tz,
        export_url=url_for("console.suggestions_xlsx"),
    )


@bp.get("/suggestions.xlsx")
def suggestions_xlsx():
    rows = export_rows(
        g.db, services().settings.tz, scope().filter(Suggestion.department_id), limit=LIMIT
    )
    sheets = [("安全建议", EXPORT_HEADER, rows)]
    detail = texts.get("console.audit_details.rows", count=len(rows))
    return sheets_download("suggestions", sheets, "console:suggestion-export", detail)


@bp.post(f"/suggestions/<int(max={MAX_ID}):suggestion_id>/reply")
@officer_only
def suggestion_reply(suggestion_id: int):

    suggestion = g.db.get(Suggestion, suggestion_id) or abort(404)
    content = request.form.get("content", "").strip()[:2000]
    try:
        reply_to_suggestion(g.db, now(), suggestion, actor=actor(), content=content)
    except SuggestionReplyError as exc:
        flash(str(exc), "error")
        return redirect(url_for("console.suggestions"))
    audit("console:suggestion-reply", f"{suggestion.ticket} {content}"[:500])
    services().kick_sender()
    flash(f"已回复 {suggestion.ticket}。")
    return redirect(url_for("console.suggestions"))


@bp.post(f"/suggestions/<int(max={MAX_ID}):suggestion_id>/adopt")
@officer_only
def suggestion_adopt(suggestion_id: int):
    suggestion = g.db.get(Suggestion, suggestion_id) or abort(404)
    note = request.form.get("note", "").strip()[:2000]
    if not adopt_suggestion(g.db, now(), suggestion, actor=actor(), note=note):
        flash(texts.get("suggestion.already_adopted", ticket=suggestion.ticket), "error")
        return redirect(url_for("console.suggestions"))
    audit("console:suggestion-adopt", f"{suggestion.ticket} {note}".strip()[:500])
    services().kick_sender()
    flash(f"已采纳 {suggestion.ticket}，提出人获得积分。")
    return redirect(url_for("console.suggestions"))
