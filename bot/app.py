"""The Flask app factory (as in Flask's tutorial): nothing is created at import time."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from sqlalchemy import text

from bot.runtime import Runtime, build_runtime
from bot.settings import Settings


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    settings = settings or (runtime.settings if runtime else Settings.from_env())
    runtime = runtime or build_runtime(settings)
    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings.secret_key
    # Bodies over 64 KiB are refused with 413 before anything reads them.
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.extensions["safetybot"] = runtime

    from bot.callback import bp as callback_bp

    app.register_blueprint(callback_bp)
    from bot.console import register_console

    register_console(app, runtime)  # the console sees it as bot.services.Services

    @app.get("/healthz")
    def healthz():
        try:
            with runtime.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - report, don't crash
            logging.getLogger(__name__).warning("healthz: database error %s", exc)
            return jsonify(status="error", database="unavailable"), 503
        return jsonify(status="ok", database="ok")

    @app.errorhandler(413)
    def too_large(_exc):
        return "body too large", 413, {"Content-Type": "text/plain"}

    return app
