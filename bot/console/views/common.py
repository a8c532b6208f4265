"""What every console page shares: the blueprint, the request's transaction and login check,
the process's services, audit rows, and the template filters."""

from __future__ import annotations

import base64
import functools
import hashlib
import ipaddress
import re
import tempfile
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select
from werkzeug.exceptions import BadRequest, HTTPException, MethodNotAllowed, NotFound

from bot.audit import action_label
from bot.console import auth, data
from bot.content import texts
from bot.exports import write_xlsx
from bot.localtime import stamp
from bot.models import AuditLog, User
from bot.outbox import held_batches
from bot.people import Names
from bot.services import Services

# Templates and static files live beside the package, in bot/console/.
bp = Blueprint(
    "console",
    "bot.console.views",
    url_prefix="/admin",
    root_path=str(Path(__file__).resolve().parent.parent),
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

PUBLIC_ENDPOINTS = {
    "console.login",
    "console.login_wecom",
    "console.login_wecom_done",
    "console.static",
}
UPLOAD_LIMIT = 5 * 1024 * 1024  # question files; everything else keeps the app's 64 KiB
PAGE = 50

# Where register_console keeps the process's services on the Flask app.
SERVICES_KEY = "safetybot.console"
HSTS = "max-age=31536000"


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _content_security_policy() -> str:
    """The console loads nothing from elsewhere: its own stylesheet and photos, inline SVG.
    The only inline code is in the summary report (report.html, also saved as a standalone
    file): its <style> block, allowed by hash, and the print link `javascript:window.print()`,
    allowed by hash through 'unsafe-hashes' (browsers hash the URL with or without its
    scheme, so both)."""
    template = Path(bp.root_path, "templates", "console", "report.html").read_text("utf-8")
    styles = [_sha256(block) for block in re.findall(r"<style>(.*?)</style>", template, re.S)]
    scripts = [_sha256(link) for link in ("javascript:window.print()", "window.print()")]
    return "; ".join(
        (
            "default-src 'none'",
            "style-src " + " ".join(["'self'", *styles]),
            "script-src " + " ".join(["'unsafe-hashes'", *scripts]),
            "img-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        )
    )


CONTENT_SECURITY_POLICY = _content_security_policy()


@functools.lru_cache(maxsize=8)
def _networks(allow: tuple[str, ...]):
    return tuple(ipaddress.ip_network(n, strict=False) for n in allow)


def address_allowed(address: str, allow: tuple[str, ...]) -> bool:
    """Whether a client address is inside one of the allowed networks."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in _networks(allow))


def services() -> Services:
    return current_app.extensions[SERVICES_KEY]


def now() -> datetime:
    return services().clock()


def today() -> date:
    return now().astimezone(services().settings.tz).date()


def scope() -> auth.Scope:
    """The departments the signed-in account may see."""
    return g.scope


# -- request life cycle ---------------------------------------------------------------------------
@bp.before_request
def open_request():
    address = client_ip()
    if not address_allowed(address, services().settings.console_allow):
        return Response(
            texts.get("console.forbidden_address", address=address),
            403,
            content_type="text/plain; charset=utf-8",
        )
    if request.endpoint in ("console.questions_import", "console.activity_new"):
        request.max_content_length = UPLOAD_LIMIT
    g.db = services().factory()
    g.account = auth.load_session(g.db, session.get("sid"), now())
    if g.account is None and session.get("sid"):
        session.pop("sid", None)
    if "csrf" not in session:
        session["csrf"] = auth.new_csrf_token()
    if request.method == "POST":
        given = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
        if not auth.csrf_ok(session.get("csrf"), given):
            raise CsrfRefused()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if g.account is None:
        return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
    g.scope = auth.scope_for(g.db, g.account)
    return None


@bp.after_request
def finish_request(response: Response) -> Response:
    db = g.pop("db", None)
    if db is not None:
        if response.status_code < 400 or g.get("commit_on_error"):
            db.commit()
        else:
            db.rollback()
        db.close()
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if served_over_https():
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def served_over_https() -> bool:
    """HTTPS by setting, or as seen by this request (the forwarded scheme counts only from a
    trusted proxy: ProxyFix, see bot.app)."""
    return services().settings.https or request.is_secure


@bp.teardown_request
def close_request(_exc):
    db = g.pop("db", None)
    if db is not None:
        db.rollback()
        db.close()


@bp.app_context_processor
def template_globals():
    held = 0
    if g.get("account") is not None and g.get("db") is not None:
        # WeCom refuses this server's address (60020): nothing goes out until an admin fixes
        # 企业可信IP. Loud on every page, as the log is.
        held = held_batches(g.db)
    return {
        "csrf_token": session.get("csrf", ""),
        "t": texts.get,
        "account": g.get("account"),
        "role_labels": auth.ROLE_LABELS,
        "status_labels": data.STATUS_LABELS,
        "held_banner": texts.get("console.held_banner", count=held) if held else "",
    }


class CsrfRefused(BadRequest):
    """A form posted without this session's CSRF token (an old page, or another site)."""


@bp.app_errorhandler(HTTPException)
def error_page(exc: HTTPException):
    """Console errors (403, 404, a refused form …) as a Chinese page; elsewhere (the WeCom
    callback, health checks) werkzeug's own answer stays."""
    if not request.path.startswith(bp.url_prefix or "/admin") or exc.code is None:
        return exc
    if isinstance(exc, MethodNotAllowed) and not _exists_for_another_method(exc):
        exc = NotFound()
    errors = texts.raw("console.errors")
    if isinstance(exc, CsrfRefused):
        message = errors["csrf"]
    else:
        message = errors.get(str(exc.code), errors["other"])
    page = render_template(
        "console/error.html",
        title=texts.get("console.errors.title", status=exc.code),
        message=message,
        back=errors["back"],
    )
    return page, exc.code, exc.get_headers() if exc.code == 405 else {}


def _exists_for_another_method(exc: MethodNotAllowed) -> bool:
    """Werkzeug answers 405 when a rule for another method matched the path before its
    converter refused the value (an id past 2**31 on /plans/<id>): no page is there, a 404."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in exc.valid_methods or ():
        try:
            adapter.match(method=method)
            return True
        except HTTPException:
            continue
    return False


def officer_only(fn):
    """Pages that change the campaign: admins and safety officers, not department heads."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not auth.can_act(g.account):
            audit("console:denied", request.path, allowed=False)
            abort(403)
        return fn(*args, **kwargs)

    return wrapper


def audit(action: str, detail: str = "", allowed: bool = True) -> None:
    actor = f"console:{g.account.username}" if g.get("account") else "console:-"
    row = AuditLog(
        at=now(), actor=actor[:64], action=action[:64], allowed=allowed, detail=detail[:2000]
    )
    g.db.add(row)
    if not allowed:
        # A refusal answers with an error status, which would roll the request back.
        g.commit_on_error = True


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_download(name: str, write, action: str, detail: str = "") -> Response:
    """A workbook as a download: `write(path)` fills it (bot.exports.write_xlsx or a
    feature's own writer), the download is audit-logged, `name` is the file name (ASCII, as
    every browser keeps it)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.xlsx"
        write(path)
        payload = path.read_bytes()
    audit(action, detail)
    return Response(
        payload,
        headers={
            "Content-Type": XLSX_TYPE,
            "Content-Disposition": f'attachment; filename="{name}-{today().isoformat()}.xlsx"',
        },
    )


def sheets_download(name: str, sheets, action: str, detail: str = "") -> Response:
    """(title, header, rows) sheets as a download, written by bot.exports.write_xlsx."""
    return xlsx_download(name, lambda path: write_xlsx(path, sheets), action, detail)


def actor() -> str:
    return f"console:{g.account.username}"[:64]


def safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no //) is followed after login."""
    if not target:
        return url_for("console.dashboard")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("console.dashboard")
    return target


def client_ip() -> str:
    # Behind SAFETYBOT_TRUSTED_PROXIES proxies, bot.app wraps the app in werkzeug's ProxyFix,
    # so this is the client's address taken from X-Forwarded-For, not the proxy's.
    return request.remote_addr or "-"


class PeopleNames(dict):
    """userid -> name, looked up when a page asks for one (then remembered for the request):
    a page shows a few dozen people, and loading the whole directory (100,000 members) cost
    ~0.2 s per page."""

    def __init__(self, session) -> None:
        super().__init__()
        self.session = session

    def __missing__(self, userid: str) -> str:
        row = self.session.execute(select(User.name).where(User.userid == userid)).first()
        if row is None:
            raise KeyError(userid)
        self[userid] = row.name or userid
        return self[userid]

    def get(self, userid, default=None):
        try:
            return self[userid]
        except KeyError:
            return default


def people_names() -> PeopleNames:
    if "people_names" not in g:
        g.people_names = PeopleNames(g.db)
    return g.people_names


def names() -> Names:
    """The directory as people read it (姓名（部门）), loaded once per request."""
    if "names" not in g:
        g.names = Names(g.db)
    return g.names


@bp.app_template_filter("actor")
def actor_label(value: str | None) -> str:
    """Who did something, for people: a WeCom userid as 姓名（部门）, a console account by the
    person's name, the command line and other machinery by a word (content `console.actors`)."""
    if not value:
        return ""
    if g.get("db") is None:
        return value
    return names().actor(value)


@bp.app_template_filter("person")
def person_label(userid: str | None) -> str:
    """A userid as 姓名（部门）."""
    if not userid:
        return ""
    return names().person(userid) if g.get("db") is not None else userid


@bp.app_template_filter("name")
def name_label(userid: str | None) -> str:
    """A userid (or a console account named after one) as the person's name."""
    if not userid:
        return ""
    return names().name(userid) if g.get("db") is not None else userid


@bp.app_template_filter("audit_action")
def audit_action_label(action: str) -> str:
    """An audit log action key in words (content `console.audit`)."""
    return action_label(action)


@bp.app_template_filter("local")
def local_time(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return stamp(value, services().settings.tz, fmt)
    return str(value)


@bp.app_template_filter("pct")
def pct(value: float) -> str:
    return f"{value * 100:.1f}%"
