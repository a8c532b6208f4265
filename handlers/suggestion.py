"""建议 (safety suggestions): anyone proposes, a safety officer answers with 回复 JY-… and
adopts one with 建议 采纳 JY-… [说明] (the proposer earns points)."""

from __future__ import annotations

from bot import suggestion as suggestions
from bot.context import Context
from bot.localtime import stamp
from bot.messages import IncomingMessage, Reply
from bot.people import display
from bot.router import Router
from bot.text import normalize

FLOW = "suggestion"
CANCEL_WORDS = {"取消", "退出", "算了"}
ADOPT_WORD = "采纳"


def record_suggestion(ctx: Context, content: str) -> Reply:
    suggestion = suggestions.record(
        ctx.session,
        ctx.settings,
        proposer=ctx.userid,
        proposer_name=ctx.display_name,
        department_id=ctx.user.department_id if ctx.user else None,
        content=content,
        now=ctx.now,
    )
    return Reply.text(ctx.t("suggestion.recorded", ticket=suggestion.ticket))


def handle_suggest(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    first, _, rest = args.partition(" ")
    if first == ADOPT_WORD and suggestions.parse(rest.partition(" ")[0]):
        return handle_adopt(msg, ctx, " ".join(ctx.raw_args.split()).partition(" ")[2] or rest)
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
    ticket = suggestions.parse(ticket_text)
    content = content.strip()
    if ticket is None or not content:
        return Reply.text(ctx.t("suggestion.reply_usage"))
    suggestion = suggestions.get_by_ticket(ctx.session, ticket)
    if suggestion is None:
        return Reply.text(ctx.t("suggestion.not_found", ticket=ticket))
    suggestions.reply(
        ctx.session,
        suggestion,
        replier=ctx.userid,
        replier_name=ctx.display_name,
        content=content,
        now=ctx.now,
    )
    ctx.audit("suggestion:reply", detail=f"{ticket} {content}"[:500])
    return Reply.text(
        ctx.t(
            "suggestion.replied", ticket=ticket, proposer=display(ctx.session, suggestion.proposer)
        )
    )


def handle_adopt(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    """建议 采纳 JY-… [说明], for safety officers."""
    if not ctx.is_admin:
        ctx.audit("refused:suggestion:adopt", detail=normalize(msg.content)[:500], allowed=False)
        return Reply.text(ctx.t("suggestion.adopt_not_officer"))
    ticket_text, _, note = args.partition(" ")
    ticket = suggestions.parse(ticket_text)
    if ticket is None:
        return Reply.text(ctx.t("suggestion.adopt_usage"))
    suggestion = suggestions.get_by_ticket(ctx.session, ticket)
    if suggestion is None:
        return Reply.text(ctx.t("suggestion.not_found", ticket=ticket))
    proposer = display(ctx.session, suggestion.proposer)
    if not suggestions.adopt(
        ctx.session,
        suggestion,
        adopter=ctx.userid,
        adopter_name=ctx.display_name,
        note=note,
        now=ctx.now,
    ):
        return Reply.text(ctx.t("suggestion.already_adopted", ticket=ticket))
    ctx.audit("suggestion:adopt", detail=f"{ticket} {note}".strip()[:500])
    return Reply.text(
        ctx.t(
            "suggestion.adopted",
            ticket=ticket,
            proposer=proposer,
            points=suggestions.ADOPT_POINTS,
        )
    )


def handle_mine(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    rows, total = suggestions.proposed_by(ctx.session, ctx.userid, limit=10)
    if not rows:
        return Reply.text(ctx.t("suggestion.mine_empty"))
    lines = [ctx.t("suggestion.mine_title", count=total)]
    for s in rows:
        created = stamp(s.created_at, ctx.settings.tz, "%m-%d")
        content = s.content if len(s.content) <= 40 else s.content[:40] + "…"
        lines.append(
            ctx.t("suggestion.mine_line", ticket=s.ticket, created=created, content=content)
        )
        if s.adopted_at is not None:
            lines.append(ctx.t("suggestion.mine_adopted", points=suggestions.ADOPT_POINTS))
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
    # "帮助" alone is not a suggestion; another command pauses it (「继续」 brings it back).
    router.flow(FLOW, interrupt="bare", resume=resume_suggestion)(flow_suggestion)


def resume_suggestion(ctx: Context) -> str:
    return ctx.t("suggestion.ask_content")
