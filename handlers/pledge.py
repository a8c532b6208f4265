"""责任书: read and sign the 安全生产责任书 (text or card), 我的签署, signing rounds.

Admins launch a round (「责任书 发起」 or `safetybot pledge launch`); the hourly
`pledge_reminders` job (bot.pledge.reminders) reminds and escalates.
"""

from __future__ import annotations

from bot.context import Context
from bot.localtime import label, stamp
from bot.messages import IncomingMessage, Reply
from bot.people import department_names
from bot.pledge import cards, signing
from bot.pledge.completion import completion_text
from bot.pledge.members import parse_departments, text_for
from bot.pledge.rounds import launch
from bot.pledge.texts import SHORT_HASH, PledgeContent, titles
from bot.router import Router

SIGN_WORDS = ("确认签署", "签署", "同意签署", "我承诺")


def my_text(ctx: Context) -> PledgeContent:
    return text_for(ctx.roles, ctx.user)


def _hash_values(t: PledgeContent) -> dict[str, str]:
    return {"title": t.title, "version": t.version, "hash": t.short_hash}


def _card(ctx: Context, t: PledgeContent, task_id: str, **extra) -> dict:
    return cards.sign_card(
        t,
        task_id=task_id,
        description=ctx.t("pledge.card_desc"),
        button=ctx.t("pledge.card_button"),
        **extra,
    )


# -- 责任书 -------------------------------------------------------------------------------------
def handle_pledge(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    if args.startswith("发起"):
        if not ctx.is_admin:
            ctx.audit("refused:责任书发起", detail=args[:500], allowed=False)
            return Reply.text(ctx.t("not_admin", command="责任书 发起"))
        return handle_launch(ctx, args[2:].strip())
    if args.startswith("统计") and ctx.is_admin:
        return Reply.text(completion_text(ctx.t, ctx.session))
    return _show(msg, ctx, my_text(ctx))


def _show(msg: IncomingMessage, ctx: Context, t: PledgeContent, *lead: str) -> Reply:
    """The full text, then how to sign and the card; the showing is recorded (a typed
    确认 signs only a text this person was shown)."""
    reply = Reply.texts(*lead, *cards.text_parts(t))
    done = signing.find_signature(ctx.session, ctx.userid, t.hash)
    if done is not None:
        return reply.add_text(
            ctx.t(
                "pledge.already_signed_note",
                when=label(done.signed_at, ctx.settings.tz),
                version=t.version,
                hash=t.short_hash,
            )
        )
    signing.record_view(ctx.session, ctx.userid, t.hash, channel="chat", now=ctx.now)
    reply.add_text(ctx.t("pledge.how_to_sign", **_hash_values(t)))
    task_id = cards.task_id_for("show", ctx.userid, t.hash, ctx.now.isoformat(), msg.msg_id)
    return reply.add(cards.card_message(_card(ctx, t, task_id)))


def _sign_reply(ctx: Context, t: PledgeContent, channel: str) -> Reply:
    assert ctx.user is not None
    view = signing.last_view(ctx.session, ctx.userid, t.hash)
    result = signing.sign(ctx.session, ctx.user, t, channel=channel, now=ctx.now)
    when = label(result.signature.signed_at, ctx.settings.tz)
    if result.created:
        # What was shown and when (a card carries the text's number itself).
        channels = ctx.texts.raw("pledge.shown_channels")
        shown = ctx.t(
            "pledge.audit_shown",
            channel=channels.get(view.channel if view else channel, channel),
            when=stamp(view.shown_at if view else ctx.now, ctx.settings.tz),
        )
        role = ctx.texts.raw("pledge.roles").get(t.key, t.title)
        detail = ctx.t(
            "pledge.audit_signed", role=role, version=t.version, hash=t.hash, shown=shown
        )
        ctx.audit("pledge:sign", detail=detail)
        return Reply.text(ctx.t("pledge.signed", when=when, **_hash_values(t)))
    return Reply.text(ctx.t("pledge.already_signed", when=when, **_hash_values(t)))


def handle_sign_text(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    """确认 / 签署 typed: signs only the text this person was shown; otherwise show it first."""
    t = my_text(ctx)
    if signing.find_signature(ctx.session, ctx.userid, t.hash) is None and (
        signing.last_view(ctx.session, ctx.userid, t.hash) is None
    ):
        return _show(msg, ctx, t, ctx.t("pledge.read_first", title=t.title))
    return _sign_reply(ctx, t, "text")


def handle_sign_card(msg: IncomingMessage, ctx: Context) -> Reply:
    t = my_text(ctx)
    clicked = msg.event_key[len(cards.CARD_KEY_PREFIX) :]
    if clicked != t.hash:
        return Reply.text(ctx.t("pledge.outdated_card"))
    reply = _sign_reply(ctx, t, "card")
    reply.card_update = _card(ctx, t, msg.task_id, disabled_text=ctx.t("pledge.card_signed"))
    return reply


def handle_my_status(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    t = my_text(ctx)
    tz = ctx.settings.tz
    mine = signing.signatures_of(ctx.session, ctx.userid)
    current = next((s for s in mine if s.text_hash == t.hash), None)
    if current is not None:
        channel = ctx.texts.raw("pledge.channels").get(current.channel, current.channel)
        lines = [
            ctx.t(
                "pledge.status_signed",
                when=label(current.signed_at, tz),
                channel=channel,
                **_hash_values(t),
            )
        ]
    else:
        lines = [ctx.t("pledge.status_unsigned", **_hash_values(t))]
    older = [s for s in mine if s.text_hash != t.hash]
    if older:
        names = titles()
        lines += ["", ctx.t("pledge.status_history_title")]
        lines += [
            ctx.t(
                "pledge.status_history_line",
                title=names.get(s.text_key, s.text_key),
                version=s.text_version,
                hash=s.text_hash[:SHORT_HASH],
                when=label(s.signed_at, tz),
            )
            for s in older
        ]
    return Reply.text("\n".join(lines))


# -- rounds ------------------------------------------------------------------------------------
def handle_launch(ctx: Context, args: str) -> Reply:
    departments: list[int] = []
    if args:
        departments, unknown = parse_departments(ctx.session, args)
        if unknown is not None:
            return Reply.texts(
                ctx.t("pledge.unknown_department", name=unknown), ctx.t("pledge.launch_usage")
            )
    round_id, total, pending = launch(
        ctx.session, ctx.userid, ctx.now, departments or None, ctx.settings.tz
    )
    names = department_names(ctx.session, set(departments))
    ctx.audit(
        "pledge:launch",
        detail=ctx.t(
            "pledge.audit_launch",
            round=round_id,
            departments="、".join(names) or ctx.t("pledge.audit_everyone"),
        ),
    )
    return Reply.text(ctx.t("pledge.launched", round=round_id, total=total, pending=pending))


def register(router: Router) -> None:
    router.command("责任书", "安全生产责任书", priority=50)(handle_pledge)
    router.command(*SIGN_WORDS, priority=50, exact=True)(handle_sign_text)
    # 确认 alone is generic; other features' flows get it first, and their own commands win on priority.
    router.command("确认", priority=20, exact=True)(handle_sign_text)
    router.command("我的签署", "签署状态", priority=50, exact=True)(handle_my_status)
    router.card(cards.CARD_KEY_PREFIX)(handle_sign_card)
