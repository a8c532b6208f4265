"""The Flask app factory (as in Flask's tutorial): nothing is created at import time."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from flask import Flask, jsonify
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.callback import bp as callback_bp
from bot.console import register_console
from bot.logging_setup import bind_request_ids
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings

HEALTHZ_TIMEOUT = 2.0
# A few threads for /healthz probes; a probe stuck on a dead database occupies one, not the
# request thread.
_HEALTH_PROBES = ThreadPoolExecutor(max_workers=4, thread_name_prefix="healthz")


def _ping(engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    settings = settings or (runtime.settings if runtime else Settings.from_env())
    runtime = runtime or build_runtime(settings)
    app = Flask(__name__)
    # Empty: the console reads the key every process shares from the database on first use.
    app.config["SECRET_KEY"] = settings.secret_key or None
    if settings.trusted_proxies:
        # The client's address and scheme as the trusted proxies forwarded them; without
        # this, every client behind a proxy has the proxy's address.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    # Bodies over 64 KiB are refused with 413 before anything reads them.
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.extensions["safetybot"] = runtime
    bind_request_ids(app)  # X-Request-Id on every log line of a request and in its answer

    app.register_blueprint(callback_bp)

    register_console(app, runtime)  # the console sees it as bot.services.Services

    @app.get("/healthz")
    def healthz():
        # Answer within HEALTHZ_TIMEOUT whatever the database does: a load balancer's probe
        # must not hang on a database that accepts connections but does not answer.
        probe = _HEALTH_PROBES.submit(_ping, runtime.engine)
        try:
            probe.result(timeout=HEALTHZ_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - report, don't crash
            logging.getLogger(__name__).warning("healthz: database error %r", exc)
            return jsonify(status="error", database="unavailable"), 503
        return jsonify(status="ok", database="ok")

    @app.errorhandler(413)
    def too_large(_exc):
        return "body too large", 413, {"Content-Type": "text/plain"}

    return app
