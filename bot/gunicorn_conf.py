"""gunicorn settings for `bot.wsgi:app` (compose.yaml's web service):

    gunicorn --config python:bot.gunicorn_conf bot.wsgi:app

gunicorn's own lines (start-up, worker restarts, the access log) come out in the format of
every other line (SAFETYBOT_LOG_FORMAT=json: one JSON object per line), with the request id
the app gives each request (X-Request-Id). Anything here can be overridden on the command
line or in GUNICORN_CMD_ARGS, e.g. GUNICORN_CMD_ARGS="--workers 4".
"""

from __future__ import annotations

from bot.logging_setup import gunicorn_logconfig
from bot.settings import Settings

_settings = Settings.from_env()

bind = "0.0.0.0:8000"
workers = 2
threads = 4
# WeCom waits 5 s for a callback's answer; a request still running after 30 s is stuck.
timeout = 30
graceful_timeout = 20
# The control socket (gunicornc) is not used; without it nothing is written to $HOME.
control_socket_disable = True

accesslog = "-"
# Client, request line, status, bytes, duration and the request id of the app's log lines.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms req=%({x-request-id}o)s'
logconfig_dict = gunicorn_logconfig(_settings.log_level, _settings.log_format)
