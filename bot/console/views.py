"""Console pages. Each request runs in one database transaction (committed when the response
is not an error); state changes go through the features' own functions."""

from __future__ import annotations

import functools
import tempfile
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from bot.console import auth, charts, data
from bot.models import (
    AuditLog,
    CheckinEvent,
    EventAttendance,
    HazardPhoto,
    HazardReport,
    PledgeRound,
    PledgeText,
    Question,
    RiskWarning,
    Suggestion,
    SuggestionReply,
    User,
)

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

PUBLIC_ENDPOINTS = {"console.login", "console.static"}
UPLOAD_LIMIT = 5 * 1024 * 1024  # question files; everything else keeps the app's 64 KiB
PAGE = 50


def runtime():
    return current_app.extensions["safetybot"]


def now() -> datetime:
    return runtime().clock()


def today() -> date:
    return now().astimezone(runtime().settings.tz).date()


# -- request life cycle ---------------------------------------------------------------------------
@bp.before_request
def open_request():
    if request.endpoint == "console.questions_import":
        request.max_content_length = UPLOAD_LIMIT
    g.db = runtime().factory()
    g.account = auth.load_session(g.db, session.get("sid"), now())
    if g.account is None and session.get("sid"):
        session.pop("sid", None)
    if "csrf" not in session:
        session["csrf"] = auth.new_csrf_token()
    if request.method == "POST":
        given = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
        if not auth.csrf_ok(session.get("csrf"), given):
            abort(400, "CSRF token missing or wrong")
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
    return response


@bp.teardown_request
def close_request(_exc):
    db = g.pop("db", None)
    if db is not None:
        db.rollback()
        db.close()


@bp.app_context_processor
def template_globals():
    return {
        "csrf_token": session.get("csrf", ""),
        "account": g.get("account"),
        "role_labels": auth.ROLE_LABELS,
        "status_labels": data.STATUS_LABELS,
    }


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
    # Behind a reverse proxy, wrap the app in werkzeug's ProxyFix so this is the real address.
    return request.remote_addr or "-"


