"""Plays WeCom's side of the callback: builds signed, encrypted callbacks and reads replies.

Used by the tests (through Flask's test client), the benchmarks and the demo chat page
(through real HTTP), so all of them exercise the real encrypted callback path.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.wecom.crypto import CallbackCrypto, parse_xml
from bot.wecom.inbound import build_message_xml

# post(path_with_query, body) -> (status, response bytes)
PostFn = Callable[[str, bytes], tuple[int, bytes]]

_ids = itertools.count(int(time.time() * 1000) * 1000)
_ids_lock = threading.Lock()


def next_msg_id() -> str:
    with _ids_lock:
        return str(next(_ids))


@dataclass
class CallbackResult:
    status: int
    body: bytes
    reply_xml: dict[str, str] | None = None

    @property
    def text(self) -> str | None:
        return self.reply_xml.get("Content") if self.reply_xml else None


class CallbackDriver:
    def __init__(
        self,
        crypto: CallbackCrypto,
        post: PostFn,
        agent_id: int = 1000002,
        path: str = "/wecom/callback",
    ) -> None:
        self.crypto = crypto
        self.post = post
        self.agent_id = agent_id
        self.path = path

    def send_fields(
        self, fields: dict[str, Any], *, timestamp: int | None = None, nonce: str | None = None
    ) -> CallbackResult:
        xml = build_message_xml(
            {"ToUserName": self.crypto.corp_id, **fields, "AgentID": self.agent_id}
        )
        return self.send_xml(xml, timestamp=timestamp, nonce=nonce)

    def send_xml(
        self, xml: str, *, timestamp: int | None = None, nonce: str | None = None
    ) -> CallbackResult:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or secrets.token_hex(5)
        body, sig = self.crypto.encrypt_callback(xml, nonce, ts)
        query = urlencode({"msg_signature": sig, "timestamp": ts, "nonce": nonce})
        status, raw = self.post(f"{self.path}?{query}", body)
        return CallbackResult(
            status, raw, self.decrypt_reply(raw) if status == 200 and raw else None
        )

    def decrypt_reply(self, raw: bytes) -> dict[str, str]:
        envelope = parse_xml(raw)
        self.crypto.check_signature(
            envelope.get("MsgSignature"),
            envelope.get("TimeStamp"),
            envelope.get("Nonce"),
            envelope["Encrypt"],
        )
        return parse_xml(self.crypto.decrypt(envelope["Encrypt"]))

    # -- conveniences -------------------------------------------------------------------------
    def text(
        self,
        userid: str,
        content: str,
        *,
        msg_id: str | None = None,
        create_time: int | None = None,
    ) -> CallbackResult:
        return self.send_fields(
            {
                "FromUserName": userid,
                "CreateTime": create_time or int(time.time()),
                "MsgType": "text",
                "Content": content,
                "MsgId": msg_id or next_msg_id(),
            }
        )

    def image(self, userid: str, media_id: str) -> CallbackResult:
        return self.send_fields(
            {
                "FromUserName": userid,
                "CreateTime": int(time.time()),
                "MsgType": "image",
                "PicUrl": "http://127.0.0.1/none.png",
                "MediaId": media_id,
                "MsgId": next_msg_id(),
            }
        )

    def location(self, userid: str, lat: float, lng: float, label: str = "") -> CallbackResult:
        return self.send_fields(
            {
                "FromUserName": userid,
                "CreateTime": int(time.time()),
                "MsgType": "location",
                "Location_X": lat,
                "Location_Y": lng,
                "Scale": 15,
                "Label": label,
                "MsgId": next_msg_id(),
            }
        )

    def event(
        self,
        userid: str,
        event: str,
        event_key: str = "",
        *,
        create_time: int | None = None,
        **extra: Any,
    ) -> CallbackResult:
        fields: dict[str, Any] = {
            "FromUserName": userid,
            "CreateTime": create_time or int(time.time()),
            "MsgType": "event",
            "Event": event,
            "EventKey": event_key,
        }
        fields.update(extra)
        return self.send_fields(fields)

    def card_event(
        self,
        userid: str,
        event_key: str,
        task_id: str,
        *,
        selected: dict[str, list[str]] | None = None,
        response_code: str = "",
        card_type: str = "vote_interaction",
        create_time: int | None = None,
    ) -> CallbackResult:
        extra: dict[str, Any] = {
            "TaskId": task_id,
            "CardType": card_type,
            "ResponseCode": response_code or secrets.token_hex(8),
        }
        if selected:
            extra["SelectedItems"] = selected
        result = self.event(
            userid, "template_card_event", event_key, create_time=create_time, **extra
        )
        if result.reply_xml is not None and result.reply_xml.get("MsgType") == "text":
            # WeCom documents only a card update as the answer to a card click.
            raise PassiveReplyRefused(f"passive text reply to a card click: {result.text!r}")
        return result


class PassiveReplyRefused(AssertionError):
    """The bot answered a template_card_event with a passive text, which WeCom does not take."""


def flask_post(test_client) -> PostFn:
    def post(path: str, body: bytes) -> tuple[int, bytes]:
        res = test_client.post(path, data=body, content_type="text/xml")
        return res.status_code, res.data

    return post


def http_post(base_url: str, session=None, timeout: float = 10.0) -> PostFn:
    import requests

    http = session or requests.Session()

    def post(path: str, body: bytes) -> tuple[int, bytes]:
        # A kept-alive connection the server closed while idle resets when reused; WeCom would
        # retry such a callback, and so does this driver, once, on a fresh connection (the
        # MsgId makes a retry take effect once).
        for attempt in (1, 2):
            try:
                res = http.post(
                    base_url.rstrip("/") + path,
                    data=body,
                    headers={"Content-Type": "text/xml"},
                    timeout=timeout,
                )
                return res.status_code, res.content
            except requests.ConnectionError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    return post
