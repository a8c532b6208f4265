"""Signing in and out of the console."""

from __future__ import annotations

import logging
import math

from flask import current_app, flash, g, redirect, render_template, request, session, url_for

from bot.console import auth, sso
from bot.console.views.common import audit, bp, client_ip, now, safe_next, services
from bot.content import texts
from bot.models import User
from bot.wecom.client import WeComAPIError

log = logging.getLogger(__name__)
INVALID_CODE = 40029  # WeCom: the code was used before, is older than 5 minutes, or unknown


def _wait_text(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    if minutes == 1:
        return texts.get("console.login.wait_one_minute")
    return texts.get("console.login.wait_minutes", minutes=minutes)


def _login_detail(username: str, address: str) -> str:
    return texts.get("console.audit_details.login", username=username, address=address)


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        username = request.form.get("username", "")[:64]
        address = client_ip()
        # attempt_login commits in its own transactions; free SQLite's write lock first.
        g.db.commit()
        result = auth.attempt_login(
            services().factory, username, request.form.get("password", ""), address, now()
        )
        if result.limited:
            wait = result.retry_after.total_seconds()
            error = texts.get("console.login.limited", wait=_wait_text(wait))
            audit("console:login-limited", _login_detail(username, address), allowed=False)
            headers = {"Retry-After": str(max(1, math.ceil(wait)))}
            return render_template("console/login.html", error=error), 429, headers
        if result.account is None:
            audit("console:login-failed", _login_detail(username, address), allowed=False)
            error = texts.get("console.login.failed")
            return render_template("console/login.html", error=error), 401
        # Session rotation: nothing from before the login survives, the sid and token are new.
        target = safe_next(request.args.get("next"))
        session.clear()
        session["sid"] = auth.open_session(g.db, result.account, now())
        session["csrf"] = auth.new_csrf_token()
        g.account = result.account
        audit("console:login", _login_detail(result.account.username, address))
        return redirect(target)
    return render_template("console/login.html", error=error)


# -- signing in with WeCom (web authorisation) ----------------------------------------------------
@bp.get("/login/wecom")
def login_wecom():
    """The console from WeCom's 工作台 or the app menu: off to WeCom's authorize link, which
    comes back to login_wecom_done with a code, silently inside the WeCom app."""
    target = safe_next(request.args.get("next"))
    state = sso.issue_state(g.db, current_app.secret_key, "console", target, now())
    session[sso.SESSION_NONCE] = state[:32]
    base = sso.public_base(services().settings, request.host_url)
    done = base + url_for("console.login_wecom_done")
    return sso.to_wecom(sso.authorize_url(services().settings, done, state))


def _refused(message: str, status: int):
    return render_template("console/login.html", error=message), status


@bp.get("/login/wecom/done")
def login_wecom_done():
    state = request.args.get("state", "")
    code = request.args.get("code", "")[:512]  # WeCom: a code is at most 512 bytes
    key = current_app.secret_key
    bound = session.pop(sso.SESSION_NONCE, None)
    if not code or not sso.state_signed(key, "console", state) or bound != state[:32]:
        audit("console:login-failed", client_ip(), allowed=False)
        return _refused(texts.get("sso.state_bad"), 400)
    g.db.commit()  # nothing held (SQLite's write lock) while WeCom answers
    try:
        info = services().client.quick().user_by_code(code)
    except WeComAPIError as exc:
        if exc.errcode == INVALID_CODE:
            return _refused(texts.get("sso.code_bad"), 400)
        log.warning("WeCom sign-in: getuserinfo failed: %s", exc)
        return _refused(texts.get("sso.wecom_down"), 502)
    target = sso.consume_state(g.db, key, "console", state, now())
    if target is None:
        return _refused(texts.get("sso.state_bad"), 400)
    userid = str(info.get("userid") or "")[:64]
    if not userid:  # someone outside the organisation (openid only)
        return _refused(texts.get("sso.outsider"), 403)
    role = sso.console_role(g.db, services().settings, userid)
    address = client_ip()
    if role is None:
        sso.refuse(g.db, userid)
        audit("console:login-wecom-refused", _login_detail(userid, address), allowed=False)
        user = g.db.get(User, userid)
        name = (user.name if user else "") or userid
        page = render_template(
            "console/error.html",
            title=texts.get("sso.no_access_title"),
            message=texts.get("sso.no_access", name=name),
            back=texts.get("sso.back_to_login"),
        )
        return page, 403
    account = sso.sign_in(g.db, userid, role, now())
    g.db.flush()
    session.clear()
    session["sid"] = auth.open_session(g.db, account, now())
    session["csrf"] = auth.new_csrf_token()
    g.account = account
    audit("console:login-wecom", _login_detail(account.username, address))
    return redirect(target)


@bp.post("/logout")
def logout():
    audit("console:logout", g.account.username)
    auth.close_session(g.db, session.get("sid"))
    session.clear()
    flash("已退出登录。")
    return redirect(url_for("console.login"))
