"""A loopback stand-in for qyapi.weixin.qq.com, faithful to the documented behaviour we rely on.

- gettoken: a token valid `token_ttl` seconds (7200 like WeCom); wrong corpid 40013, wrong
  secret 40001; each call counted.
- Every other API checks the token: unknown 40014, expired 42001.
- message/send: touser "a|b|…" (at most 1000, else 40058 like WeCom's "参数错误"); unknown users come
  back in `invaliduser` (if none is valid: 81013); WeCom's 30 messages/minute/member limit
  drops the excess silently; enable_duplicate_check suppresses an identical request (the
  whole JSON, recipients included) within duplicate_check_interval: accepted, delivered
  once. Template cards with buttons/votes get a response_code.
- message/recall (a msgid delivered within 24 h: marked recalled; else an error),
  message/update_template_card, media/get (bytes, or JSON errors with HTTP 200 — 40007 for
  an unknown/expired media id), department/list, user/list, user/get, webhook/send (group
  robots: 20 messages/minute, 45009 beyond); web_auth.py: web authorisation, the app menu.
- Fault injection: `inject(path, errcode=… | status=… | delay=…, times=n)` and a global
  `latency` per call.
Doc: 企业微信开发者中心 "全局错误码", "发送应用消息", "获取临时素材", "群机器人配置说明".
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from bot.fake_wecom import web_auth
from bot.fake_wecom.web_auth import json_response as _json

PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


@dataclass
class Call:
    path: str
    method: str
    params: dict[str, str]
    body: Any
    at: float


@dataclass
class Injection:
    path: str
    errcode: int | None = None
    status: int | None = None
    delay: float = 0.0
    times: int = 1


@dataclass
class Delivered:
    userid: str
    body: dict[str, Any]
    at: float
    msgid: str
    response_code: str = ""
    recalled: bool = False


@dataclass
class FakeState:
    corp_id: str
    secret: str
    agent_id: int
    token_ttl: int = 7200
    departments: dict[int, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    web: web_auth.WebState = field(default_factory=web_auth.WebState)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # the calls are recorded in FakeWeCom.calls
        pass


class FakeWeCom:
    def __init__(
        self,
        corp_id: str = "wwfakecorp",
        secret: str = "fake-secret",
        agent_id: int = 1000002,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        record_bodies: bool = True,
    ) -> None:
        self.state = FakeState(corp_id, secret, agent_id)
        self.host, self.port = host, port
        self.latency = latency
        self.record_bodies = record_bodies
        self.calls: list[Call] = []
        self.delivered: dict[str, list[Delivered]] = defaultdict(list)
        self.dropped: list[Delivered] = []  # over the per-member limit: WeCom drops silently
        self.updated_cards: list[dict[str, Any]] = []
        self.robot_messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        # Template-card task ids already used by this app: WeCom requires them unique, and a
        # reused one is accepted (errcode 0) but not delivered.
        self.task_ids: set[str] = set()
        self.robot_raw: list[bytes] = []  # request bodies as sent (escapes and all)
        self.dropped_task_ids: list[str] = []
        self.member_rate_limit = 30
        # Time source for token expiry, rate windows and duplicate checks; tests may share
        # their controllable clock: fake.clock = lambda: clock().timestamp()
        self.clock = time.time
        self._injections: list[Injection] = []
        self._recent: dict[str, deque[float]] = defaultdict(deque)
        self._robot_recent: dict[str, deque[float]] = defaultdict(deque)
        self._dup: dict[str, float] = {}  # request digest -> when first accepted
        self._response_codes: dict[str, str] = {}  # response_code -> userid
        self._lock = threading.Lock()
        self._server = None
        self._thread: threading.Thread | None = None
        self._msg_counter = 0

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeWeCom:
        self._server = make_server(
            self.host, self.port, self._wsgi, threaded=True, request_handler=_QuietHandler
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-wecom", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeWeCom:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- directory and media ------------------------------------------------------------------
    def add_department(self, dept_id: int, name: str, parent_id: int = 0, order: int = 0) -> None:
        self.state.departments[dept_id] = {
            "id": dept_id,
            "name": name,
            "parentid": parent_id,
            "order": order,
        }

    def add_user(
        self,
        userid: str,
        name: str,
        departments: list[int],
        *,
        leader: list[int] | None = None,
        position: str = "",
        status: int = 1,
    ) -> None:
        leader = leader or []
        self.state.users[userid] = {
            "userid": userid,
            "name": name,
            "department": departments,
            "main_department": departments[0] if departments else None,
            "is_leader_in_dept": [1 if d in leader else 0 for d in departments],
            "position": position,
            "status": status,
        }

    def add_media(
        self, media_id: str, data: bytes = PNG_1PX, content_type: str = "image/png"
    ) -> None:
        self.state.media[media_id] = (data, content_type)

    # -- inspection and fault injection -------------------------------------------------------
    def inject(
        self,
        path: str,
        *,
        errcode: int | None = None,
        status: int | None = None,
        delay: float = 0.0,
        times: int = 1,
    ) -> None:
        with self._lock:
            self._injections.append(Injection(path.strip("/"), errcode, status, delay, times))

    def expire_tokens(self) -> None:
        with self._lock:
            for token in self.state.tokens:
                self.state.tokens[token] = 0.0

    def calls_to(self, path: str) -> list[Call]:
        path = path.strip("/")
        with self._lock:
            return [c for c in self.calls if c.path == path]

    def count(self, path: str) -> int:
        return len(self.calls_to(path))

    def messages_for(self, userid: str) -> list[dict[str, Any]]:
        with self._lock:
            return [d.body for d in self.delivered.get(userid, [])]

    def texts_for(self, userid: str) -> list[str]:
        return [
            b["text"]["content"] for b in self.messages_for(userid) if b.get("msgtype") == "text"
        ]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.delivered.clear()
            self.dropped.clear()
            self.updated_cards.clear()
            self.robot_messages.clear()
            self.task_ids.clear()
            self.robot_raw.clear()
            self.dropped_task_ids.clear()
            self._injections.clear()
            self._recent.clear()
            self._dup.clear()

    # -- HTTP ---------------------------------------------------------------------------------
    def _wsgi(self, environ, start_response):
        request = Request(environ)
        response = self._handle(request)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        path = request.path.strip("/")
        if path.startswith("cgi-bin/"):
            path = path[len("cgi-bin/") :]
        params = dict(request.args)
        body: Any = None
        raw = b""
        if request.method == "POST":
            raw = request.get_data()
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return _json({"errcode": 47001, "errmsg": "data format error"})
        with self._lock:
            self.calls.append(
                Call(
                    path, request.method, params, body if self.record_bodies else None, time.time()
                )
            )
            if path == "webhook/send":
                self.robot_raw.append(raw)
            injection = self._take_injection(path)
        delay = self.latency + (injection.delay if injection else 0.0)
        if delay:
            time.sleep(delay)
        if injection and injection.status:
            return Response("injected failure", status=injection.status)
        if injection and injection.errcode is not None:
            return _json({"errcode": injection.errcode, "errmsg": "injected"})
        handler = ROUTES.get(path)
        if handler is None:
            return Response(json.dumps({"errcode": 404, "errmsg": "not found"}), status=404)
        if path not in ("gettoken", "webhook/send", *web_auth.NO_TOKEN):
            error = self._check_token(params.get("access_token"))
            if error:
                return _json(error)
        return handler(self, params, body)

    def _take_injection(self, path: str) -> Injection | None:
        for inj in self._injections:
            if inj.path == path and inj.times > 0:
                inj.times -= 1
                if inj.times == 0:
                    self._injections.remove(inj)
                return inj
        return None

    def _check_token(self, token: str | None) -> dict[str, Any] | None:
        if not token or token not in self.state.tokens:
            return {"errcode": 40014, "errmsg": "invalid access_token"}
        if self.state.tokens[token] < self.clock():
            return {"errcode": 42001, "errmsg": "access_token expired"}
        return None

    # -- endpoints ----------------------------------------------------------------------------
    def gettoken(self, params, body):
        if params.get("corpid") != self.state.corp_id:
            return _json({"errcode": 40013, "errmsg": "invalid corpid"})
        if params.get("corpsecret") != self.state.secret:
            return _json({"errcode": 40001, "errmsg": "invalid credential"})
        token = secrets.token_urlsafe(32)
        with self._lock:
            self.state.tokens[token] = self.clock() + self.state.token_ttl
        return _json(
            {
                "errcode": 0,
                "errmsg": "ok",
                "access_token": token,
                "expires_in": self.state.token_ttl,
            }
        )

    def message_send(self, params, body):
        body = body or {}
        if body.get("agentid") != self.state.agent_id:
            return _json({"errcode": 40056, "errmsg": "invalid agentid"})
        msgtype = body.get("msgtype")
        if not msgtype or msgtype not in body:
            return _json(
                {"errcode": 41008 if not msgtype else 40008, "errmsg": "invalid message type"}
            )
        touser = [u for u in str(body.get("touser") or "").split("|") if u]
        if len(touser) > 1000:
            return _json({"errcode": 40058, "errmsg": "touser exceeds 1000"})
        if body.get("touser") == "@all":
            touser = list(self.state.users)
        invalid = [u for u in touser if u not in self.state.users]
        valid = [u for u in touser if u in self.state.users]
        if not valid:
            return _json(
                {
                    "errcode": 81013,
                    "errmsg": "user & party & tag all invalid",
                    "invaliduser": "|".join(invalid).lower(),
                }
            )
        content = {
            k: v
            for k, v in body.items()
            if k
            not in (
                "touser",
                "toparty",
                "totag",
                "enable_duplicate_check",
                "duplicate_check_interval",
            )
        }
        # WeCom's duplicate check compares the whole request (recipients included): the same
        # text to a member inside another batch is NOT suppressed, only an identical request.
        digest = hashlib.sha1(
            json.dumps(body, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        check = bool(body.get("enable_duplicate_check"))
        interval = min(int(body.get("duplicate_check_interval") or 1800), 4 * 3600)
        now = self.clock()
        with self._lock:
            self._msg_counter += 1
            msgid = f"msg{self._msg_counter}"
            response_code = ""
            card = body.get("template_card") or {}
            if msgtype == "template_card" and card.get("card_type") in (
                "button_interaction",
                "vote_interaction",
                "multiple_interaction",
            ):
                response_code = secrets.token_hex(16)
            duplicate = check and now - self._dup.get(digest, -1e12) < interval
            if check and not duplicate:
                self._dup[digest] = now
            task_id = str(card.get("task_id") or "") if msgtype == "template_card" else ""
            if task_id and not duplicate:
                if task_id in self.task_ids:
                    self.dropped_task_ids.append(task_id)
                    duplicate = True  # accepted, never delivered
                self.task_ids.add(task_id)
            if msgtype == "text":
                # WeCom cuts a text at 2,048 bytes; the rest is lost.
                text = str((content.get("text") or {}).get("content") or "")
                cut = text.encode()[:2048].decode(errors="ignore")
                if cut != text:
                    content = {**content, "text": {**content["text"], "content": cut}}
            for userid in valid if not duplicate else []:
                recent = self._recent[userid]
                while recent and now - recent[0] >= 60:
                    recent.popleft()
                item = Delivered(userid, content, now, msgid, response_code)
                if len(recent) >= self.member_rate_limit:
                    self.dropped.append(item)
                    continue
                recent.append(now)
                self.delivered[userid].append(item)
                if response_code:
                    self._response_codes[response_code + ":" + userid] = userid
        result = {"errcode": 0, "errmsg": "ok", "msgid": msgid}
        if invalid:
            result["invaliduser"] = "|".join(invalid).lower()  # WeCom answers them lower-cased
        if response_code:
            result["response_code"] = response_code
        return _json(result)

    def update_template_card(self, params, body):
        body = body or {}
        if not body.get("response_code"):
            return _json({"errcode": 40078, "errmsg": "invalid response_code"})
        with self._lock:
            self.updated_cards.append({**body, "_at": time.time()})
        return _json({"errcode": 0, "errmsg": "ok"})

    def message_recall(self, params, body):  # every delivery of the msgid is marked recalled
        msgid = str((body or {}).get("msgid") or "")
        now = self.clock()
        with self._lock:
            items = [d for ds in self.delivered.values() for d in ds if d.msgid == msgid]
            if not items:
                return _json({"errcode": 40003, "errmsg": "invalid msgid"})
            if now - min(d.at for d in items) > 24 * 3600:
                return _json({"errcode": 40003, "errmsg": "msgid older than 24 hours"})
            for d in items:
                d.recalled = True
        return _json({"errcode": 0, "errmsg": "ok"})

    def recalled_for(self, userid: str) -> list[dict[str, Any]]:
        """Messages delivered to `userid` and recalled since."""
        with self._lock:
            return [d.body for d in self.delivered.get(userid, []) if d.recalled]

    def media_get(self, params, body):
        media = self.state.media.get(params.get("media_id", ""))
        if media is None:
            # WeCom answers a bad media_id with a JSON error and HTTP 200.
            return _json({"errcode": 40007, "errmsg": "invalid media_id"})
        data, ctype = media
        return Response(
            data,
            content_type=ctype,
            headers={"Content-Disposition": f'attachment; filename="{params.get("media_id")}.png"'},
        )

    def department_list(self, params, body):
        depts = sorted(self.state.departments.values(), key=lambda d: (d["order"], d["id"]))
        return _json({"errcode": 0, "errmsg": "ok", "department": depts})

    def user_list(self, params, body):
        try:
            dept = int(params.get("department_id", ""))
        except ValueError:
            return _json({"errcode": 40011, "errmsg": "invalid department_id"})
        if dept not in self.state.departments:
            return _json({"errcode": 60123, "errmsg": "invalid party id"})
        users = [u for u in self.state.users.values() if dept in u["department"]]
        return _json({"errcode": 0, "errmsg": "ok", "userlist": users})

    def user_get(self, params, body):
        user = self.state.users.get(params.get("userid", ""))
        if user is None:
            return _json({"errcode": 60111, "errmsg": "userid not found"})
        return _json({"errcode": 0, "errmsg": "ok", **user})

    def webhook_send(self, params, body):
        key = params.get("key", "")
        if not key:
            return _json({"errcode": 93000, "errmsg": "invalid webhook url"})
        now = self.clock()
        with self._lock:
            recent = self._robot_recent[key]
            while recent and now - recent[0] >= 60:
                recent.popleft()
            if len(recent) >= 20:
                return _json({"errcode": 45009, "errmsg": "api freq out of limit"})
            body = body or {}
            limit = {"markdown": 4096, "text": 2048}.get(str(body.get("msgtype")))
            content = str((body.get(str(body.get("msgtype"))) or {}).get("content") or "")
            if limit and len(content.encode()) > limit:
                # 群机器人配置说明: markdown content at most 4096 bytes, text 2048.
                return _json({"errcode": 40058, "errmsg": "content exceed max length"})
            recent.append(now)
            self.robot_messages[key].append(body or {})
        return _json({"errcode": 0, "errmsg": "ok"})


ROUTES = {
    "gettoken": FakeWeCom.gettoken,
    "message/send": FakeWeCom.message_send,
    "message/update_template_card": FakeWeCom.update_template_card,
    "message/recall": FakeWeCom.message_recall,
    "media/get": FakeWeCom.media_get,
    "department/list": FakeWeCom.department_list,
    "user/list": FakeWeCom.user_list,
    "user/get": FakeWeCom.user_get,
    "webhook/send": FakeWeCom.webhook_send,
    **web_auth.ROUTES,
}
