"""物资检查 (the keeper's inspection of emergency supplies), 物资 and 预案 (officers' lists).

`物资检查` walks the keeper through their items due for inspection, one at a time: 正常,
数量 N (a non-negative whole number), 过期 or 损坏. Progress is one row per item per day.
"""

from __future__ import annotations

from datetime import timedelta

from bot.context import Context
from bot.drills import registers, supplies
from bot.drills.common import DrillRefused
from bot.messages import IncomingMessage, Reply
from bot.router import Router
from bot.text import normalize

FLOW = "drills_supplies"
FLOW_TIMEOUT = timedelta(hours=2)
STOP_WORDS = {"暂停", "退出", "停止", "稍后", "先到这"}


def handle_check(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    tz = ctx.settings.tz
    items = supplies.to_check(ctx.session, ctx.userid, ctx.today, tz)
    if not items:
        return Reply.text(ctx.t("drills.supplies.nothing"))
    ctx.start_flow(FLOW, "check", {"items": [s.id for s in items]}, timeout=FLOW_TIMEOUT)
    head = ctx.t("drills.supplies.begin", count=len(items))
    return Reply.text(head + "\n" + _next(ctx))


def _next(ctx: Context) -> str:
    ids = list((ctx.conversation.data or {}).get("items") or [])
    supply = supplies.next_unchecked(ctx.session, ids, ctx.today)
    if supply is None:
        ctx.end_flow()
        return ctx.t("drills.supplies.done", count=len(ids))
    return supplies.item_text(supply, ids.index(supply.id) + 1, len(ids))


def flow_check(msg: IncomingMessage, ctx: Context) -> Reply | None:
    ids = list((ctx.conversation.data or {}).get("items") or [])
    supply = supplies.next_unchecked(ctx.session, ids, ctx.today)
    if supply is None:
        ctx.end_flow()
        return None
    text = normalize(msg.content) if msg.msg_type == "text" else ""
    if text in STOP_WORDS:
        ctx.end_flow()
        return Reply.text(ctx.t("drills.supplies.stopped"))
    try:
        parsed = supplies.parse_check(text)
    except DrillRefused as exc:
        return Reply.text(exc.text() + "\n" + _next(ctx))
    if parsed is None:
        return Reply.text(ctx.t("drills.supplies.hint") + "\n" + _next(ctx))
    result, n = parsed
    supplies.record_check(ctx.session, supply, result, n, ctx.userid, ctx.now, ctx.today)
    return Reply.text(
        ctx.t(f"drills.supplies.recorded_{result}", name=supply.name) + "\n" + _next(ctx)
    )


def resume_check(ctx: Context) -> str:
    return _next(ctx)


def handle_supplies(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    return Reply.text(registers.supply_list_text(ctx.session, ctx.today))


def handle_plans(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    return Reply.text(registers.plan_list_text(ctx.session, ctx.today))


def register(router: Router) -> None:
    router.command("物资检查", "应急物资检查", exact=True)(handle_check)
    router.command("物资", "应急物资", admin=True, exact=True)(handle_supplies)
    router.command("预案", "应急预案", admin=True, exact=True)(handle_plans)
    router.flow(FLOW, interrupt="bare", resume=resume_check)(flow_check)
