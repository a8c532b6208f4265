"""Logging for every entry point (the CLI, bot.wsgi, the demo through the CLI): one format,
and secrets redacted from every record at every level.

urllib3 logs each request line at DEBUG, with `corpsecret=` and `access_token=` in the query;
a robot webhook URL carries its `key=`. The redaction runs where records are made (the log
record factory), so it covers every handler, including ones added later (gunicorn's,
pytest's): the message, its arguments and any traceback text.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "***"

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


def configure(level: int | str, settings=None) -> None:
    """The logging set-up of every entry point: root handler, format, redaction."""
    install_redaction(settings_secrets(settings) if settings is not None else ())
    logging.basicConfig(level=level, format=FORMAT)
