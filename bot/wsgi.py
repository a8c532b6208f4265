"""WSGI entry point for gunicorn: `gunicorn -w 2 bot.wsgi:app`.

Settings are checked at import, so a worker with missing WeCom settings stops at once. The
runtime (engine, WeCom client, outbox sender thread) is built on the first request in each
process: threads and database connections do not survive a fork, so building them at import
would break `gunicorn --preload`. Each worker drains the outbox too unless
SAFETYBOT_WEB_SENDER=0 (then `safetybot scheduler` does it).

No scheduled job runs here: the daily pushes, reminders and the CAP feed need one
`safetybot scheduler` beside the web processes (compose.yaml's scheduler service). Without
SAFETYBOT_SCHEDULER_ELSEWHERE=1 every worker says so at start-up.
"""

from __future__ import annotations

import logging
import os
import threading

from bot.logging_setup import configure as configure_logging
from bot.settings import Settings

_settings = Settings.from_env()
# Secrets (corpsecret=, access_token=, robot keys …) are redacted from every record.
configure_logging(_settings.log_level, _settings)
_missing = _settings.missing_wecom_settings()
if _missing:
    raise SystemExit("safetybot: missing settings: " + ", ".join(_missing))
if not _settings.scheduler_elsewhere:
    logging.getLogger("bot.wsgi").warning(
        "bot.wsgi runs no scheduled jobs: NO daily tip, quiz, reminder or warning will be "
        "pushed unless a `safetybot scheduler` runs too (compose.yaml starts one; then set "
        "SAFETYBOT_SCHEDULER_ELSEWHERE=1). One container alone: run `safetybot serve`."
    )


def _build():
    from bot.app import create_app
    from bot.migrate import upgrade
    from bot.runtime import build_runtime

    runtime = build_runtime(_settings)
    if _settings.migrate_on_start:
        upgrade(runtime.engine)
    if _settings.web_sender:
        runtime.start_sender()
    from bot.knowledge.index import warm

    warm()
    return create_app(runtime=runtime)


class _PerProcessApp:
    """Builds the Flask app once per process, on first use (after gunicorn's fork)."""

    def __init__(self) -> None:
        self._pid: int | None = None
        self._app = None
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._app = _build()
                    self._pid = os.getpid()
        return self._app(environ, start_response)


app = _PerProcessApp()
