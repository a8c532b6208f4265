"""The admin console at /admin: a Flask blueprint over the same database as the bot.

`register_console(app, services)` is called by the app factory; the pages reach the process's
services (settings, session factory, clock, kick_sender) through `app.extensions`, never
through the runtime. Everything the console shows is escaped by Jinja's autoescape; charts
are inline SVG drawn on the server (no CDN).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface

from bot.console.auth import session_secret
from bot.console.checkin_links import CHECKIN_PREFIX
from bot.console.checkin_links import links as checkin_links
from bot.console.learning_links import links as learning_links
from bot.console.views import bp
from bot.console.views.common import SERVICES_KEY

if TYPE_CHECKING:
    from bot.services import Services


# The console, and the check-in page (who signed in through WeCom, its form token).
SESSION_PATHS = (bp.url_prefix or "/admin", CHECKIN_PREFIX)


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, with two changes: without SAFETYBOT_SECRET_KEY the
    signing key is the one kept in the database (read on the first console request, so
    /wecom/callback and /healthz never need it), and the cookie is Secure on HTTPS."""

    _lock = threading.Lock()

    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            with self._lock:
                if not app.secret_key:
                    services = app.extensions[SERVICES_KEY]
                    app.secret_key = session_secret(services.factory, services.clock())
        return super().get_signing_serializer(app)

    def open_session(self, app: Flask, request):
        if not request.path.startswith(SESSION_PATHS):
            return self.session_class()  # nothing else (the WeCom callback …) uses a session
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def register_console(app: Flask, services: Services) -> None:
    app.extensions[SERVICES_KEY] = services
    # The session cookie is the console's login: not readable by scripts, not sent on
    # cross-site POSTs (forms also carry a CSRF token), only over HTTPS when served so.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_NAME"] = "safetybot_console"
    app.config["SESSION_COOKIE_SECURE"] = services.settings.https
    app.session_interface = ConsoleSessionInterface()
    app.register_blueprint(bp)
    app.register_blueprint(learning_links)  # /l/<token>, /learn/<token>: staff, no login
    app.register_blueprint(checkin_links)  # /checkin/<code>: staff, signed in through WeCom