# -- login ----------------------------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        # attempt_login commits in its own transactions; free SQLite's write lock first.
        g.db.commit()
        result = auth.attempt_login(
            runtime().factory,
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


# -- dashboard ------------------------------------------------------------------------------------
@bp.get("/")
def dashboard():
    s, scope, settings = g.db, g.scope, runtime().settings
    participation = data.fill_days(data.participation_by_day(s, scope, now(), settings.tz))
    checkins = data.fill_days(data.checkins_by_day(s, scope))
    pledges = data.pledge_by_department(s, scope)
    quiz = data.quiz_by_theme(s, scope)
    counts = data.hazard_counts(s, scope)
    t = today()
    ledger = data.hazards(s, scope, t, limit=10)
    return render_template(
        "console/dashboard.html",
        overview=data.overview(s, scope, t),
        charts=dashboard_charts(participation, checkins, pledges, quiz, counts),
        ledger=ledger,
        today=t,
        is_overdue=data.is_overdue,
        names=data.department_names(s),
        people=people_names(),
    )


def dashboard_charts(participation, checkins, pledges, quiz, counts) -> list:
    return [
        charts.column_chart(
            "chart-participation",
            "每日参与人数",
            [d[5:] for d, _ in participation],
            [n for _, n in participation],
            unit="人",
        ),
        charts.column_chart(
            "chart-checkins",
            "每日打卡人数",
            [d[5:] for d, _ in checkins],
            [n for _, n in checkins],
            unit="人",
            colour=charts.PALETTE[2],
        ),
        charts.bar_chart(
            "chart-pledges",
            "责任书签订率（按部门）",
            [p["name"] for p in pledges],
            [round(p["rate"] * 100, 1) for p in pledges],
            unit="%",
            max_value=100,
            colour=charts.PALETTE[1],
        ),
        charts.bar_chart(
            "chart-quiz",
            "答题正确率（按主题）",
            [q["title"] for q in quiz],
            [round(q["rate"] * 100, 1) for q in quiz],
            unit="%",
            max_value=100,
            colour=charts.PALETTE[4],
        ),
        charts.bar_chart(
            "chart-hazards",
            "隐患状态分布",
            [data.STATUS_LABELS[k] for k in counts],
            list(counts.values()),
            unit="项",
            colour=charts.PALETTE[3],
        ),
    ]


# -- question bank --------------------------------------------------------------------------------
@bp.get("/questions")
@officer_only
def questions():
    from bot.quiz.bank import ensure_bank, theme_titles

    ensure_bank(g.db, now())
    q = request.args.get("q", "").strip()
    theme = request.args.get("theme", "").strip()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    stmt = select(Question)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Question.stem.ilike(like), Question.id.ilike(like)))
    if theme:
        stmt = stmt.where(Question.theme == theme)
    total = g.db.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = list(
        g.db.scalars(
            stmt.order_by(Question.theme, Question.id).offset((page - 1) * PAGE).limit(PAGE)
        )
    )
    return render_template(
        "console/questions.html",
        rows=rows,
        q=q,
        theme=theme,
        page=page,
        total=total,
        pages=max(1, -(-total // PAGE)),
        themes=theme_titles(),
        import_errors=session.pop("import_errors", None),
    )


@bp.route("/questions/<qid>", methods=["GET", "POST"])
@officer_only
def question_edit(qid: str):
    from bot.quiz.bank import LETTERS, clean_question

    question = g.db.get(Question, qid) or abort(404)
    problems: list[str] = []
    if request.method == "POST":
        raw = {
            "id": qid,
            "theme": request.form.get("theme", ""),
            "type": request.form.get("type", ""),
            "stem": request.form.get("stem", ""),
            "options": [request.form.get(f"option_{c}", "") for c in LETTERS[:6].lower()],
            "answer": request.form.get("answer", ""),
            "explanation": request.form.get("explanation", ""),
            "source": request.form.get("source", ""),
        }
        values, problems = clean_question(raw)
        if values is not None:
            for key, value in values.items():
                setattr(question, key, value)
            question.active = request.form.get("active") == "1"
            question.origin = "import"  # a later builtin sync must not undo the edit
            question.updated_at = now()
            audit("console:question-edit", qid)
            flash(f"题目 {qid} 已保存。")
            return redirect(url_for("console.questions", q=qid))
    return render_template("console/question_edit.html", question=question, problems=problems)


@bp.post("/questions/import")
@officer_only
def questions_import():
    from bot.quiz.bank import ImportFailed, import_questions

    upload = request.files.get("file")
    suffix = Path(upload.filename or "").suffix.lower() if upload else ""
    if upload is None or suffix not in (".csv", ".xlsx"):
        session["import_errors"] = ["请选择 .csv 或 .xlsx 文件。"]
        return redirect(url_for("console.questions"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("upload" + suffix)
        upload.save(path)
        try:
            count = import_questions(g.db, path, now())
        except ImportFailed as exc:
            # The import is all-or-nothing: nothing was written; show every bad row.
            session["import_errors"] = exc.errors[:200]
            audit("console:question-import", f"refused: {len(exc.errors)} problems", allowed=False)
            return redirect(url_for("console.questions"))
        except Exception as exc:  # noqa: BLE001 - a broken file is the user's problem to see
            session["import_errors"] = [f"无法读取文件：{exc}"[:300]]
            return redirect(url_for("console.questions"))
    audit("console:question-import", f"{count} questions from {upload.filename}")
    flash(f"已导入 {count} 道题。")
    return redirect(url_for("console.questions"))


# -- pledges --------------------------------------------------------------------------------------
@bp.get("/pledges")
@officer_only
def pledges():
    from bot import pledge as core
    from bot.models import PledgeRoundMember, PledgeSignature

    rounds = []
    for rnd in g.db.scalars(select(PledgeRound).order_by(PledgeRound.id.desc()).limit(20)):
        signed = g.db.scalar(
            select(func.count())
            .select_from(PledgeRoundMember)
            .join(
                PledgeSignature,
                (PledgeSignature.userid == PledgeRoundMember.userid)
                & (PledgeSignature.text_hash == PledgeRoundMember.text_hash),
            )
            .where(PledgeRoundMember.round_id == rnd.id)
        )
        rounds.append((rnd, signed or 0))
    return render_template(
        "console/pledges.html",
        current=core.current_texts(),
        history=list(
            g.db.scalars(select(PledgeText).order_by(PledgeText.key, PledgeText.id.desc()))
        ),
        rounds=rounds,
        completion=data.pledge_by_department(g.db, g.scope),
        departments=data.departments_in(g.db, g.scope),
    )


@bp.post("/pledges/launch")
@officer_only
def pledges_launch():
    from handlers.pledge import launch

    departments = [int(d) for d in request.form.getlist("departments") if d.isdigit()]
    round_id, total, pending = launch(
        g.db, actor(), now(), departments or None, runtime().settings.tz
    )
    audit("console:pledge-launch", f"round {round_id} departments {departments or 'all'}")
    runtime().kick_sender()
    flash(f"第 {round_id} 轮签订已发起：{total} 人在范围内，{pending} 人待签。")
    return redirect(url_for("console.pledges"))


# -- events and attendance ------------------------------------------------------------------------
@bp.get("/events")
def events():
    rows = []
    for event in g.db.scalars(select(CheckinEvent).order_by(CheckinEvent.starts_at.desc())):
        n = g.db.scalar(
            select(func.count())
            .select_from(EventAttendance)
            .where(
                EventAttendance.event_id == event.id, g.scope.filter(EventAttendance.department_id)
            )
        )
        rows.append((event, n or 0))
    return render_template("console/events.html", rows=rows, tz=runtime().settings.tz)


@bp.get("/events/<int:event_id>")
def event_detail(event_id: int):
    from bot.console.qr import checkin_qr

    event = g.db.get(CheckinEvent, event_id) or abort(404)
    attendance = list(
        g.db.scalars(
            select(EventAttendance)
            .where(
                EventAttendance.event_id == event.id, g.scope.filter(EventAttendance.department_id)
            )
            .order_by(EventAttendance.checked_at)
        )
    )
    return render_template(
        "console/event_detail.html",
        event=event,
        attendance=attendance,
        qr=checkin_qr(event.code),
        tz=runtime().settings.tz,
        names=data.department_names(g.db),
    )


@bp.post("/events")
@officer_only
def events_create():
    from bot.console.actions import EventError, create_event

    try:
        event = create_event(
            g.db,
            runtime().settings,
            now(),
            actor=actor(),
            title=request.form.get("title", ""),
            kind=request.form.get("kind", "other"),
            starts=request.form.get("starts_at", ""),
            ends=request.form.get("ends_at", ""),
        )
    except EventError as exc:
        flash(str(exc), "error")
        return redirect(url_for("console.events"))
    audit("console:event-create", f"{event.id} {event.title} code {event.code}")
    return redirect(url_for("console.event_detail", event_id=event.id))


# -- hazard ledger --------------------------------------------------------------------------------
def hazard_in_scope(ticket: str) -> HazardReport:
    hazard = g.db.scalar(select(HazardReport).where(HazardReport.ticket == ticket))
    if hazard is None or not g.scope.allows(hazard.department_id):
        abort(404)
    return hazard


@bp.get("/hazards")
def hazards():
    status = request.args.get("status") or None
    t = today()
    rows = data.hazards(g.db, g.scope, t, status=status)
    return render_template(
        "console/hazards.html",
        rows=rows,
        status=status,
        today=t,
        is_overdue=data.is_overdue,
        counts=data.hazard_counts(g.db, g.scope),
        names=data.department_names(g.db),
        people=people_names(),
    )


def people_names() -> dict[str, str]:
    return {u: n or u for u, n in g.db.execute(select(User.userid, User.name))}


@bp.get("/hazards/<ticket>")
def hazard_detail(ticket: str):
    from bot.hazard import ledger, states

    hazard = hazard_in_scope(ticket)
    members = list(
        g.db.scalars(select(User).where(User.status == 1).order_by(User.department_id, User.userid))
    )
    return render_template(
        "console/hazard_detail.html",
        hazard=hazard,
        history=ledger.history(g.db, hazard),
        actions=states.allowed_actions(hazard.status) if auth.can_act(g.account) else [],
        action_labels={
            "report": "上报",
            "assign": "指派（六定）",
            **{a: ledger.action_label(a) for a in states.ACTIONS},
        },
        category=ledger.category_label(hazard.category),
        members=members,
        names=data.department_names(g.db),
        people=people_names(),
        today=today(),
        overdue=data.is_overdue(hazard, today()),
        tz=runtime().settings.tz,
        can_assign=auth.can_act(g.account)
        and hazard.status in ("reported", "accepted", "rectifying"),
    )


@bp.post("/hazards/<ticket>/assign")
@officer_only
def hazard_assign(ticket: str):
    from bot.hazard import ledger, states

    hazard = hazard_in_scope(ticket)
    owner = request.form.get("owner", "").strip()
    try:
        deadline = date.fromisoformat(request.form.get("deadline", ""))
    except ValueError:
        deadline = None
    if not owner or g.db.get(User, owner) is None or deadline is None:
        flash("请选择责任人并填写整改期限（YYYY-MM-DD）。", "error")
        return redirect(url_for("console.hazard_detail", ticket=ticket))

    def opt(name: str) -> str | None:
        return request.form.get(name, "").strip() or None

    try:
        ledger.assign(
            g.db,
            runtime().settings,
            hazard,
            actor=actor(),
            now=now(),
            owner=owner,
            deadline=deadline,
            rechecker=opt("rechecker"),
            measure=opt("measure"),
            funds=opt("funds"),
        )
    except states.TransitionRefused as exc:
        flash(f"无法指派：{exc}", "error")
        return redirect(url_for("console.hazard_detail", ticket=ticket))
    audit("console:hazard-assign", f"{ticket} owner {owner} deadline {deadline}")
    runtime().kick_sender()
    flash(f"{ticket} 已指派给 {owner}，期限 {deadline}。")
    return redirect(url_for("console.hazard_detail", ticket=ticket))


REFUSALS = {
    "need_reason": "驳回需要填写原因。",
    "need_proof": "完成整改需要填写整改说明或上传照片。",
    "need_owner": "开始整改前请先指派责任人。",
}


@bp.post("/hazards/<ticket>/action")
@officer_only
def hazard_action(ticket: str):
    from bot.hazard import ledger, states

    hazard = hazard_in_scope(ticket)
    action = request.form.get("action", "")
    if action not in states.ACTIONS:
        abort(400)
    try:
        to = ledger.change(
            g.db,
            runtime().settings,
            hazard,
            action,
            actor=actor(),
            now=now(),
            note=request.form.get("note", ""),
            has_photo=ledger.photo_counts(g.db, hazard)["rectify"] > 0,
        )
    except states.IllegalTransition:
        flash(f"当前状态（{data.STATUS_LABELS.get(hazard.status)}）不能执行此操作。", "error")
        return redirect(url_for("console.hazard_detail", ticket=ticket))
    except states.TransitionRefused as exc:
        flash(REFUSALS.get(exc.reason, str(exc)), "error")
        return redirect(url_for("console.hazard_detail", ticket=ticket))
    audit("console:hazard-" + action, f"{ticket} -> {to}")
    runtime().kick_sender()
    flash(f"{ticket} 状态已更新为「{data.STATUS_LABELS.get(to, to)}」。")
    return redirect(url_for("console.hazard_detail", ticket=ticket))


@bp.get("/photos/<int:photo_id>")
def photo(photo_id: int):
    """A stored hazard photo. The path comes from the database, never from the URL, and must
    still resolve inside files_dir (a tampered row cannot reach other files)."""
    row = g.db.get(HazardPhoto, photo_id)
    if row is None or row.status != "stored" or not row.path:
        abort(404)
    hazard = g.db.get(HazardReport, row.hazard_id)
    if hazard is None or not g.scope.allows(hazard.department_id):
        abort(404)
    root = Path(runtime().settings.files_dir).resolve()
    target = (root / row.path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        abort(404)
    return send_file(target, mimetype=row.content_type or "application/octet-stream")


# -- suggestions ----------------------------------------------------------------------------------
@bp.get("/suggestions")
def suggestions():
    rows = list(
        g.db.scalars(
            select(Suggestion)
            .options(selectinload(Suggestion.replies))
            .where(g.scope.filter(Suggestion.department_id))
            .order_by(Suggestion.id.desc())
            .limit(200)
        )
    )
    return render_template(
        "console/suggestions.html",
        rows=rows,
        people=people_names(),
        names=data.department_names(g.db),
        tz=runtime().settings.tz,
    )


@bp.post("/suggestions/<int:suggestion_id>/reply")
@officer_only
def suggestion_reply(suggestion_id: int):
    from bot.content import texts
    from bot.outbox import enqueue

    suggestion = g.db.get(Suggestion, suggestion_id) or abort(404)
    content = request.form.get("content", "").strip()[:2000]
    if not content:
        flash("回复内容不能为空。", "error")
        return redirect(url_for("console.suggestions"))
    g.db.add(
        SuggestionReply(suggestion_id=suggestion.id, replier=actor(), content=content, at=now())
    )
    notice = texts.get(
        "suggestion.reply_notice",
        ticket=suggestion.ticket,
        content=content,
        replier=texts.get("console.replier"),
    )
    enqueue(
        g.db,
        [suggestion.proposer],
        {"msgtype": "text", "text": {"content": notice}},
        source="suggestion:reply",
        now=now(),
    )
    audit("console:suggestion-reply", f"{suggestion.ticket} {content}"[:500])
    runtime().kick_sender()
    flash(f"已回复 {suggestion.ticket}。")
    return redirect(url_for("console.suggestions"))


# -- broadcasts and CAP alerts --------------------------------------------------------------------
@bp.route("/broadcast", methods=["GET", "POST"])
@officer_only
def broadcast():
    from bot.console.actions import BroadcastError, compose_broadcast
    from bot.warnings import service

    form = request.form if request.method == "POST" else {}
    preview = None
    if request.method == "POST":
        try:
            draft = compose_broadcast(
                g.db, runtime().settings, now(), form, request.form.getlist("departments")
            )
        except BroadcastError as exc:
            flash(str(exc), "error")
        else:
            if request.form.get("do") == "send":
                warning = service.publish(
                    g.db,
                    runtime().settings,
                    draft.send_at,
                    created_by=actor(),
                    rendered=draft.rendered,
                    department_ids=draft.department_ids,
                    require_ack=draft.require_ack,
                    kind=draft.kind,
                )
                audit(
                    "console:broadcast",
                    f"#{warning.id} {draft.kind} -> "
                    f"{warning.recipients_total} at {draft.send_at.isoformat()}",
                )
                runtime().kick_sender()
                when = (
                    ""
                    if draft.send_at <= now()
                    else (
                        f"，将于 {draft.send_at.astimezone(runtime().settings.tz):%Y-%m-%d %H:%M} 发送"
                    )
                )
                flash(f"已提交 #{warning.id}：{warning.recipients_total} 人{when}。")
                return redirect(url_for("console.broadcast"))
            preview = draft
    recent = list(g.db.scalars(select(RiskWarning).order_by(RiskWarning.id.desc()).limit(20)))
    acks = {w.id: service.ack_count(g.db, w.id) for w in recent}
    return render_template(
        "console/broadcast.html",
        form=form,
        preview=preview,
        recent=recent,
        acks=acks,
        pending=service.pending_alerts(g.db),
        departments=data.departments_in(g.db, g.scope),
        chosen=set(request.form.getlist("departments")),
        tz=runtime().settings.tz,
        labels=service.labels(),
    )


@bp.post("/cap/<int:alert_id>")
@officer_only
def cap_decide(alert_id: int):
    from bot.warnings import service

    approve = request.form.get("do") == "approve"
    row, warning = service.decide_cap(
        g.db, runtime().settings, now(), alert_id, approve=approve, by=actor()
    )
    if row is None:
        flash("该预警已被处理。", "error")
    else:
        audit("console:cap-" + ("approve" if approve else "ignore"), f"{alert_id} {row.event}")
        runtime().kick_sender()
        flash(f"预警 {row.event or alert_id} 已{'发送' if approve else '忽略'}。")
    return redirect(url_for("console.broadcast"))


# -- audit log ------------------------------------------------------------------------------------
@bp.get("/audit")
@officer_only
def audit_log():
    page = max(1, request.args.get("page", 1, type=int) or 1)
    total = g.db.scalar(select(func.count()).select_from(AuditLog)) or 0
    rows = list(
        g.db.scalars(
            select(AuditLog).order_by(AuditLog.id.desc()).offset((page - 1) * PAGE).limit(PAGE)
        )
    )
    return render_template(
        "console/audit.html",
        rows=rows,
        page=page,
        pages=max(1, -(-total // PAGE)),
        tz=runtime().settings.tz,
    )


# -- the campaign summary -------------------------------------------------------------------------
@bp.get("/report")
def report_page():
    from bot.console.report import build_summary, render_html

    summary = build_summary(g.db, runtime().settings, now(), g.scope)
    return render_html(summary, download=url_for("console.report_xlsx"))


@bp.get("/report.xlsx")
def report_xlsx():
    from bot.console.report import build_summary, write_xlsx

    summary = build_summary(g.db, runtime().settings, now(), g.scope)
    with tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False) as fh:
        path = Path(fh.name)
    try:
        write_xlsx(summary, path)
        payload = path.read_bytes()
    finally:
        path.unlink(missing_ok=True)
    audit("console:report", "xlsx")
    name = f"safety-month-summary-{today().isoformat()}.xlsx"
    return Response(
        payload,
        headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )


@bp.app_template_filter("local")
def local_time(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(runtime().settings.tz).strftime(fmt)
    return str(value)


@bp.app_template_filter("pct")
def pct(value: float) -> str:
    return f"{value * 100:.1f}%"
