"""Signing in and out of the console."""

from __future__ import annotations

import math

from flask import flash, g, redirect, render_template, request, session, url_for

from bot.console import auth
from bot.console.views.common import audit, bp, client_ip, now, safe_next, services
from bot.content import texts


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


@bp.post("/logout")
def logout():
    audit("console:logout", g.account.username)
    auth.close_session(g.db, session.get("sid"))
    session.clear()
    flash("已退出登录。")
    return redirect(url_for("console.login"))
