"""Signing in and out of the console."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, session, url_for

from bot.console import auth
from bot.console.views.common import audit, bp, client_ip, now, safe_next, services


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        # attempt_login commits in its own transactions; free SQLite's write lock first.
        g.db.commit()
        result = auth.attempt_login(
            services().factory,
            request.form.get("username", ""),
            request.form.get("password", ""),
            client_ip(),
            now(),
        )
        if result.limited:
            error = "登录失败次数过多，请一分钟后再试。"
            audit("console:login-limited", request.form.get("username", "")[:64], allowed=False)
            return render_template("console/login.html", error=error), 429
        if result.account is None:
            error = "用户名或密码不正确。"
            return render_template("console/login.html", error=error), 401
        # Session rotation: nothing from before the login survives, the sid and token are new.
        target = safe_next(request.args.get("next"))
        session.clear()
        session["sid"] = auth.open_session(g.db, result.account, now())
        session["csrf"] = auth.new_csrf_token()
        g.account = result.account
        audit("console:login", result.account.username)
        return redirect(target)
    return render_template("console/login.html", error=error)


@bp.post("/logout")
def logout():
    audit("console:logout", g.account.username)
    auth.close_session(g.db, session.get("sid"))
    session.clear()
    flash("已退出登录。")
    return redirect(url_for("console.login"))
