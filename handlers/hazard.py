"""隐患 (hazard reports) for everyone, and the hazard ledger (隐患台账) for safety officers.

`隐患 <描述>` / `隐患` start the report conversation (description → photos → location →
category), kept in the database so it survives a restart. The first word after 隐患 decides
between a report and an officer command: `隐患 列表`, `隐患 受理 YH-…` etc. are ledger
commands; anything else is the description of a new hazard.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bot.context import Context
from bot.hazard import ledger, photos, states
from bot.hazard.people import department_name, display, find_users
from bot.hazard.tickets import parse_ticket
from bot.messages import IncomingMessage, Reply
from bot.models import Conversation, HazardPhoto, HazardReport
from bot.router import Router
from bot.text import normalize

FLOW = "hazard"
FIX_FLOW = "hazard_fix"
CANCEL_WORDS = {"取消", "退出", "算了", "不报了"}
DONE_WORDS = {"好了", "完成", "好", "ok", "OK", "发完了", "没有了", "继续"}
SKIP_WORDS = {"跳过", "无", "没有", "不用", "略过"}
MAX_PHOTOS = 9

# 隐患 <subcommand> … : officer commands, by their first word.
ADMIN_SUBCOMMANDS = {
    "列表": "list",
    "台账": "usage",
    "命令": "usage",
    "查看": "view",
    "受理": "accept",
    "指派": "assign",
    "整改": "start",
    "完成": "finish",
    "验收": "verify",
    "关闭": "close",
    "驳回": "reject",
}
LIST_LIMIT = 30


# -- entry points -------------------------------------------------------------------------------
def handle_hazard(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    first, _, rest = args.partition(" ")
    sub = ADMIN_SUBCOMMANDS.get(first)
    if sub is not None:
        if not ctx.is_admin:
            ctx.audit("refused:hazard:" + sub, detail=normalize(msg.content)[:500], allowed=False)
            return Reply.text(ctx.t("hazard.not_officer", command=first))
        raw_first, _, raw_rest = _collapsed(ctx.raw_args).partition(" ")
        return run_admin(ctx, sub, first, (raw_rest if raw_first == first else rest).strip())
    if args:
        description = _collapsed(ctx.raw_args) or args
        ctx.start_flow(FLOW, "photos", {"description": description, "photos": []})
        return Reply.text(ctx.t("hazard.ask_photos"))
    ctx.start_flow(FLOW, "describe", {"photos": []})
    return Reply.text(ctx.t("hazard.ask_description"))


def handle_my_hazards(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    rows = list(
        ctx.session.scalars(
            select(HazardReport)
            .where(HazardReport.reporter == ctx.userid)
            .order_by(HazardReport.id.desc())
            .limit(20)
        )
    )
    if not rows:
        return Reply.text(ctx.t("hazard.mine_empty"))
    total = ctx.session.scalar(
        select(func.count()).select_from(HazardReport).where(HazardReport.reporter == ctx.userid)
    )
    lines = [ctx.t("hazard.mine_title", count=total)]
    lines += [
        ctx.t(
            "hazard.mine_line",
            ticket=h.ticket,
            status=ledger.status_label(h.status),
            description=_short(h.description),
        )
        for h in rows
    ]
    return Reply.text("\n".join(lines))


# -- the report conversation ------------------------------------------------------------------
def flow_report(msg: IncomingMessage, ctx: Context) -> Reply | None:
    conv = ctx.conversation
    assert conv is not None
    data: dict[str, Any] = dict(conv.data or {})
    text = normalize(msg.content) if msg.msg_type == "text" else ""
    if msg.msg_type == "text" and text in CANCEL_WORDS:
        ctx.end_flow()
        return Reply.text(ctx.t("hazard.cancelled"))
    step = conv.step

    if msg.msg_type == "image":
        if len(data.get("photos") or []) >= MAX_PHOTOS:
            return Reply.text(ctx.t("hazard.photos_hint"))
        reply = _take_photo(msg, ctx, data)
        if step == "describe":
            reply.add_text(ctx.t("hazard.ask_description"))
        elif step == "location":
            reply.add_text(ctx.t("hazard.ask_location"))
        elif step == "category":
            reply.add_text(ctx.t("hazard.ask_category", options=ledger.category_options()))
        return reply

    if step == "describe":
        if msg.msg_type != "text" or not text:
            return Reply.text(ctx.t("hazard.ask_description"))
        ctx.set_step("photos", description=raw_text(msg))
        return Reply.text(ctx.t("hazard.ask_photos"))

    if step == "photos":
        if msg.msg_type == "location":
            return _take_location(msg, ctx)
        if text in DONE_WORDS or text in SKIP_WORDS:
            ctx.set_step("location")
            return Reply.text(ctx.t("hazard.ask_location"))
        return Reply.text(ctx.t("hazard.photos_hint"))

    if step == "location":
        if msg.msg_type == "location":
            return _take_location(msg, ctx)
        if msg.msg_type != "text":
            return Reply.text(ctx.t("hazard.ask_location"))
        if text in SKIP_WORDS:
            ctx.set_step("category", location="")
            return Reply.text(ctx.t("hazard.ask_category", options=ledger.category_options()))
        ctx.set_step("category", location=raw_text(msg)[:255])
        return Reply.text(ctx.t("hazard.ask_category", options=ledger.category_options()))

    if step == "category":
        category = "other" if text in SKIP_WORDS else ledger.parse_category(text)
        if category is None:
            return Reply.text(ctx.t("hazard.category_hint", max=len(ledger.CATEGORIES)))
        return _finish_report(ctx, {**data, "category": category})

    ctx.end_flow()  # an unknown step (content changed under a live conversation): start over
    return None


def prefetch_photo(msg: IncomingMessage, runtime) -> tuple[Any, str] | None:
    """Download a photo sent during a hazard conversation BEFORE the message's transaction
    (WeCom media ids expire after 3 days; the download must not hold a database lock)."""
    if runtime is None or not msg.media_id:
        return None
    with runtime.factory() as s:
        conv = s.get(Conversation, msg.from_user)
        if conv is None or conv.flow not in (FLOW, FIX_FLOW):
            return None
    return photos.fetch_now(runtime, msg.media_id)


def _prefetched_photo(msg: IncomingMessage, ctx: Context) -> tuple[Any, str]:
    if ctx.prefetched is None:
        # Not fetched before the transaction: record it as pending for the retry job.
        return None, "not downloaded yet"
    return ctx.prefetched


def _take_photo(msg: IncomingMessage, ctx: Context, data: dict[str, Any]) -> Reply:
    stored, error = _prefetched_photo(msg, ctx)
    values = photos.photo_values(msg.media_id, stored, error, ctx.now)
    item = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}
    items = [p for p in (data.get("photos") or []) if p.get("media_id") != msg.media_id] + [item]
    ctx.set_step(ctx.conversation.step, photos=items)
    key = "hazard.photo_saved" if stored else "hazard.photo_pending"
    return Reply.text(ctx.t(key, count=len(items)))


def _take_location(msg: IncomingMessage, ctx: Context) -> Reply:
    loc = msg.location
    label = (
        loc.label
        if loc and loc.label
        else (f"{loc.latitude:.5f},{loc.longitude:.5f}" if loc else "")
    )
    ctx.set_step(
        "category",
        location=label[:255],
        latitude=loc.latitude if loc else None,
        longitude=loc.longitude if loc else None,
    )
    return Reply.text(ctx.t("hazard.ask_category", options=ledger.category_options()))


def _finish_report(ctx: Context, data: dict[str, Any]) -> Reply:
    items = ledger.photos_from_flow(data.get("photos") or [])
    hazard = ledger.create_report(
        ctx.session,
        ctx.settings,
        reporter=ctx.userid,
        department_id=ctx.user.department_id if ctx.user else None,
        description=data.get("description") or "",
        category=data["category"],
        location=data.get("location") or "",
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
        photos=items,
        now=ctx.now,
    )
    ctx.end_flow()
    return Reply.text(
        ctx.t(
            "hazard.reported",
            ticket=hazard.ticket,
            category=ledger.category_label(hazard.category),
            location=hazard.location or ctx.t("hazard.no_location"),
            photos=len(items),
        )
    )


# -- the owner's fix conversation -------------------------------------------------------------
def flow_fix(msg: IncomingMessage, ctx: Context) -> Reply | None:
    conv = ctx.conversation
    assert conv is not None
    ticket = (conv.data or {}).get("ticket", "")
    text = normalize(msg.content) if msg.msg_type == "text" else ""
    if msg.msg_type == "text" and text in CANCEL_WORDS:
        ctx.end_flow()
        return Reply.text(ctx.t("hazard.fix_cancelled", ticket=ticket))
    if msg.msg_type not in ("text", "image") or (msg.msg_type == "text" and not text):
        return Reply.text(ctx.t("hazard.fix_ask"))
    hazard = ledger.get_by_ticket(ctx.session, ticket, lock=True)
    ctx.end_flow()
    if hazard is None:
        return Reply.text(ctx.t("hazard.not_found", ticket=ticket))
    has_photo = False
    if msg.msg_type == "image":
        stored, error = _prefetched_photo(msg, ctx)
        values = photos.photo_values(msg.media_id, stored, error, ctx.now)
        ctx.session.add(HazardPhoto(hazard_id=hazard.id, kind="rectify", **values))
        has_photo = True
    try:
        ledger.change(
            ctx.session,
            ctx.settings,
            hazard,
            "finish",
            actor=ctx.userid,
            now=ctx.now,
            note=raw_text(msg) if text else "",
            has_photo=has_photo,
        )
    except states.TransitionRefused as exc:
        return Reply.text(_refused(ctx, hazard, "finish", exc))
    return Reply.text(ctx.t("hazard.fix_done", ticket=hazard.ticket))


# -- card buttons -------------------------------------------------------------------------------
def handle_card(msg: IncomingMessage, ctx: Context) -> Reply | None:
    parts = msg.event_key.split(":")
    if len(parts) != 3:
        return None
    _, action, ticket = parts
    hazard = ledger.get_by_ticket(ctx.session, ticket, lock=True)
    if hazard is None:
        return Reply.text(ctx.t("hazard.not_found", ticket=ticket))
    allowed = (
        ctx.is_admin
        or (action in ("start", "done") and ctx.userid == hazard.owner)
        or (action == "verify" and ctx.userid == hazard.rechecker)
    )
    if not allowed:
        ctx.audit("refused:hazard:card:" + action, detail=ticket, allowed=False)
        return Reply.text(ctx.t("hazard.not_owner"))
    if action == "done":
        if hazard.status == "accepted":  # "done" implies the work started: record both steps
            try:
                ledger.change(
                    ctx.session, ctx.settings, hazard, "start", actor=ctx.userid, now=ctx.now
                )
            except states.TransitionRefused as exc:
                return Reply.text(_refused(ctx, hazard, "finish", exc))
        if hazard.status != "rectifying":
            return Reply.text(
                _refused(ctx, hazard, "finish", states.IllegalTransition(hazard.status, "finish"))
            )
        ctx.start_flow(FIX_FLOW, "proof", {"ticket": hazard.ticket})
        return Reply.text(ctx.t("hazard.fix_ask"))
    if action not in ("accept", "start", "verify"):
        return None
    try:
        ledger.change(ctx.session, ctx.settings, hazard, action, actor=ctx.userid, now=ctx.now)
    except states.TransitionRefused as exc:
        return Reply.text(_refused(ctx, hazard, action, exc))
    ctx.audit("hazard:" + action, detail=ticket)
    reply = Reply.text(_done(ctx, hazard, action))
    if action == "accept":
        reply.card_update = ledger.new_report_card(ctx.session, hazard, done=True)
    elif action == "verify":
        reply.card_update = ledger.verify_card(
            ctx.session, hazard, replace=ctx.t("hazard.card_verified")
        )
    return reply


# -- officer commands ---------------------------------------------------------------------------
def run_admin(ctx: Context, sub: str, word: str, rest: str) -> Reply:
    if sub == "list":
        return Reply.text(list_open(ctx))
    if sub == "usage":
        return Reply.text(ctx.t("hazard.admin_usage"))
    ticket_text, _, extra = rest.partition(" ")
    ticket = parse_ticket(ticket_text, ledger.PREFIX)
    if ticket is None:
        return Reply.text(ctx.t("hazard.need_ticket", command=word))
    hazard = ledger.get_by_ticket(ctx.session, ticket, lock=True)
    if hazard is None:
        return Reply.text(ctx.t("hazard.not_found", ticket=ticket))
    extra = extra.strip()
    if sub == "view":
        return Reply.text(view(ctx, hazard))
    if sub == "assign":
        return Reply.text(assign(ctx, hazard, extra))
    has_photo = False
    if sub == "finish":
        has_photo = bool(
            ctx.session.scalar(
                select(func.count())
                .select_from(HazardPhoto)
                .where(HazardPhoto.hazard_id == hazard.id, HazardPhoto.kind == "rectify")
            )
        )
    try:
        ledger.change(
            ctx.session,
            ctx.settings,
            hazard,
            sub,
            actor=ctx.userid,
            now=ctx.now,
            note=extra,
            has_photo=has_photo,
        )
    except states.TransitionRefused as exc:
        return Reply.text(_refused(ctx, hazard, sub, exc))
    ctx.audit("hazard:" + sub, detail=f"{ticket} {extra}"[:500])
    return Reply.text(_done(ctx, hazard, sub))


def _done(ctx: Context, hazard: HazardReport, action: str) -> str:
    return ctx.t(
        "hazard.done",
        ticket=hazard.ticket,
        action=ledger.action_label(action),
        status=ledger.status_label(hazard.status),
    )


def _refused(ctx: Context, hazard: HazardReport, action: str, exc: states.TransitionRefused) -> str:
    if isinstance(exc, states.IllegalTransition):
        actions = states.allowed_actions(hazard.status)
        hint = (
            ctx.t("hazard.refused_hint", actions="、".join(ledger.action_label(a) for a in actions))
            if actions
            else ctx.t("hazard.refused_hint_none")
        )
        return ctx.t(
            "hazard.refused_illegal",
            ticket=hazard.ticket,
            status=ledger.status_label(hazard.status),
            action=ledger.action_label(action),
            hint=hint,
        )
    return ctx.t(f"hazard.refused_{exc.reason}", ticket=hazard.ticket)


def list_open(ctx: Context) -> str:
    today = ctx.today
    rows = list(
        ctx.session.scalars(
            select(HazardReport).where(HazardReport.status.in_(states.OPEN_STATUSES))
        )
    )
    if not rows:
        return ctx.t("hazard.list_empty")
    rows.sort(key=lambda h: (-ledger.days_overdue(h, today), h.reported_at, h.id))
    unset = ctx.t("hazard.unset")
    lines = [ctx.t("hazard.list_title", count=len(rows))]
    for h in rows[:LIST_LIMIT]:
        days = ledger.days_overdue(h, today)
        lines.append(
            ctx.t(
                "hazard.list_line",
                ticket=h.ticket,
                status=ledger.status_label(h.status),
                description=_short(h.description),
                owner=display(ctx.session, h.owner) or unset,
                deadline=h.deadline.isoformat() if h.deadline else unset,
                overdue=ctx.t("hazard.list_overdue", days=days) if days else "",
            )
        )
    if len(rows) > LIST_LIMIT:
        lines.append(ctx.t("hazard.list_more", count=len(rows) - LIST_LIMIT))
    return "\n".join(lines)


def view(ctx: Context, h: HazardReport) -> str:
    s, unset = ctx.session, ctx.t("hazard.unset")
    counts = ledger.photo_counts(s, h)
    lines = [
        ctx.t(
            "hazard.view",
            ticket=h.ticket,
            status=ledger.status_label(h.status),
            reporter=display(s, h.reporter),
            department=department_name(s, h.department_id) or "-",
            reported_at=ledger.fmt_time(ctx.settings, h.reported_at),
            category=ledger.category_label(h.category),
            location=h.location or ctx.t("hazard.no_location"),
            description=h.description,
            item=h.item or unset,
            measure=h.measure or unset,
            funds=h.funds or unset,
            owner=display(s, h.owner) or unset,
            deadline=h.deadline.isoformat() if h.deadline else unset,
            rechecker=display(s, h.rechecker) or unset,
            photos=counts["report"],
            fix_photos=counts["rectify"],
        )
    ]
    lines.append(ctx.t("hazard.view_history_title"))
    for tr in ledger.history(s, h):
        lines.append(
            ctx.t(
                "hazard.view_history_line",
                at=ledger.fmt_time(ctx.settings, tr.at),
                actor=display(s, tr.actor),
                action=ledger.action_label(tr.action),
                note=f"（{tr.note}）" if tr.note else "",
            )
        )
    return "\n".join(lines)


def _resolve(ctx: Context, who: str) -> tuple[str | None, str | None]:
    """(userid, None) or (None, the reply explaining why not)."""
    users = find_users(ctx.session, who)
    if not users:
        return None, ctx.t("hazard.who_unknown", who=who)
    if len(users) > 1:
        choices = "\n".join(
            f"{u.name}（{department_name(ctx.session, u.department_id) or '-'}）：{u.userid}"
            for u in users
        )
        return None, ctx.t("hazard.who_ambiguous", count=len(users), who=who, choices=choices)
    return users[0].userid, None


def assign(ctx: Context, hazard: HazardReport, text: str) -> str:
    head, options = ledger.split_options(text)
    words = head.split()
    owner_text = options.pop("owner", None) or (words[0] if words else "")
    deadline_text = options.pop("deadline", None) or (words[1] if len(words) > 1 else "")
    if not owner_text or not deadline_text:
        return ctx.t("hazard.assign_usage", ticket=hazard.ticket)
    deadline = ledger.parse_deadline(deadline_text, ctx.today)
    if deadline is None:
        return ctx.t("hazard.bad_deadline", text=deadline_text)
    if deadline < ctx.today:
        return ctx.t("hazard.past_deadline", deadline=deadline.isoformat())
    owner, problem = _resolve(ctx, owner_text)
    if problem:
        return problem
    rechecker = None
    if options.get("rechecker"):
        rechecker, problem = _resolve(ctx, options["rechecker"])
        if problem:
            return problem
    try:
        ledger.assign(
            ctx.session,
            ctx.settings,
            hazard,
            actor=ctx.userid,
            now=ctx.now,
            owner=owner or "",
            deadline=deadline,
            rechecker=rechecker,
            measure=options.get("measure"),
            funds=options.get("funds"),
            item=options.get("item"),
        )
    except states.TransitionRefused as exc:
        return _refused(ctx, hazard, "assign", exc)
    ctx.audit("hazard:assign", detail=f"{hazard.ticket} {text}"[:500])
    return ctx.t(
        "hazard.assigned",
        ticket=hazard.ticket,
        owner=display(ctx.session, owner),
        deadline=deadline.isoformat(),
        rechecker=display(ctx.session, hazard.rechecker) or ctx.t("hazard.unset"),
    )


def raw_text(msg: IncomingMessage) -> str:
    """What the user typed, spaces collapsed but Chinese punctuation kept (NFKC would turn
    "，" into ","): descriptions, locations and notes are stored as written."""
    return _collapsed(msg.content)


def _collapsed(text: str | None) -> str:
    return " ".join((text or "").split())


def _short(text: str, n: int = 30) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[:n] + "…"


# -- figures, jobs, export, registration --------------------------------------------------------
def register(router: Router) -> None:
    router.command("隐患")(handle_hazard)
    router.command("我的隐患", "我的上报")(handle_my_hazards)
    # A command typed alone ("帮助") is not a description, location or fix note; while photos
    # or a category are expected, any command is.
    router.flow(FLOW, interrupt="bare", steps={"photos": "any", "category": "any"})(flow_report)
    router.flow(FIX_FLOW, interrupt="bare")(flow_fix)
    router.card("hazard:")(handle_card)
    router.prefetch("image")(prefetch_photo)
