"""Logging for every entry point (the CLI, bot.wsgi, gunicorn through bot.gunicorn_conf, the
demo through the CLI): one timestamped format, or one JSON object per line for log collectors
(SAFETYBOT_LOG_FORMAT=json); the request id of the HTTP request a line was logged in; secrets
redacted from every record at every level.

urllib3 logs each request line at DEBUG, with `corpsecret=` and `access_token=` in the query;
a robot webhook URL carries its `key=`. The redaction runs where records are made (the log
record factory), so it covers every handler, including ones added later (gunicorn's,
pytest's): the message, its arguments and any traceback text.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import traceback
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")
MASK = "***"

# The id of the HTTP request being handled in this thread ("" outside a request): set by
# `bind_request_ids` for each request, copied onto every record made meanwhile.
REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
# A proxy's X-Request-Id is kept when it looks like one (no spaces or line breaks to forge
# log lines with); otherwise a new id is made.
_REQUEST_ID_SHAPE = re.compile(r"[A-Za-z0-9._:-]{1,64}")

# name=value / "name": "value" for the names that carry secrets in WeCom's API and ours.
_NAMED = re.compile(
    r"""(?ix)
    (?<![A-Za-z0-9])(corpsecret|access_token|secret|secret_key|key|encoding_?aes_?key|aes_?key|token)
    (["']?\s*[=:]\s*["']?)
    ([^\s&"',;)}\]]+)
    """
)


class RedactSecrets(logging.Filter):
    """Replaces secret values in a record's text; known secrets (the settings' values) are
    replaced wherever they appear, named parameters whatever their value."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # Short values (an agent id, "1") would mask ordinary text; real secrets are long.
        self.secrets.update(s for s in secrets if s and len(s) >= 8)

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return _NAMED.sub(lambda m: m.group(1) + m.group(2) + MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logging's to report
            return True
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


REDACTOR = RedactSecrets()
_base_factory = logging.getLogRecordFactory()
_installed = False


def _redacting_factory(*args, **kwargs) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.request_id = REQUEST_ID.get()
    REDACTOR.filter(record)
    return record


def install_redaction(secrets: Iterable[str] = ()) -> RedactSecrets:
    """Redact every log record from now on; `secrets` are values to mask wherever they are."""
    global _installed
    REDACTOR.add(secrets)
    if not _installed:
        logging.setLogRecordFactory(_redacting_factory)
        _installed = True
    return REDACTOR


def uninstall_redaction() -> None:
    """Tests only: back to logging's own record factory."""
    global _installed
    logging.setLogRecordFactory(_base_factory)
    REDACTOR.secrets.clear()
    _installed = False


def settings_secrets(settings) -> list[str]:
    return [
        settings.secret,
        settings.encoding_aes_key,
        settings.secret_key,
        settings.token,
        *settings.robot_keys,
    ]


def _request_id(record: logging.LogRecord) -> str:
    # Set where the record was made (the record factory); else the formatting thread's.
    return getattr(record, "request_id", None) or REQUEST_ID.get()


class TextFormatter(logging.Formatter):
    """`2026-06-03 08:25:00,123 INFO bot.callback: [req 3f2a…] message` — the request id only
    on lines logged while a request is handled."""

    def __init__(self) -> None:
        super().__init__(FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        line = super().formatMessage(record)
        rid = _request_id(record)
        if rid:
            head, sep, message = line.partition(": ")
            line = f"{head}{sep}[req {rid}] {message}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and
    request_id, exc (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        if _request_id(record):
            entry["request_id"] = _request_id(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def make_formatter(fmt: str = "text") -> logging.Formatter:
    """The formatter of every handler: "text" (default) or "json"."""
    return JsonFormatter() if fmt == "json" else TextFormatter()


def _quiet_libraries(level: int) -> None:
    # Alembic logs "Context impl …" and "Will assume … DDL" on every start; bot.migrate logs
    # one line per migration that actually runs instead. APScheduler logs two INFO lines per
    # job run, several a minute. Both come back with -v (DEBUG).
    for name in ("alembic", "apscheduler"):
        logging.getLogger(name).setLevel(
            logging.NOTSET if level <= logging.DEBUG else logging.WARNING
        )


def configure(level: int | str, settings=None, fmt: str | None = None) -> None:
    """The logging set-up of every entry point: root handler, format, redaction."""
    install_redaction(settings_secrets(settings) if settings is not None else ())
    fmt = fmt or getattr(settings, "log_format", "text")
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    numeric = numeric if isinstance(numeric, int) else logging.INFO
    root = logging.getLogger()
    if not root.handlers:  # gunicorn (bot.gunicorn_conf) has set up the root handler already
        handler = logging.StreamHandler()
        handler.setFormatter(make_formatter(fmt))
        root.addHandler(handler)
        root.setLevel(numeric)
    _quiet_libraries(numeric)


def gunicorn_logconfig(level: str = "INFO", fmt: str = "text") -> dict:
    """gunicorn's `logconfig_dict`: its error and access lines through the root handler, in
    the format of every other line (bot.gunicorn_conf)."""
    install_redaction()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"safetybot": {"()": make_formatter, "fmt": fmt}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "safetybot",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
        },
    }


def bind_request_ids(app) -> None:
    """Give each request of the Flask `app` an id: the caller's X-Request-Id (a proxy's) or a
    new one; on every log line of the request and in the response's X-Request-Id header."""
    from flask import g, request

    @app.before_request
    def _start() -> None:
        given = request.headers.get("X-Request-Id", "")
        rid = given if _REQUEST_ID_SHAPE.fullmatch(given) else uuid.uuid4().hex[:12]
        g.request_id_token = REQUEST_ID.set(rid)
        g.request_id = rid

    @app.after_request
    def _header(response):
        rid = g.get("request_id")
        if rid:
            response.headers["X-Request-Id"] = rid
        return response

    @app.teardown_request
    def _end(_exc) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            try:
                REQUEST_ID.reset(token)
            except ValueError:  # reset from another context: that context ends anyway
                REQUEST_ID.set("")
