"""The fake's web authorisation and app menu, as WeCom documents them.

- /connect/oauth2/authorize (构造网页授权链接): WeCom knows who opens the link from the app;
  the fake is told: `&userid=liqiang` (a member) or `&openid=…` (someone outside the
  organisation), or `fake.state.web.oauth_user`; without either it shows a page to pick a demo member.
  It then redirects to redirect_uri?code=CODE&state=STATE. appid must be the corp id,
  response_type `code`, state at most 128 bytes of a-zA-Z0-9.
- /cgi-bin/auth/getuserinfo (获取访问用户身份): a code is good once and for 5 minutes;
  reused, late or unknown it is 40029 (invalid code). Members get `userid`, others `openid`.
- /cgi-bin/menu/create and menu/get (创建菜单): 1-3 buttons, 1-5 sub-buttons each; names at
  most 16 bytes (top level) and 40 bytes (sub-buttons), keys 128 bytes, links 1024 bytes;
  errcodes from 全局错误码 (40016 button count … 40027 sub-button link).
"""

from __future__ import annotations

import html
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Response

CODE_TTL = 300  # seconds: "code只能使用一次，5分钟未被使用自动过期"
STATE = re.compile(r"^[A-Za-z0-9]{0,128}$")
MENU_TYPES = {
    "click",
    "view",
    "scancode_push",
    "scancode_waitmsg",
    "pic_sysphoto",
    "pic_photo_or_album",
    "pic_weixin",
    "location_select",
    "view_miniprogram",
}


@dataclass
class WebState:
    """FakeState.web: codes handed out, menus created, and who opens an authorize link that
    does not say (browser tests set `oauth_user`)."""

    oauth_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    menus: dict[int, dict[str, Any]] = field(default_factory=dict)
    oauth_user: str = ""


def json_response(data: dict[str, Any]) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False), content_type="application/json; charset=UTF-8"
    )


def _page(body: str, status: int = 200) -> Response:
    return Response(
        f'<!doctype html><html lang="zh-CN"><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>企业微信（模拟）</title><body>{body}</body></html>",
        status=status,
        content_type="text/html; charset=utf-8",
    )


def issue_code(fake, *, userid: str = "", openid: str = "") -> str:
    code = secrets.token_urlsafe(24)
    with fake._lock:
        fake.state.web.oauth_codes[code] = {
            "userid": userid,
            "openid": openid,
            "issued": fake.clock(),
            "used": False,
        }
    return code


def authorize(fake, params, body):
    if params.get("appid") != fake.state.corp_id:
        return _page("<p>参数错误：企业标识不正确。</p>", 400)
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri.startswith(("http://", "https://")):
        return _page("<p>参数错误：回调地址不正确。</p>", 400)
    if params.get("response_type") != "code" or not STATE.match(params.get("state", "")):
        return _page("<p>参数错误。</p>", 400)
    userid = params.get("userid") or ""
    openid = params.get("openid") or ""
    if not userid and not openid and fake.state.web.oauth_user:
        userid = fake.state.web.oauth_user
    if userid or openid:
        if userid and userid not in fake.state.users:
            return _page("<p>该成员不在通讯录中。</p>", 400)
        code = issue_code(fake, userid=userid, openid=openid)
        sep = "&" if "?" in redirect_uri else "?"
        target = redirect_uri + sep + urlencode({"code": code, "state": params.get("state", "")})
        return Response("", status=302, headers={"Location": target})
    # No one chosen: the demo picks a member, as if they had opened the link in the app.
    base = urlencode({k: v for k, v in params.items() if k not in ("userid", "openid")})
    links = "".join(
        f'<li><a href="?{html.escape(base)}&amp;userid={html.escape(u)}">'
        f"{html.escape(data['name'])}（{html.escape(u)}）</a></li>"
        for u, data in fake.state.users.items()
    )
    return _page(f"<h1>以哪位成员的身份打开？</h1><ul>{links}</ul>")


def getuserinfo(fake, params, body):
    code = params.get("code", "")
    now = fake.clock()
    with fake._lock:
        entry = fake.state.web.oauth_codes.get(code)
        if entry is None or entry["used"] or now - entry["issued"] > CODE_TTL:
            return json_response({"errcode": 40029, "errmsg": "invalid code"})
        entry["used"] = True
    if entry["userid"]:
        return json_response({"errcode": 0, "errmsg": "ok", "userid": entry["userid"]})
    return json_response({"errcode": 0, "errmsg": "ok", "openid": entry["openid"]})


def _size(value: Any) -> int:
    return len(str(value or "").encode())


def _button_error(button: dict[str, Any], sub: bool) -> dict[str, Any] | None:
    name_limit, name_code = (40, 40025) if sub else (16, 40018)
    if not button.get("name") or _size(button.get("name")) > name_limit:
        return {"errcode": name_code, "errmsg": "invalid button name size"}
    kind = button.get("type")
    if kind not in MENU_TYPES:
        return {"errcode": 40024 if sub else 40017, "errmsg": "invalid button type"}
    if kind == "view":
        if not button.get("url") or _size(button.get("url")) > 1024:
            return {"errcode": 40027 if sub else 40020, "errmsg": "invalid button url size"}
    elif kind != "view_miniprogram" and (not button.get("key") or _size(button["key"]) > 128):
        return {"errcode": 40026 if sub else 40019, "errmsg": "invalid button key size"}
    return None


def menu_error(menu: Any) -> dict[str, Any] | None:
    buttons = menu.get("button") if isinstance(menu, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return {"errcode": 40016, "errmsg": "invalid button size"}
    for button in buttons:
        if not isinstance(button, dict):
            return {"errcode": 40017, "errmsg": "invalid button type"}
        subs = button.get("sub_button")
        if subs:
            if not isinstance(subs, list) or len(subs) > 5:
                return {"errcode": 40023, "errmsg": "invalid sub button size"}
            if not button.get("name") or _size(button.get("name")) > 16:
                return {"errcode": 40018, "errmsg": "invalid button name size"}
            for sub in subs:
                error = _button_error(sub if isinstance(sub, dict) else {}, sub=True)
                if error:
                    return error
        else:
            error = _button_error(button, sub=False)
            if error:
                return error
    return None


def menu_create(fake, params, body):
    if str(params.get("agentid")) != str(fake.state.agent_id):
        return json_response({"errcode": 40056, "errmsg": "invalid agentid"})
    error = menu_error(body)
    if error:
        return json_response(error)
    with fake._lock:
        fake.state.web.menus[fake.state.agent_id] = body
    return json_response({"errcode": 0, "errmsg": "ok"})


def menu_get(fake, params, body):
    if str(params.get("agentid")) != str(fake.state.agent_id):
        return json_response({"errcode": 40056, "errmsg": "invalid agentid"})
    menu = fake.state.web.menus.get(fake.state.agent_id)
    if menu is None:
        return json_response({"errcode": 46003, "errmsg": "menu no exist"})
    return json_response({"errcode": 0, "errmsg": "ok", **menu})


ROUTES = {
    "connect/oauth2/authorize": authorize,
    "auth/getuserinfo": getuserinfo,
    "menu/create": menu_create,
    "menu/get": menu_get,
}
# Reached by a browser (no access token), not by the bot.
NO_TOKEN = {"connect/oauth2/authorize"}
