"""帮助 (help), the welcome on entering the app, and the answer to anything not understood."""

from __future__ import annotations

from bot.context import Context
from bot.messages import IncomingMessage, Reply
from bot.router import Router
from bot.text import normalize

KIND_LABELS = {
    "image": "图片",
    "voice": "语音",
    "video": "视频",
    "file": "文件",
    "location": "位置",
    "link": "链接",
}


def help_text(ctx: Context) -> str:
    lines = [ctx.t("help.title")]
    lines += [f"· {item}" for item in ctx.texts.raw("help.items")]
    if ctx.is_admin:
        lines += ["", ctx.t("help.admin_title")]
        lines += [f"· {item}" for item in ctx.texts.raw("help.admin_items")]
    lines += ["", ctx.t("help.footer")]
    return "\n".join(lines)


def handle_help(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    return Reply.text(help_text(ctx))


def handle_enter_agent(msg: IncomingMessage, ctx: Context) -> Reply:
    name = f" {ctx.user.name}" if ctx.user and ctx.user.name else ""
    return Reply.text(ctx.t("welcome", name=name))


def handle_unknown(msg: IncomingMessage, ctx: Context) -> Reply:
    if msg.msg_type == "text":
        text = normalize(msg.content)
        shown = text if len(text) <= 20 else text[:20] + "…"
        return Reply.text(ctx.t("unknown", text=shown))
    if msg.is_event:
        return Reply.text(ctx.t("unknown_event"))
    return Reply.text(ctx.t("unknown_media", kind=KIND_LABELS.get(msg.msg_type, "消息")))


def handle_other_event(msg: IncomingMessage, ctx: Context) -> Reply | None:
    # subscribe/unsubscribe/LOCATION reports etc.: nothing to say.
    return None


def register(router: Router) -> None:
    # always: 帮助 answers in every conversation (check-in location, surveys …) and leaves it.
    router.command(
        "帮助", "菜单", "help", "?", "功能", "说明", priority=10, exact=True, always=True
    )(handle_help)
    router.event("enter_agent")(handle_enter_agent)
    router.event("subscribe", "unsubscribe", "location", "view")(handle_other_event)
    router.set_fallback(handle_unknown)
