"""积分 (my points) and 排行 (the ranking); the figures are bot.quiz.ranking's."""

from __future__ import annotations

from bot.context import Context
from bot.messages import IncomingMessage, Reply
from bot.quiz import ranking
from bot.router import Router


def handle_points(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    return Reply.text(
        ranking.points_text(
            ctx.session,
            ctx.t,
            ctx.settings,
            userid=ctx.userid,
            name=ctx.display_name,
            today=ctx.today,
            now=ctx.now,
        )
    )


def handle_ranking(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    # The whole ranking is a snapshot (at most ranking_cache_seconds old).
    text = ranking.ranking_snapshot(ctx.session, ctx.t, ctx.now, ctx.settings.ranking_cache_seconds)
    if ctx.settings.ranking_cache_seconds > 0 and text != ctx.t("quiz.ranking_none"):
        text += "\n\n" + ctx.t("quiz.ranking_refresh")
    return Reply.text(text)


def register(router: Router) -> None:
    router.command("积分", "我的积分", exact=True)(handle_points)
    router.command("排行", "排行榜", "排名", exact=True)(handle_ranking)
