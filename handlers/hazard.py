"""隐患 (hazard reports) for everyone: the report conversation, photos, 我的隐患, and the
owner's fix conversation. The officers' side (隐患 列表/查看/指派/… and the ledger cards) is
handlers.hazard_officer.

`隐患 <描述>` / `隐患` start the report conversation (description → photos → location →
category), kept in the database so it survives a restart. The first word after 隐患 decides
between a report and an officer command: `隐患 列表`, `隐患 受理 YH-…` etc. are ledger
commands; anything else is the description of a new hazard.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.context import PAUSED, Context
from bot.hazard import labels, ledger, photos, queries, states
from bot.messages import IncomingMessage, Reply
from bot.models import Conversation
from bot.router import Router
from bot.text import normalize
from handlers import hazard_officer
from handlers.hazard_officer import FIX_FLOW, refused, short

FLOW = "hazard"
CANCEL_WORDS = {"取消", "退出", "算了", "不报了"}
DONE_WORDS = {"好了", "完成", "好", "ok", "OK", "发完了", "没有了", "继续"}
# The owner's fix takes photos and notes until one of these.
FIX_DONE_WORDS = {"完成", "好了", "好", "ok", "OK", "发完了", "没有了", "提交", "整改完成"}
SKIP_WORDS = {"跳过", "无", "没有", "不用", "略过"}
MAX_PHOTOS = 9


# -- entry points -------------------------------------------------------------------------------
def handle_hazard(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    first, _, rest = args.partition(" ")
    sub = hazard_officer.ADMIN_SUBCOMMANDS.get(first)
    if sub is not None:
        if not ctx.is_admin:
            ctx.audit("refused:hazard:" + sub, detail=normalize(msg.content)[:500], allowed=False)
            return Reply.text(ctx.t("hazard.not_officer", command=first))
        raw_first, _, raw_rest = _collapsed(ctx.raw_args).partition(" ")
        return hazard_officer.run_admin(
            ctx, sub, first, (raw_rest if raw_first == first else rest).strip()
        )
    conv = ctx.conversation
    # A photo sent before 隐患 opened a draft: its photos go into this report.
    kept = list((conv.data or {}).get("photos") or []) if conv and conv.flow == FLOW else []
    if args:
        description = _collapsed(ctx.raw_args) or args
        ctx.start_flow(FLOW, "photos", {"description": description, "photos": kept})
        return Reply.text(_ask_photos(ctx, kept))
    ctx.start_flow(FLOW, "describe", {"photos": kept})
    return Reply.text(ctx.t("hazard.ask_description"))


def handle_photo(msg: IncomingMessage, ctx: Context) -> Reply:
    """A photo outside a conversation starts a report from it (or goes into a paused one)."""
    conv = ctx.conversation
    if conv is not None and conv.flow == FLOW and ctx.paused:
        ctx.resume_flow()
        return flow_report(msg, ctx)
    ctx.start_flow(FLOW, "describe", {"photos": []})
    _take_photo(msg, ctx, {"photos": []})
    return Reply.text(ctx.t("hazard.photo_first"))


def _ask_photos(ctx: Context, items: list[dict[str, Any]]) -> str:
    if items:
        return ctx.t("hazard.ask_more_photos", count=len(items))
    return ctx.t("hazard.ask_photos")


def handle_my_hazards(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    rows, total = queries.reported_by(ctx.session, ctx.userid, limit=20)
    if not rows:
        return Reply.text(ctx.t("hazard.mine_empty"))
    lines = [ctx.t("hazard.mine_title", count=total)]
    lines += [
        ctx.t(
            "hazard.mine_line",
            ticket=h.ticket,
            status=states.status_label(h.status),
            description=short(h.description),
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
            reply.add_text(ctx.t("hazard.ask_category", options=labels.category_options()))
        return reply

    if step == "describe":
        if msg.msg_type != "text" or not text:
            return Reply.text(ctx.t("hazard.ask_description"))
        description = raw_text(msg)
        if description.startswith("隐患") and len(description) > 2:
            description = description[2:].lstrip(" :：,，")
        ctx.set_step("photos", description=description)
        return Reply.text(_ask_photos(ctx, data.get("photos") or []))

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
            return Reply.text(ctx.t("hazard.ask_category", options=labels.category_options()))
        ctx.set_step("category", location=raw_text(msg)[:255])
        return Reply.text(ctx.t("hazard.ask_category", options=labels.category_options()))

    if step == "category":
        category = "other" if text in SKIP_WORDS else labels.parse_category(text)
        if category is None:
            return Reply.text(ctx.t("hazard.category_hint", max=len(labels.CATEGORIES)))
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
        # No conversation (or a paused one): the photo starts a report (handle_photo).
        busy = conv is not None and not (conv.data or {}).get(PAUSED)
        if busy and conv.flow not in (FLOW, FIX_FLOW):
            return None
    return photos.fetch_now(runtime, msg.media_id)


def prefetched_photo(msg: IncomingMessage, ctx: Context) -> tuple[Any, str]:
    if ctx.prefetched is None:
        # Not fetched before the transaction: record it as pending for the retry job.
        return None, "not downloaded yet"
    return ctx.prefetched


def _take_photo(msg: IncomingMessage, ctx: Context, data: dict[str, Any]) -> Reply:
    stored, error = prefetched_photo(msg, ctx)
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
    return Reply.text(ctx.t("hazard.ask_category", options=labels.category_options()))


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
            category=labels.category_label(hazard.category),
            location=hazard.location or ctx.t("hazard.no_location"),
            photos=len(items),
        )
    )


# -- the owner's fix conversation -------------------------------------------------------------
def flow_fix(msg: IncomingMessage, ctx: Context) -> Reply | None:
    """Photos and a note, in either order, until the owner says 完成."""
    conv = ctx.conversation
    assert conv is not None
    data: dict[str, Any] = dict(conv.data or {})
    ticket = data.get("ticket", "")
    text = normalize(msg.content) if msg.msg_type == "text" else ""
    if msg.msg_type == "text" and text in CANCEL_WORDS:
        ctx.end_flow()
        return Reply.text(ctx.t("hazard.fix_cancelled", ticket=ticket))
    if msg.msg_type == "image":
        stored, error = prefetched_photo(msg, ctx)
        values = photos.photo_values(msg.media_id, stored, error, ctx.now)
        item = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}
        items = [p for p in (data.get("photos") or []) if p.get("media_id") != msg.media_id]
        ctx.set_step(conv.step, photos=[*items, item])
        return Reply.text(ctx.t("hazard.fix_photo_saved", count=len(items) + 1))
    if msg.msg_type != "text" or not text:
        return Reply.text(ctx.t("hazard.fix_ask"))
    if text not in FIX_DONE_WORDS:
        note = "；".join(filter(None, [data.get("note") or "", raw_text(msg)]))
        ctx.set_step(conv.step, note=note[:2000])
        return Reply.text(ctx.t("hazard.fix_note_saved"))
    items = ledger.photos_from_flow(data.get("photos") or [])
    note = data.get("note") or ""
    if not items and not note:
        return Reply.text(ctx.t("hazard.fix_need_proof"))
    hazard = queries.get_by_ticket(ctx.session, ticket, lock=True)
    ctx.end_flow()
    if hazard is None:
        return Reply.text(ctx.t("hazard.not_found", ticket=ticket))
    for values in items:
        ledger.add_photo(ctx.session, hazard, "rectify", values)
    try:
        ledger.change(
            ctx.session,
            ctx.settings,
            hazard,
            "finish",
            actor=ctx.userid,
            now=ctx.now,
            note=note,
            has_photo=bool(items),
        )
    except states.TransitionRefused as exc:
        return Reply.text(refused(ctx, hazard, "finish", exc))
    return Reply.text(ctx.t("hazard.fix_done", ticket=hazard.ticket, photos=len(items)))


def resume_report(ctx: Context) -> str:
    """The question of the step a paused report is at (「继续」)."""
    step = ctx.conversation.step if ctx.conversation else ""
    if step == "describe":
        return ctx.t("hazard.ask_description")
    if step == "photos":
        return ctx.t("hazard.photos_hint")
    if step == "location":
        return ctx.t("hazard.ask_location")
    return ctx.t("hazard.ask_category", options=labels.category_options())


def resume_fix(ctx: Context) -> str:
    return ctx.t("hazard.fix_ask")


def raw_text(msg: IncomingMessage) -> str:
    """What the user typed, spaces collapsed but Chinese punctuation kept (NFKC would turn
    "，" into ","): descriptions, locations and notes are stored as written."""
    return _collapsed(msg.content)


def _collapsed(text: str | None) -> str:
    return " ".join((text or "").split())


# -- registration -------------------------------------------------------------------------------
def register(router: Router) -> None:
    router.command("隐患")(handle_hazard)
    router.command("我的隐患", "我的上报")(handle_my_hazards)
    # A command typed alone ("帮助") is not a description, location or fix note; while photos
    # or a category are expected, any command is.
    # Another command pauses the conversation (bot.router); 「继续」 brings it back.
    router.flow(
        FLOW,
        interrupt="bare",
        steps={"photos": "any", "category": "any"},
        resume=resume_report,
    )(flow_report)
    router.flow(FIX_FLOW, interrupt="bare", resume=resume_fix)(flow_fix)
    router.prefetch("image")(prefetch_photo)
    router.message("image")(handle_photo)
