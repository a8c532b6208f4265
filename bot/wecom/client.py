"""Outbound WeCom API client: wechatpy's enterprise client, made safe for production.

What wechatpy 1.8.18 does not give us and this module adds:
- the API base is configurable (WECOM_API_BASE), including for gettoken, which wechatpy
  hard-codes to qyapi.weixin.qq.com;
- the access token lives in a store shared by every process (one gettoken per lifetime);
- a timeout on every request (wechatpy's default is none, and gettoken never sets one);
- bounded, jittered retries on errcode -1 (system busy), 45009 (API frequency limit), HTTP 5xx
  and timeouts; one token refresh on 40014 / 42001;
- media/get answers errors as JSON with HTTP 200: that is an error here, not a file;
- template_card, update_template_card and message/recall; auth/getuserinfo (web
  authorisation) and menu/create.
Doc: 企业微信开发者中心 "获取access_token", "发送应用消息", "更新模版卡片消息", "全局错误码",
"获取访问用户身份", "创建菜单".
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from wechatpy.enterprise.client import WeChatClient
from wechatpy.exceptions import WeChatClientException

log = logging.getLogger(__name__)

# WeCom errcodes (全局错误码).
SYSTEM_BUSY = -1
INVALID_SECRET = 40001
INVALID_TOKEN = 40014
TOKEN_EXPIRED = 42001
FREQ_LIMIT = 45009
TOO_MANY_CONCURRENT = 45033  # 接口并发调用超过限制
IP_NOT_ALLOWED = 60020  # the server's IP is not in 企业可信IP: a set-up error an admin fixes
TOKEN_ERRORS = frozenset({INVALID_TOKEN, TOKEN_EXPIRED})
RETRYABLE_ERRCODES = frozenset({SYSTEM_BUSY, FREQ_LIMIT, TOO_MANY_CONCURRENT})
MAX_RECIPIENTS = 1000  # message/send: touser holds at most 1000 userids


class WeComAPIError(Exception):
    def __init__(
        self,
        errcode: int | None,
        errmsg: str,
        *,
        transient: bool = False,
        outcome_unknown: bool = False,
        http_status: int | None = None,
    ) -> None:
        super().__init__(f"WeCom API error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.transient = transient
        # The request may have been carried out (a timeout after sending): not safe to repeat
        # where WeCom has no duplicate check (group robots).
        self.outcome_unknown = outcome_unknown
        self.http_status = http_status


class TokenStore(Protocol):
    def get(self, fetch: Callable[[], tuple[str, int]], stale: str | None = None) -> str: ...


class MemoryTokenStore:
    """Process-local token store (tests and one-off scripts)."""

    def __init__(self) -> None:
        self._token: str | None = None
        self._expires = 0.0

    def get(self, fetch: Callable[[], tuple[str, int]], stale: str | None = None) -> str:
        if self._token and self._token != stale and self._expires - time.time() > 300:
            return self._token
        token, expires_in = fetch()
        self._token, self._expires = token, time.time() + expires_in
        return token


@dataclass
class SendResult:
    invalid_users: list[str] = field(default_factory=list)
    # Members without a licence (unlicenseduser): not delivered either.
    unlicensed_users: list[str] = field(default_factory=list)
    msgid: str = ""
    response_code: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


class WeComClient(WeChatClient):
    def __init__(
        self,
        corp_id: str,
        secret: str,
        agent_id: int,
        *,
        api_base: str,
        token_store: TokenStore | None = None,
        timeout: float = 5.0,
        max_attempts: int = 3,
        backoff: float = 0.25,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(corp_id, secret, timeout=timeout, auto_retry=False)
        self.agent_id = agent_id
        self.api_base = api_base.rstrip("/")
        # Instance attribute shadows wechatpy's class constant: every API group uses it.
        self.API_BASE_URL = self.api_base + "/cgi-bin/"
        self.tokens: TokenStore = token_store or MemoryTokenStore()
        self.max_attempts = max_attempts
        self.backoff = backoff
        self._sleep = sleep

    def quick(self, timeout: float = 2.0) -> WeComClient:
        """A client sharing this one's token with one short attempt per call: for work inside
        a callback, which must answer within WeCom's 5 s."""
        return WeComClient(
            self.corp_id,
            self.secret,
            self.agent_id,
            api_base=self.api_base,
            token_store=self.tokens,
            timeout=min(timeout, self.timeout or timeout),
            max_attempts=1,
        )

    # -- token ----------------------------------------------------------------------------
    def _gettoken(self) -> tuple[str, int]:
        res = self._http.get(
            self.API_BASE_URL + "gettoken",
            params={"corpid": self.corp_id, "corpsecret": self.secret},
            timeout=self.timeout,
        )
        res.raise_for_status()
        data = res.json()
        if data.get("errcode", 0) != 0 or not data.get("access_token"):
            errcode = data.get("errcode")
            # -1 and 45009 from gettoken are as passing as from any other call.
            raise WeComAPIError(
                errcode,
                data.get("errmsg", "gettoken failed"),
                transient=errcode in RETRYABLE_ERRCODES,
            )
        return data["access_token"], int(data.get("expires_in", 7200))

    @property
    def access_token(self) -> str:  # type: ignore[override]
        return self.tokens.get(self._gettoken)

    def fetch_access_token(self) -> dict[str, Any]:  # wechatpy calls this on token errors
        return {"access_token": self.tokens.get(self._gettoken, stale=self.access_token)}

    # -- requests with retries ------------------------------------------------------------
    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        params = dict(kwargs.pop("params", None) or {})
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            token = self.access_token
            call_params = {**params, "access_token": token}
            try:
                return super()._request(method, url_or_endpoint, params=call_params, **kwargs)
            except WeChatClientException as exc:
                errcode = exc.errcode
                status = exc.response.status_code if exc.response is not None else None
                if errcode in TOKEN_ERRORS and not refreshed:
                    # Another process may already have refreshed it; `stale` makes the store
                    # fetch a new one only if the shared token is still the one that failed.
                    self.tokens.get(self._gettoken, stale=token)
                    refreshed = True
                    attempt -= 1
                    continue
                transient = errcode in RETRYABLE_ERRCODES or (
                    errcode is None and (status or 500) >= 500
                )
                if not transient or attempt >= self.max_attempts:
                    raise WeComAPIError(
                        errcode, str(exc.errmsg or exc), transient=transient, http_status=status
                    ) from exc
                log.warning(
                    "WeCom %s: errcode=%s status=%s, retry %d",
                    url_or_endpoint,
                    errcode,
                    status,
                    attempt,
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                if attempt >= self.max_attempts:
                    raise WeComAPIError(
                        None, f"network: {exc.__class__.__name__}", transient=True
                    ) from exc
                log.warning(
                    "WeCom %s: %s, retry %d", url_or_endpoint, exc.__class__.__name__, attempt
                )
            self._sleep(self.backoff * (2 ** (attempt - 1)) * random.uniform(0.5, 1.5))

    # -- messages ---------------------------------------------------------------------------
    def send_message(
        self,
        body: dict[str, Any],
        userids: list[str],
        *,
        duplicate_check: bool = True,
        duplicate_interval: int = 1800,
    ) -> SendResult:
        """message/send to at most 1000 users. `body` is {"msgtype": …, <msgtype>: {…}}."""
        if not userids:
            return SendResult()
        if len(userids) > MAX_RECIPIENTS:
            raise ValueError(
                f"message/send takes at most {MAX_RECIPIENTS} users, got {len(userids)}"
            )
        data = {"touser": "|".join(userids), "agentid": self.agent_id, **body}
        if duplicate_check:
            # A batch resent after a crash is then not delivered twice by WeCom.
            data["enable_duplicate_check"] = 1
            data["duplicate_check_interval"] = duplicate_interval
        result = self.post("message/send", data=data)
        invalid = [u for u in (result.get("invaliduser") or "").split("|") if u]
        unlicensed = [u for u in (result.get("unlicenseduser") or "").split("|") if u]
        return SendResult(
            invalid_users=invalid,
            unlicensed_users=unlicensed,
            msgid=result.get("msgid", ""),
            response_code=result.get("response_code", ""),
            raw=result,
        )

    def update_template_card(
        self, response_code: str, card: dict[str, Any], userids: list[str] | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"agentid": self.agent_id, "response_code": response_code}
        if userids:
            data["userids"] = userids
        data["template_card"] = card
        return self.post("message/update_template_card", data=data)

    def recall_message(self, msgid: str) -> dict[str, Any]:
        """message/recall: withdraw an app message sent within the last 24 hours (撤回应用消息)."""
        return self.post("message/recall", data={"msgid": msgid})

    # -- media --------------------------------------------------------------------------------
    def download_media(self, media_id: str) -> tuple[bytes, str]:
        """media/get -> (bytes, content type). WeCom answers errors as JSON with HTTP 200."""
        for attempt in range(1, self.max_attempts + 1):
            token = self.access_token
            try:
                res = self._http.get(
                    self.API_BASE_URL + "media/get",
                    params={"access_token": token, "media_id": media_id},
                    timeout=self.timeout,
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                if attempt == self.max_attempts:
                    raise WeComAPIError(None, "network error", transient=True) from exc
                continue
            ctype = res.headers.get("Content-Type", "")
            if res.status_code >= 500 and attempt < self.max_attempts:
                continue
            if res.status_code != 200:
                raise WeComAPIError(
                    None,
                    f"HTTP {res.status_code}",
                    http_status=res.status_code,
                    transient=res.status_code >= 500,
                )
            if "json" in ctype or "text/plain" in ctype or res.content[:1] == b"{":
                try:
                    data = res.json()
                except ValueError:
                    data = {"errcode": None, "errmsg": res.text[:200]}
                errcode = data.get("errcode")
                if errcode in TOKEN_ERRORS and attempt < self.max_attempts:
                    self.tokens.get(self._gettoken, stale=token)
                    continue
                raise WeComAPIError(
                    errcode,
                    data.get("errmsg", "media/get failed"),
                    transient=errcode in RETRYABLE_ERRCODES,
                )
            return res.content, ctype
        raise WeComAPIError(None, "media/get failed")

    # -- directory ----------------------------------------------------------------------------
    def list_departments(self) -> list[dict[str, Any]]:
        return self.get("department/list").get("department", [])

    def list_users(self, department_id: int) -> list[dict[str, Any]]:
        return self.get("user/list", params={"department_id": department_id}).get("userlist", [])

    def get_user(self, userid: str) -> dict[str, Any]:
        return self.get("user/get", params={"userid": userid})

    # -- web authorisation and the app menu ---------------------------------------------------
    def user_by_code(self, code: str) -> dict[str, Any]:
        """auth/getuserinfo (身份验证 › 网页授权登录 › 获取访问用户身份): who opened a page
        through web authorisation. A member answers {"userid": …}; someone outside the
        organisation {"openid": …} without a userid. A code is good once, within 5 minutes:
        used again or late it is errcode 40029 (invalid code)."""
        return self.get("auth/getuserinfo", params={"code": code})

    def create_menu(self, menu: dict[str, Any]) -> dict[str, Any]:
        """menu/create (应用管理 › 自定义菜单 › 创建菜单) for this app: {"button": [...]}."""
        return self.post("menu/create", params={"agentid": self.agent_id}, data=menu)

    def get_menu(self) -> dict[str, Any]:
        return self.get("menu/get", params={"agentid": self.agent_id})

    # -- group robots -------------------------------------------------------------------------
    def robot_send(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """Group robot webhook (no access token; limit 20 messages/minute per robot).

        Robots have no duplicate check: a post that timed out may have reached the group, so
        it is never repeated (at most once); the error says the outcome is unknown. A refused
        connection or an errcode (-1, 45009) means nothing was posted, and is retried."""
        url = self.API_BASE_URL + "webhook/send"
        for attempt in range(1, self.max_attempts + 1):
            try:
                # ensure_ascii=False: Chinese as UTF-8, not \u escapes (6 bytes a character
                # against the robot's 4096-byte limit).
                res = self._http.post(
                    url,
                    params={"key": key},
                    data=json.dumps(body, ensure_ascii=False).encode(),
                    headers={"Content-Type": "application/json; charset=utf-8"},
                    timeout=self.timeout,
                )
                data = res.json() if res.status_code == 200 else {"errcode": None}
            except requests.ConnectTimeout:
                data = {"errcode": None, "errmsg": "network: connect timeout"}  # never sent
            except (requests.Timeout, requests.ConnectionError) as exc:
                if not _never_sent(exc):
                    raise WeComAPIError(
                        None, "timeout: outcome unknown, not re-posted", outcome_unknown=True
                    ) from exc
                data = {"errcode": None, "errmsg": "network: connection refused"}
            except ValueError:
                data = {"errcode": None, "errmsg": "robot answer is not JSON"}
            errcode = data.get("errcode")
            if errcode == 0:
                return data
            transient = errcode in RETRYABLE_ERRCODES or errcode is None
            if not transient or attempt == self.max_attempts:
                raise WeComAPIError(
                    errcode, data.get("errmsg", "robot send failed"), transient=transient
                )
            self._sleep(self.backoff * (2 ** (attempt - 1)) * random.uniform(0.5, 1.5))
        raise WeComAPIError(None, "robot send failed")


def _never_sent(exc: Exception) -> bool:
    """A connection that was never established: the request cannot have been carried out."""
    text = repr(exc)
    return "NewConnectionError" in text or "Failed to establish a new connection" in text
