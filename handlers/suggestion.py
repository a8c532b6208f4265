"""建议 (safety suggestions): anyone proposes, a safety officer answers with 回复 JY-… ."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from bot.context import Context
from bot.directory import officer_ids
from bot.hazard.people import department_name, display
from bot.hazard.tickets import next_ticket, parse_ticket
from bot.messages import IncomingMessage, Reply
from bot.models import Suggestion, SuggestionReply
from bot.router import Router
from bot.text import normalize

FLOW = "suggestion"
PREFIX = "JY"
CANCEL_WORDS = {"取消", "退出", "算了"}


def record_suggestion(ctx: Context, content: str) -> Reply:
    day = ctx.now.astimezone(ctx.settings.tz).date()
    suggestion = Suggestion(
        ticket=next_ticket(ctx.session, PREFIX, day),
        proposer=ctx.userid,
        department_id=ctx.user.department_id if ctx.user else None,
        content=content.strip()[:2000],
        created_at=ctx.now,
    )
    ctx.session.add(suggestion)
    ctx.session.flush()
    officers = [u for u in officer_ids(ctx.session, ctx.settings) if u != ctx.userid]
    if officers:
        text = ctx.t(
            "suggestion.officer_new",
            ticket=suggestion.ticket,
            proposer=ctx.display_name,
            department=department_name(ctx.session, suggestion.department_id) or "-",
            content=suggestion.content,
        )
        ctx.send(
            officers,
            {"msgtype": "text", "text": {"content": text}},
            source="suggestion:new",
            dedup_key=f"suggestion:new:{suggestion.ticket}",
        )
    return Reply.text(ctx.t("suggestion.recorded", ticket=suggestion.ticket))


def handle_suggest(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    if args:
        return record_suggestion(ctx, " ".join(ctx.raw_args.split()) or args)
    ctx.start_flow(FLOW, "content", {})
    return Reply.text(ctx.t("suggestion.ask_content"))


def flow_suggestion(msg: IncomingMessage, ctx: Context) -> Reply | None:
    if msg.msg_type != "text":
        return Reply.text(ctx.t("suggestion.ask_content"))
    text = normalize(msg.content)
    if text in CANCEL_WORDS:
        ctx.end_flow()
        return Reply.text(ctx.t("suggestion.cancelled"))
    if not text:
        return Reply.text(ctx.t("suggestion.ask_content"))
    ctx.end_flow()
    return record_suggestion(ctx, " ".join(msg.content.split()))


def handle_reply(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    ticket_text, _, content = (" ".join(ctx.raw_args.split()) or args).partition(" ")
    ticket = parse_ticket(ticket_text, PREFIX)
    content = content.strip()
    if ticket is None or not content:
        return Reply.text(ctx.t("suggestion.reply_usage"))
    suggestion = ctx.session.scalar(select(Suggestion).where(Suggestion.ticket == ticket))
    if suggestion is None:
        return Reply.text(ctx.t("suggestion.not_found", ticket=ticket))
    ctx.session.add(
        SuggestionReply(
            suggestion_id=suggestion.id, replier=ctx.userid, content=content[:2000], at=ctx.now
        )
    )
    notice = ctx.t(
        "suggestion.reply_notice", ticket=ticket, content=content, replier=ctx.display_name
    )
    ctx.send(
        [suggestion.proposer],
        {"msgtype": "text", "text": {"content": notice}},
        source="suggestion:reply",
    )
    ctx.audit("suggestion:reply", detail=f"{ticket} {content}"[:500])
    return Reply.text(
        ctx.t(
            "suggestion.replied", ticket=ticket, proposer=display(ctx.session, suggestion.proposer)
        )
    )


def handle_mine(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    rows = list(
        ctx.session.scalars(
            select(Suggestion)
            .where(Suggestion.proposer == ctx.userid)
            .options(selectinload(Suggestion.replies))
            .order_by(Suggestion.id.desc())
            .limit(10)
        )
    )
    if not rows:
        return Reply.text(ctx.t("suggestion.mine_empty"))
    total = ctx.session.scalar(
        select(func.count()).select_from(Suggestion).where(Suggestion.proposer == ctx.userid)
    )
    lines = [ctx.t("suggestion.mine_title", count=total)]
    for s in rows:
        created = s.created_at.astimezone(ctx.settings.tz).strftime("%m-%d")
        content = s.content if len(s.content) <= 40 else s.content[:40] + "…"
        lines.append(
            ctx.t("suggestion.mine_line", ticket=s.ticket, created=created, content=content)
        )
        if s.replies:
            lines += [
                ctx.t(
                    "suggestion.mine_reply",
                    replier=display(ctx.session, r.replier),
                    content=r.content,
                )
                for r in s.replies
            ]
        else:
            lines.append(ctx.t("suggestion.mine_no_reply"))
    return Reply.text("\n".join(lines))


def register(router: Router) -> None:
    router.command("建议", "安全建议")(handle_suggest)
    router.command("我的建议", exact=True)(handle_mine)
    router.command("回复", admin=True)(handle_reply)
    router.flow(FLOW, interrupt="bare")(flow_suggestion)  # "帮助" alone is not a suggestion
