"""The demo's web chat: pick a staff member, talk to the bot, see pushes arrive."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request

from bot.demo.photo import sample_photo
from bot.fake_wecom.driver import CallbackDriver, http_post
from bot.fake_wecom.seed import ADMINS, DEPARTMENTS, USERS
from bot.fake_wecom.server import FakeWeCom

PAGE = Path(__file__).with_name("chat.html")


@dataclass
class DemoChat:
    fake: FakeWeCom
    runtime: Any
    base_url: str
    log: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.driver = CallbackDriver(
            self.runtime.crypto, http_post(self.base_url), agent_id=self.runtime.settings.agent_id
        )

    def _note(self, userid: str, item: dict[str, Any]) -> None:
        with self.lock:
            self.log.setdefault(userid, []).append(item)

    def send_text(self, userid: str, text: str) -> dict[str, Any]:
        self._note(
            userid,
            {
                "from": "me",
                "at": time.time(),
                "body": {"msgtype": "text", "text": {"content": text}},
            },
        )
        result = self.driver.text(userid, text)
        return self._after(userid, result)

    def send_location(self, userid: str, lat: float, lng: float, label: str) -> dict[str, Any]:
        self._note(
            userid,
            {
                "from": "me",
                "at": time.time(),
                "body": {"msgtype": "text", "text": {"content": f"📍 {label or '位置'}"}},
            },
        )
        return self._after(userid, self.driver.location(userid, lat, lng, label))

    def send_image(self, userid: str) -> dict[str, Any]:
        media_id = "demo-" + str(int(time.time() * 1000))
        # A photo of a blocked fire extinguisher, as a phone would upload it.
        self.fake.add_media(media_id, sample_photo(), "image/png")
        self._note(
            userid,
            {
                "from": "me",
                "at": time.time(),
                "body": {"msgtype": "text", "text": {"content": "🖼 [照片]"}},
            },
        )
        return self._after(userid, self.driver.image(userid, media_id))

    def click(self, userid: str, data: dict[str, Any]) -> dict[str, Any]:
        label = data.get("label") or "点击"
        self._note(
            userid,
            {
                "from": "me",
                "at": time.time(),
                "body": {"msgtype": "text", "text": {"content": f"[{label}]"}},
            },
        )
        result = self.driver.card_event(
            userid,
            data.get("event_key", ""),
            data.get("task_id", ""),
            selected=data.get("selected") or None,
            response_code=data.get("response_code", ""),
            card_type=data.get("card_type", "button_interaction"),
        )
        return self._after(userid, result)

    def _after(self, userid: str, result) -> dict[str, Any]:
        if result.status != 200:
            self._note(
                userid,
                {
                    "from": "system",
                    "at": time.time(),
                    "body": {
                        "msgtype": "text",
                        "text": {"content": f"回调被拒绝：HTTP {result.status}"},
                    },
                },
            )
        elif result.text:
            self._note(
                userid,
                {
                    "from": "bot",
                    "at": time.time(),
                    "body": {"msgtype": "text", "text": {"content": result.text}},
                },
            )
        return {"status": result.status}

    def messages(self, userid: str) -> list[dict[str, Any]]:
        with self.lock:
            items = list(self.log.get(userid, []))
        with self.fake._lock:
            pushed = list(self.fake.delivered.get(userid, []))
            updates = [
                c for c in self.fake.updated_cards if userid in (c.get("userids") or [userid])
            ]
        for d in pushed:
            items.append(
                {"from": "bot", "at": d.at, "body": d.body, "response_code": d.response_code}
            )
        for u in updates:
            items.append(
                {
                    "from": "bot",
                    "at": u.get("_at", time.time()),
                    "update": True,
                    "body": {"msgtype": "template_card", "template_card": u.get("template_card")},
                }
            )
        items.sort(key=lambda i: i["at"])
        return items


def register_demo(app: Flask, chat: DemoChat) -> None:
    @app.get("/")
    def page() -> Response:
        return Response(PAGE.read_text(encoding="utf-8"), mimetype="text/html")

    @app.get("/demo/api/users")
    def users():
        names = {d: n for d, n, _ in DEPARTMENTS}
        return jsonify(
            [
                {
                    "userid": u,
                    "name": n,
                    "department": names.get(depts[0], ""),
                    "position": pos,
                    "admin": u in ADMINS,
                    "head": bool(leader),
                }
                for u, n, depts, leader, pos in USERS
            ]
        )

    @app.get("/demo/api/messages")
    def messages():
        return jsonify(chat.messages(request.args.get("user", "")))

    @app.post("/demo/api/send")
    def send():
        data = request.get_json(silent=True) or {}
        userid = str(data.get("user") or "")
        if userid not in {u[0] for u in USERS}:
            return jsonify(error="unknown user"), 400
        kind = data.get("kind", "text")
        if kind == "text":
            text = str(data.get("text") or "").strip()
            if not text:
                return jsonify(error="empty"), 400
            return jsonify(chat.send_text(userid, text[:2000]))
        if kind == "location":
            return jsonify(
                chat.send_location(
                    userid,
                    float(data.get("lat", 0)),
                    float(data.get("lng", 0)),
                    str(data.get("label", "")),
                )
            )
        if kind == "image":
            return jsonify(chat.send_image(userid))
        if kind == "card":
            return jsonify(chat.click(userid, data))
        return jsonify(error="unknown kind"), 400
