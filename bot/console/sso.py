"""Signing in with WeCom: web authorisation (身份验证 › 网页授权登录) for the console and the
one-scan check-in page.

The browser goes to WeCom's authorize link with `scope=snsapi_base` (silent: no question is
asked inside the WeCom app) and comes back to our callback with `code` and `state`; the code is
exchanged for the member's userid through the API (bot.wecom.client.user_by_code).

`state` is our protection against a forged callback (OAuth's CSRF defence): a random nonce
and its HMAC (WeCom allows only a-zA-Z0-9, at most 128 bytes, so both are hex), stored with
what it was issued for and where to go next, used at most once within STATE_TTL, and also kept
in the browser's own session so a state issued to another browser is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from flask import Response
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.db import insert_ignore
from bot.directory import roles_for
from bot.models import ConsoleAccount, ConsoleSession, OAuthState, RoleAssignment, User
from bot.settings import Settings

STATE_TTL = timedelta(minutes=10)
_STATE = re.compile(r"^[0-9a-f]{64}$")
SESSION_NONCE = "oauth_nonce"  # the browser's copy of the state it was sent with


# -- the authorize link and its state -------------------------------------------------------
def authorize_url(settings: Settings, redirect_uri: str, state: str) -> str:
    """构造网页授权链接: appid is the corp id; agentid is recommended by the doc."""
    query = urlencode(
        {
            "appid": settings.corp_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
            "agentid": settings.agent_id,
        }
    )
    return f"{settings.oauth_base}/connect/oauth2/authorize?{query}#wechat_redirect"


def _mac(key: str, purpose: str, nonce: str) -> str:
    return hmac.new(key.encode(), f"{purpose}:{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def issue_state(session: Session, key: str, purpose: str, target: str, now: datetime) -> str:
    """A new state for `purpose` ("console" or "checkin") leading to `target` (a path here)."""
    session.execute(delete(OAuthState).where(OAuthState.created_at < now - timedelta(days=1)))
    nonce = secrets.token_hex(16)
    session.add(OAuthState(nonce=nonce, purpose=purpose, target=target[:255], created_at=now))
    return nonce + _mac(key, purpose, nonce)


def state_signed(key: str, purpose: str, state: str | None) -> bool:
    """Whether `state` is one we signed for `purpose` (checked before the code is spent)."""
    if not state or not _STATE.match(state):
        return False
    return hmac.compare_digest(state[32:], _mac(key, purpose, state[:32]))


def consume_state(
    session: Session, key: str, purpose: str, state: str | None, now: datetime
) -> str | None:
    """The target of a signed state, the first time only and within STATE_TTL; else None.
    The UPDATE … WHERE used_at IS NULL decides a race between two callbacks atomically."""
    if not state_signed(key, purpose, state):
        return None
    assert state is not None
    nonce = state[:32]
    done = session.execute(
        update(OAuthState)
        .where(
            OAuthState.nonce == nonce,
            OAuthState.purpose == purpose,
            OAuthState.used_at.is_(None),
            OAuthState.created_at >= now - STATE_TTL,
        )
        .values(used_at=now)
    )
    if done.rowcount != 1:
        return None
    return session.scalar(select(OAuthState.target).where(OAuthState.nonce == nonce))


# -- who may use the console ---------------------------------------------------------------
@dataclass(frozen=True)
class ConsoleRole:
    role: str
    departments: list[int]


def console_role(session: Session, settings: Settings, userid: str) -> ConsoleRole | None:
    """The console role of a WeCom member: admin and safety officer from SAFETYBOT_ADMINS and
    the roles grants, department head from the directory's 部门负责人 (leader_of) or a
    department_head grant; None for everyone else and for members who have left."""
    user = session.get(User, userid)
    if user is None or user.status != 1:
        return None
    roles = roles_for(session, settings, user, userid)
    if "admin" in roles:
        return ConsoleRole("admin", [])
    if "safety_officer" in roles:
        return ConsoleRole("safety_officer", [])
    roots = set(user.leader_of or [])
    roots.update(
        d
        for d in session.scalars(
            select(RoleAssignment.department_id).where(
                RoleAssignment.userid == userid, RoleAssignment.role == "department_head"
            )
        )
        if d
    )
    if roots:
        return ConsoleRole("department_head", sorted(roots))
    return None


def sign_in(session: Session, userid: str, role: ConsoleRole, now: datetime) -> ConsoleAccount:
    """The member's console account (made on their first sign-in), with today's role. Its
    user name is the userid, so the audit log shows the person's name; a local account
    already holding that name keeps it, and the member's account gets a marked one."""
    account = session.scalar(select(ConsoleAccount).where(ConsoleAccount.wecom_userid == userid))
    if account is None:
        for username in (userid, f"{userid}（企业微信）"[:64]):
            insert_ignore(
                session,
                ConsoleAccount,
                {
                    "username": username,
                    "password_hash": "",  # no password: attempt_login never accepts it
                    "role": role.role,
                    "departments": role.departments,
                    "active": True,
                    "created_at": now,
                    "wecom_userid": userid,
                },
            )
            account = session.scalar(
                select(ConsoleAccount).where(ConsoleAccount.wecom_userid == userid)
            )
            if account is not None:
                break
    assert account is not None
    account.role = role.role
    account.departments = role.departments
    account.active = True
    account.last_login_at = now
    return account


def refuse(session: Session, userid: str) -> None:
    """A member without a console role: their account (if they had one) stops working."""
    account = session.scalar(select(ConsoleAccount).where(ConsoleAccount.wecom_userid == userid))
    if account is not None:
        account.active = False
        session.execute(delete(ConsoleSession).where(ConsoleSession.account_id == account.id))


def public_base(settings: Settings, host_url: str) -> str:
    """The bot's address as phones reach it: SAFETYBOT_PUBLIC_URL, else this request's host."""
    return (settings.public_url or host_url).rstrip("/")


def to_wecom(link: str) -> Response:
    """The redirect to WeCom's authorize link, without werkzeug's English redirect page."""
    return Response("", 302, {"Location": link})
