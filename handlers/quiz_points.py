"""积分 (my points) and 排行 (the ranking); the figures are bot.quiz.ranking's.

Points from other features (verified hazards, finished learning tasks, adopted suggestions,
completed inspections) are collected here and passed in: features do not import each other.
"""

from __future__ import annotations

from bot import suggestion as suggestions
from bot.context import Context
from bot.hazard import points as hazard_points
from bot.inspection import points as inspection_points
from bot.messages import IncomingMessage, Reply
from bot.quiz import ranking
from bot.router import Router
from bot.stats import point_sources


def _everyone(ctx: Context):
    """Everyone's points from the sources other than the quiz (for the snapshot)."""
    session = ctx.session
    return lambda: point_sources(session)


def handle_points(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    # Everyone's points from the other sources are needed for the rank anyway: this member's
    # are read from them rather than by four more queries.
    everyone = point_sources(ctx.session)
    text = ranking.points_text(
        ctx.session,
        ctx.t,
        ctx.settings,
        userid=ctx.userid,
        name=ctx.display_name,
        today=ctx.today,
        now=ctx.now,
        mine={key: int(per_user.get(ctx.userid, 0)) for key, per_user in everyone.items()},
        extra=lambda: everyone,
    )
    rules = ctx.t(
        "quiz.rules_hazard",
        points=hazard_points.VERIFY_POINTS,
        suggestion_points=suggestions.ADOPT_POINTS,
        inspection_points=inspection_points.COMPLETE_POINTS,
    )
    return Reply.text(text + "\n" + rules)


def handle_ranking(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    # The whole ranking is a snapshot (at most ranking_cache_seconds old).
    text = ranking.ranking_snapshot(
        ctx.session, ctx.t, ctx.now, ctx.settings.ranking_cache_seconds, _everyone(ctx)
    )
    if ctx.settings.ranking_cache_seconds > 0 and text != ctx.t("quiz.ranking_none"):
        text += "\n\n" + ctx.t("quiz.ranking_refresh")
    return Reply.text(text)


def register(router: Router) -> None:
    router.command("积分", "我的积分", exact=True)(handle_points)
    router.command("排行", "排行榜", "排名", exact=True)(handle_ranking)
