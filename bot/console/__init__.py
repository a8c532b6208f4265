"""The admin console at /admin: a Flask blueprint over the same database as the bot.

`register_console(app, runtime)` is called by the app factory. Everything the console shows
is escaped by Jinja's autoescape; charts are inline SVG drawn on the server (no CDN).
"""

from __future__ import annotations

from flask import Flask


def register_console(app: Flask, runtime) -> None:
    from bot.console.views import bp

    # The session cookie is the console's login: not readable by scripts, not sent on
    # cross-site POSTs (forms also carry a CSRF token).
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_NAME"] = "safetybot_console"
    app.register_blueprint(bp)
