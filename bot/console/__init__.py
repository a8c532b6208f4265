"""The admin console at /admin: a Flask blueprint over the same database as the bot.

`register_console(app, services)` is called by the app factory; the pages reach the process's
services (settings, session factory, clock, kick_sender) through `app.extensions`, never
through the runtime. Everything the console shows is escaped by Jinja's autoescape; charts
are inline SVG drawn on the server (no CDN).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask

from bot.console.views import bp
from bot.console.views.common import SERVICES_KEY

if TYPE_CHECKING:
    from bot.services import Services


def register_console(app: Flask, services: Services) -> None:
    app.extensions[SERVICES_KEY] = services
    # The session cookie is the console's login: not readable by scripts, not sent on
    # cross-site POSTs (forms also carry a CSRF token).
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_NAME"] = "safetybot_console"
    app.register_blueprint(bp)
