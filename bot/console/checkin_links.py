"""One-scan check-in: the event's QR code holds {SAFETYBOT_PUBLIC_URL}/checkin/<code>.

Opened in WeCom, the page signs the person in through web authorisation (snsapi_base, silent
inside the app: bot.console.sso), shows the event with one 「签到」 button and records the
attendance with the same rules as 「签到 123456」 typed in chat (bot.checkin.attendance): open
from 30 minutes before the start to the end, once per person (the unique key: a retried POST
adds nothing), on site when the event has a place (the browser's position, asked with the
person's consent, against the event's radius), and the same wrong-code throttle.

Not part of /admin: phones reach it from anywhere the bot is served, without a console account.
"""

from __future__ import annotations

import math
import secrets
from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy.orm import Session

from bot.checkin import attendance
from bot.checkin import events as core
from bot.console import sso
from bot.console.views.common import SERVICES_KEY
from bot.content import texts
from bot.db import transaction
from bot.directory import ensure_user
from bot.localtime import clock_label, label
from bot.models import CheckinEvent, User
from bot.wecom.client import WeComAPIError

CHECKIN_PREFIX = "/checkin"
links = Blueprint("checkin_links", __name__, template_folder="templates")

SESSION_USER = "checkin_user"
SESSION_AT = "checkin_at"
SESSION_CSRF = "checkin_csrf"
# How long a WeCom sign-in on this phone's browser stands before the page asks WeCom again.
SIGNED_IN_FOR = timedelta(hours=8)
INVALID_CODE = 40029


def _services():
    return current_app.extensions[SERVICES_KEY]


def _headers(response: Response, nonce: str = "") -> Response:
    script = f"script-src 'nonce-{nonce}'; " if nonce else ""
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; "
        + script
        + "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(status: int = 200, **values) -> Response:
    nonce = secrets.token_urlsafe(16)
    html = render_template(
        "checkin/page.html", t=texts.get, nonce=nonce, tz=_services().settings.tz, **values
    )
    return _headers(Response(html, status, content_type="text/html; charset=utf-8"), nonce)


def _message(key: str, status: int = 200, tone: str = "error", **values) -> Response:
    return _page(status, message=texts.get(f"checkin_page.{key}", **values), tone=tone)


def _signed_in() -> str | None:
    userid, at = session.get(SESSION_USER), session.get(SESSION_AT)
    if not userid or not isinstance(at, (int, float)):
        return None
    if _services().clock().timestamp() - at > SIGNED_IN_FOR.total_seconds():
        return None
    return str(userid)


def _to_wecom(code: str) -> Response:
    services = _services()
    with transaction(services.factory) as s:
        state = sso.issue_state(
            s, current_app.secret_key, "checkin", f"{CHECKIN_PREFIX}/{code}", services.clock()
        )
    session[sso.SESSION_NONCE] = state[:32]
    back = sso.public_base(services.settings, request.host_url) + url_for(".signed_in")
    return _headers(sso.to_wecom(sso.authorize_url(services.settings, back, state)))


def _event_values(event: CheckinEvent) -> dict:
    tz = _services().settings.tz
    return {
        "event": event,
        "when": f"{label(event.starts_at, tz)}—{clock_label(event.ends_at, tz)}",
        "kind": core.kind_label(event.kind),
    }


def _ready(event: CheckinEvent, user: User, status: int = 200, note: str = "") -> Response:
    """The event and its 「签到」 button (with the position asked for, where it counts)."""
    session.setdefault(SESSION_CSRF, secrets.token_urlsafe(32))
    return _page(
        status,
        form=True,
        csrf=session[SESSION_CSRF],
        needs_location=attendance.needs_location(event),
        radius=event.radius_m,
        who=user.name or user.userid,
        message=note,
        tone="error",
        code=event.code,
        **_event_values(event),
    )


def _check(s: Session, code: str, userid: str):
    """(user, event, None) when `userid` may sign in to the event `code` now; else
    (…, the page that says why)."""
    services = _services()
    now = services.clock()
    tz = services.settings.tz
    user = s.get(User, userid)
    if user is None or user.status != 1:
        return user, None, _message("left", 403)
    wait = attendance.code_wait(s, userid, now)
    if wait is not None:
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        return user, None, _message("wait", 429, minutes=minutes)
    event = core.event_by_code(s, code)
    done = attendance.attendance_of(s, event.id, userid) if event else None
    if event is not None and done is not None:
        when = label(done.checked_at, tz)
        page = _message("already", tone="ok", title=event.title, when=when)
        return user, event, page
    if event is None or core.event_state(event, now) != "open":
        # As in chat: a closed or unknown code answers alike, so guessing reveals no title.
        attendance.record_wrong_code(s, userid, code, now)
        return user, None, _message("wrong", 404)
    return user, event, None


