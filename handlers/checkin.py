"""打卡 (daily check-in); the feature's other chat parts are 签到 and 活动
(handlers/checkin_events.py) and 问卷 (handlers/checkin_surveys.py), registered from here."""

from __future__ import annotations

from bot.checkin.daily import check_in, line_of_the_day
from bot.context import Context
from bot.messages import IncomingMessage, Reply
from bot.router import Router
from handlers import checkin_events, checkin_surveys


def handle_daily(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    assert ctx.user is not None
    first, days = check_in(ctx.session, ctx.user, ctx.now)
    line = line_of_the_day(ctx.today)
    return Reply.text(ctx.t("checkin.done" if first else "checkin.again", streak=days, line=line))


def register(router: Router) -> None:
    router.command("打卡", "每日打卡", "安全打卡", priority=50)(handle_daily)
    checkin_events.register(router)
    checkin_surveys.register(router)
