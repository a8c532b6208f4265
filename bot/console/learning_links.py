"""The learning links staff open from their cards: /l/<token> records "opened" (once) and
forwards to the content: a page of the bot for an article or case (/learn/<token>), the
organisation's own address for a link task (never fetched by the bot).

Not part of /admin: phones reach these from anywhere the bot is served, without a console
login; the token in the address is the person's own (a random 32-character secret).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, render_template, url_for

from bot.console.views.common import SERVICES_KEY
from bot.content import texts
from bot.db import transaction
from bot.learning import tasks
from bot.learning.content import LearningContentError

links = Blueprint("learning_links", __name__, template_folder="templates")

PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"


def _services():
    return current_app.extensions[SERVICES_KEY]


def _not_found() -> Response:
    html = render_template("learning/missing.html", t=texts.get)
    return _headers(Response(html, 404, content_type="text/html; charset=utf-8"))


def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token stays out of other sites' logs
    response.headers["Cache-Control"] = "no-store"
    return response


@links.get("/l/<token>")
def open_link(token: str):
    services = _services()
    with transaction(services.factory) as s:
        found = tasks.by_token(s, token) if len(token) <= 64 else None
        if found is None:
            return _not_found()
        assignment, task = found
        tasks.record_open(s, assignment, services.clock())
        target = task.url if task.kind == "url" else url_for(".read", token=token)
    if task.kind == "url" and not tasks.valid_url(target or ""):
        return _not_found()
    return _headers(redirect(target, code=302))


@links.get("/learn/<token>")
def read(token: str):
    services = _services()
    with transaction(services.factory) as s:
        found = tasks.by_token(s, token) if len(token) <= 64 else None
        if found is None or found[1].kind == "url":
            return _not_found()
        task = found[1]
        try:
            item = tasks.item_for(task)
        except LearningContentError:
            item = None
        if item is None:
            return _not_found()
        title = task.title
    html = render_template("learning/article.html", item=item, title=title, t=texts.get)
    return _headers(Response(html, content_type="text/html; charset=utf-8"))