@links.get(f"{CHECKIN_PREFIX}/<code>")
def checkin_page(code: str):
    if not core.CODE.match(code):
        return _message("wrong", 404)
    userid = _signed_in()
    if userid is None:
        return _to_wecom(code)
    with transaction(_services().factory) as s:
        user, event, refusal = _check(s, code, userid)
        if refusal is not None:
            return refusal
        return _ready(event, user)


def _position() -> tuple[float, float] | None:
    try:
        lat = float(request.form.get("latitude", ""))
        lng = float(request.form.get("longitude", ""))
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or math.isnan(lat + lng):
        return None
    return lat, lng


@links.post(f"{CHECKIN_PREFIX}/<code>")
def checkin_submit(code: str):
    if not core.CODE.match(code):
        return _message("wrong", 404)
    userid = _signed_in()
    if userid is None:
        return _headers(redirect(url_for(".checkin_page", code=code), code=303))
    given = request.form.get("csrf_token", "")
    expected = session.get(SESSION_CSRF, "")
    if not expected or not secrets.compare_digest(str(expected), given):
        return _message("expired", 400)
    services = _services()
    now, tz = services.clock(), services.settings.tz
    with transaction(services.factory) as s:
        user, event, refusal = _check(s, code, userid)
        if refusal is not None:
            return refusal
        distance = None
        if attendance.needs_location(event):
            position = _position()
            if position is None:
                return _ready(event, user, 400, texts.get("checkin_page.location_missing"))
            distance = attendance.distance_to(event, *position)
            if distance > (event.radius_m or 0):
                far = texts.get("checkin_page.far", distance=round(distance), radius=event.radius_m)
                return _ready(event, user, 200, far)
        row = attendance.attend(
            s,
            event,
            user,
            now,
            method="scan",
            distance_m=round(distance, 1) if distance is not None else None,
        )
        if row is None:  # a second tap or a retried POST: the first one counted
            done = attendance.attendance_of(s, event.id, userid)
            when = label(done.checked_at if done else now, tz)
            return _message("already", tone="ok", title=event.title, when=when)
        message = texts.get("checkin_page.done", when=label(row.checked_at, tz), title=event.title)
        if distance is not None:
            message += texts.get("checkin_page.done_distance", distance=round(distance))
        return _page(message=message, tone="ok", done=True, **_event_values(event))


@links.get(f"{CHECKIN_PREFIX}/signed-in")
def signed_in():
    """WeCom's redirect back: the state (ours, this browser's, once), the code -> userid."""
    services = _services()
    state = request.args.get("state", "")
    code = request.args.get("code", "")[:512]
    key = current_app.secret_key
    bound = session.pop(sso.SESSION_NONCE, None)
    if not code or not sso.state_signed(key, "checkin", state) or bound != state[:32]:
        return _message("link_bad", 400)
    with transaction(services.factory) as s:
        target = sso.consume_state(s, key, "checkin", state, services.clock())
    if target is None or not target.startswith(CHECKIN_PREFIX + "/"):
        return _message("link_bad", 400)
    client = services.client.quick()
    try:
        info = client.user_by_code(code)
    except WeComAPIError as exc:
        if exc.errcode == INVALID_CODE:
            return _message("link_bad", 400)
        return _message("wecom_down", 502, code=target.rsplit("/", 1)[-1])
    userid = str(info.get("userid") or "")[:64]
    if not userid:
        return _message("outsider", 403)
    with services.factory() as s:
        known = s.get(User, userid) is not None
    looked_up = None
    if not known:  # a member who joined since the last directory sync
        try:
            looked_up = client.get_user(userid)
        except WeComAPIError:
            looked_up = None
    with transaction(services.factory) as s:
        ensure_user(s, userid, looked_up, services.clock())
    session[SESSION_USER] = userid
    session[SESSION_AT] = services.clock().timestamp()
    session[SESSION_CSRF] = secrets.token_urlsafe(32)
    return _headers(redirect(target))
