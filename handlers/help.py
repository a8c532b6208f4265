"""帮助 (help), the welcome on entering the app, greetings, and the answer to anything not
understood: a near miss of a command keyword (帮主, 答提, 打 卡) gets "did you mean …", any
other text is a question to the knowledge base (bot.knowledge)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.context import Context
from bot.knowledge import answers
from bot.messages import IncomingMessage, Reply
from bot.router import Command, Router
from bot.text import normalize

KIND_LABELS = {
    "image": "图片",
    "voice": "语音",
    "video": "视频",
    "file": "文件",
    "location": "位置",
    "link": "链接",
}
GREETINGS = {
    "你好", "您好", "你们好", "在吗", "在不在", "在么", "有人吗", "嗨", "哈喽", "哈啰",
    "早", "早上好", "上午好", "中午好", "下午好", "晚上好", "hi", "hello", "hey", "nihao",
}  # fmt: skip
# Words that end a conversation; typed outside one there is nothing to end.
END_WORDS = {"结束", "取消", "退出", "停止", "算了", "不用了"}
_TRAILING = re.compile(r"[\s!！。.,，~～?？呀啊呢哦吖]+$")
_SPACES = re.compile(r"\s+")
MAX_SUGGESTIONS = 3


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
    return Reply.text(ctx.t("welcome", name=_name(ctx)))


def _name(ctx: Context) -> str:
    return f" {ctx.user.name}" if ctx.user and ctx.user.name else ""


def edits_apart(a: str, b: str) -> int | None:
    """0 if equal, 1 if one insertion, deletion or substitution turns `a` into `b`, else
    None: the only distances near_commands asks about, in one pass instead of the full
    Levenshtein table (it ran for every keyword of every unrecognised message)."""
    if a == b:
        return 0
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return None
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    # Past the first difference the rest must match: after a substitution if the lengths
    # are equal, after skipping b's extra character if not.
    rest_b = b[i + 1 :]
    rest_a = a[i + 1 :] if len(a) == len(b) else a[i:]
    return 1 if rest_a == rest_b else None


def near_commands(text: str, commands: Sequence[Command], is_admin: bool) -> list[str]:
    """Command keywords within one edit of `text` (spaces ignored), closest first."""
    word = _SPACES.sub("", text).lower()
    if not word or len(word) > 8:
        return []
    scored: dict[str, tuple[int, int]] = {}
    for cmd in commands:
        if cmd.admin and not is_admin:
            continue
        for keyword in cmd.keywords:
            if len(keyword) < 2 or (keyword.isascii() and len(keyword) < 4):
                continue
            if abs(len(word) - len(keyword)) > 1:
                continue  # more than one edit apart whatever the letters (most keywords)
            distance = edits_apart(word, keyword.lower())
            if distance is not None:
                rank = (distance, -cmd.priority)
                scored[keyword] = min(scored.get(keyword, rank), rank)
    best = min((rank[0] for rank in scored.values()), default=1)
    near = [k for k in scored if scored[k][0] == best]  # 打 卡 is 打卡, not also 打分
    return sorted(near, key=lambda k: scored[k])[:MAX_SUGGESTIONS]


def handle_unknown(msg: IncomingMessage, ctx: Context, commands: Sequence[Command] = ()) -> Reply:
    if msg.msg_type == "text":
        text = normalize(msg.content)
        bare = _TRAILING.sub("", text).lower() or text.lower()
        if bare in GREETINGS:
            return Reply.text(ctx.t("help.greeting", name=_name(ctx)) + "\n" + help_text(ctx))
        if bare in END_WORDS:
            return Reply.text(ctx.t("help.nothing_to_end"))
        near = near_commands(bare, commands, ctx.is_admin)
        if near:
            joined = ctx.t("help.did_you_mean_or").join(f"「{k}」" for k in near)
            return Reply.text(ctx.t("help.did_you_mean", commands=joined))
        if any(not c.isascii() for c in text) or len(text) > 3:
            # Anything else written is taken as a safety question (bot.knowledge).
            return Reply.text(answers.respond(ctx.session, ctx.userid, text, ctx.now))
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
    # The list itself, not a copy: the features registered after this one fill it.
    commands = router.commands

    def fallback(msg: IncomingMessage, ctx: Context) -> Reply:
        return handle_unknown(msg, ctx, commands)

    router.set_fallback(fallback)
