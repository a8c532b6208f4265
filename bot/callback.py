"""The Flask adapter for WeCom callbacks: HTTP in, `Bot.handle`, HTTP out.

Doc: 企业微信开发者中心 "回调配置" (GET URL verification, POST messages; answer within 5 s,
else WeCom retries up to 3 times) and "被动回复消息格式".
"""

from __future__ import annotations

import logging
import secrets
import time

from flask import Blueprint, Response, current_app, request

from bot.db import TransientDatabaseError
from bot.runtime import Runtime
from bot.wecom.crypto import CallbackError
from bot.wecom.inbound import parse_message, render_text_reply

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024

bp = Blueprint("wecom", __name__)


def _runtime() -> Runtime:
    return current_app.extensions["safetybot"]


def _refuse(error: CallbackError) -> Response:
    log.info("callback refused (%s): %s from %s", error.status, error.reason, request.remote_addr)
    return Response(error.reason, status=error.status, mimetype="text/plain")


@bp.get("/wecom/callback")
def verify_url() -> Response:
    rt = _runtime()
    args = request.args
    try:
        if rt.crypto is None:
            raise CallbackError(503, "WeCom callback settings are missing")
        rt.crypto.check_timestamp(args.get("timestamp"), rt.settings.callback_max_age)
        plain = rt.crypto.verify_url(
            args.get("msg_signature"), args.get("timestamp"), args.get("nonce"), args.get("echostr")
        )
    except CallbackError as exc:
        return _refuse(exc)
    # WeCom wants the plaintext alone: no quotes, no BOM, no newline.
    return Response(plain, mimetype="text/plain")


@bp.post("/wecom/callback")
def receive() -> Response:
    rt = _runtime()
    args = request.args
    try:
        if rt.crypto is None:
            raise CallbackError(503, "WeCom callback settings are missing")
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise CallbackError(413, "body too large")
        body = request.stream.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            raise CallbackError(413, "body too large")
        timestamp, nonce = args.get("timestamp"), args.get("nonce")
        rt.crypto.check_timestamp(timestamp, rt.settings.callback_max_age)
        plain = rt.crypto.decrypt_callback(body, args.get("msg_signature"), timestamp, nonce)
        msg = parse_message(plain)
    except CallbackError as exc:
        return _refuse(exc)
    try:
        outcome = rt.bot.handle(msg)
    except TransientDatabaseError:
        # The database is down or busy: 503 makes WeCom retry later; nothing was recorded.
        return Response("database unavailable", status=503, mimetype="text/plain")
    if outcome.passive_text is None:
        return Response("", status=200, mimetype="text/plain")
    xml = render_text_reply(
        msg.from_user,
        rt.settings.corp_id,
        outcome.passive_text,
        msg.agent_id or str(rt.settings.agent_id),
    )
    encrypted = rt.crypto.encrypt_reply(xml, nonce or secrets.token_hex(8), str(int(time.time())))
    return Response(encrypted, mimetype="application/xml")
