"""Questions to the bot (问答): 1/2/3 after an answer, 转人工, and the officers' 回复 WT-… .

A question itself is any text that is no command and no conversation's: help's fallback
answers it (handlers.help.handle_unknown), after greetings and did-you-mean.
"""

from __future__ import annotations

from bot.context import Context
from bot.knowledge import answers, tickets
from bot.messages import IncomingMessage, Reply
from bot.people import display
from bot.router import Router
from bot.text import normalize

NUMBERS = {"一": 1, "二": 2, "三": 3, "两": 2}


def handle_number(msg: IncomingMessage, ctx: Context) -> Reply | None:
    """「2」 right after an answer shows the second related question; else it is no follow-up
    and passes on (to the fallback)."""
    text = normalize(msg.content).strip("第个条")
    number = NUMBERS.get(text) or (int(text) if text.isdigit() else 0)
    found = answers.followup(ctx.session, ctx.userid, number, ctx.now)
    return Reply.text(found) if found is not None else None


def handle_human(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    """转人工 [问题]: the question (typed after it, or the one just asked) goes to the
    safety officers as a WT ticket."""
    question = " ".join(ctx.raw_args.split()) or args
    asked = None if question else answers.last_question(ctx.session, ctx.userid, ctx.now)
    if not question and asked is None:
        return Reply.text(ctx.t("knowledge.human_usage"))
    ticket, created = tickets.hand_over(
        ctx.session,
        ctx.settings,
        asker=ctx.userid,
        asker_name=ctx.display_name,
        department_id=ctx.user.department_id if ctx.user else None,
        question=question or (asked.text if asked else ""),
        asked=asked,
        now=ctx.now,
    )
    key = "knowledge.human_created" if created else "knowledge.human_exists"
    return Reply.text(ctx.t(key, ticket=ticket.ticket))


def handle_reply(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    ticket_text, _, content = (" ".join(ctx.raw_args.split()) or args).partition(" ")
    number = tickets.parse(ticket_text)
    content = content.strip()
    if number is None or not content:
        return Reply.text(ctx.t("knowledge.reply_usage"))
    ticket = tickets.get_by_ticket(ctx.session, number)
    if ticket is None:
        return Reply.text(ctx.t("knowledge.reply_not_found", ticket=number))
    tickets.answer(
        ctx.session,
        ticket,
        replier=ctx.userid,
        replier_name=ctx.display_name,
        content=content,
        now=ctx.now,
    )
    ctx.audit("question:reply", detail=f"{number} {content}"[:500])
    return Reply.text(
        ctx.t("knowledge.replied", ticket=number, asker=display(ctx.session, ticket.asker))
    )


def register(router: Router) -> None:
    router.command("转人工", "人工客服", "找人工")(handle_human)
    # 回复 JY-… is the suggestions'; this one takes only WT tickets.
    router.command("回复", admin=True, priority=60, accepts=tickets.is_reply)(handle_reply)
    router.pattern(r"第?[1-9一二三两]个?条?")(handle_number)
