"""WSGI entry point for gunicorn: `gunicorn -w 2 bot.wsgi:app`.

Each worker builds its own runtime (engine, client) after the fork. The outbox sender runs here
too unless SAFETYBOT_WEB_SENDER=0 (then run `safetybot scheduler`, which also drains it).
"""

from __future__ import annotations

import logging
import os

from bot.app import create_app
from bot.migrate import upgrade
from bot.runtime import build_runtime
from bot.settings import Settings

logging.basicConfig(level=os.environ.get("SAFETYBOT_LOG_LEVEL", "INFO"))
_settings = Settings.from_env()
_missing = _settings.missing_wecom_settings()
if _missing:
    raise SystemExit("safetybot: missing settings: " + ", ".join(_missing))
_runtime = build_runtime(_settings)
if os.environ.get("SAFETYBOT_MIGRATE", "1") != "0":
    upgrade(_runtime.engine)
if os.environ.get("SAFETYBOT_WEB_SENDER", "1") != "0":
    _runtime.start_sender()
app = create_app(runtime=_runtime)
