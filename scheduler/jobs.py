"""The scheduled jobs, as plain functions of (session, runtime, now).

They only write to the outbox (in the ledger's transaction); the sender delivers.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot import campaign, content, directory
from bot.campaign import Campaign
from bot.content import texts
from bot.messages import text_message
from bot.models import Conversation, InboundMessage, JobRun, MemberSendCount
from bot.outbox import enqueue
from bot.quiz.push import quiz_push_message


def active_members(session: Session) -> list[str]:
    return [userid for userid, _ in directory.active_members(session)]


# Tips that speak of one day: they go out on that day only (never "今天…启动" on another).
DATED_THEMES = ("launch", "consultation_day", "summary")


def tip_for(day: date, period: Campaign | None = None) -> dict[str, Any] | None:
    """The tip for a local `day` of the campaign, or None outside it.

    Tips are numbered by campaign day (1 = the start). The launch tip goes out on the start,
    the consultation-day tip on the 安全宣传咨询日, the summary on the last day; every other
    day gets the undated tip of its number, else (an extended campaign, a moved day) the
    undated tips in turn."""
    period = period or campaign.from_content()
    if isinstance(day, datetime):
        day = day.date()
    if not period.running_on(day):
        return None
    tips = list(content.load("tips.yaml")["tips"])
    dated = {
        "launch": period.start,
        "consultation_day": period.consultation_day,
        "summary": period.end,
    }
    for tip in tips:
        if tip.get("theme") in DATED_THEMES and dated.get(tip["theme"]) == day:
            return tip
    undated = [t for t in tips if t.get("theme") not in DATED_THEMES]
    if not undated:
        return None
    number = (day - period.start).days + 1
    by_day = {t["day"]: t for t in undated}
    return by_day.get(number) or undated[(number - 1) % len(undated)]


def tip_message(day: datetime | date, period: Campaign | None = None) -> dict[str, Any] | None:
    tip = tip_for(day, period)
    if tip is None:
        return None
    # The header's date is the day the tip goes out (the only date a tip claims).
    header = texts.get("push.tip_header", date=f"{day.month}月{day.day}日", title=tip["title"])
    footer = texts.get("push.tip_footer", source=tip["source"])
    return text_message(f"{header}\n{tip['text'].strip()}\n{footer}")


def push_daily_tip(session: Session, runtime, now: datetime) -> str:
    local = now.astimezone(runtime.settings.tz)
    period = campaign.current(session)
    if not period.running_on(local.date()):
        return f"outside the campaign ({period.start} to {period.end}): no tip"
    body = tip_message(local.date(), period)
    if body is None:
        return "no tip"
    members = active_members(session)
    mid = enqueue(
        session,
        members,
        body,
        source="push:tip",
        now=now,
        dedup_key=f"push:tip:{local.date().isoformat()}",
    )
    return f"tip to {len(members)} members" if mid else "tip already queued today"


def push_daily_quiz(session: Session, runtime, now: datetime) -> str:
    local = now.astimezone(runtime.settings.tz)
    period = campaign.current(session)
    if not period.running_on(local.date()):
        return f"outside the campaign ({period.start} to {period.end}): no quiz push"
    members = active_members(session)
    mid = enqueue(
        session,
        members,
        quiz_push_message(session, runtime, now),
        source="push:quiz",
        now=now,
        dedup_key=f"push:quiz:{local.date().isoformat()}",
    )
    return f"quiz to {len(members)} members" if mid else "quiz already queued today"


# How long bookkeeping rows are kept. WeCom retries a callback within seconds, so a month of
# inbound dedup keys is ample; run-ledger rows only need to outlive the misfire grace time.
KEEP_INBOUND = timedelta(days=30)
KEEP_JOB_RUNS = timedelta(days=14)


def housekeeping(session: Session, runtime, now: datetime) -> str:
    """Prune bookkeeping tables that grow every minute (ledger, dedup keys, rate counters)."""
    removed = {
        "job_runs": session.execute(
            delete(JobRun).where(JobRun.scheduled_for < now - KEEP_JOB_RUNS)
        ),
        "inbound": session.execute(
            delete(InboundMessage).where(InboundMessage.received_at < now - KEEP_INBOUND)
        ),
        "conversations": session.execute(
            delete(Conversation).where(Conversation.expires_at < now - timedelta(days=1))
        ),
        "rate_counters": session.execute(
            delete(MemberSendCount).where(MemberSendCount.window_start < now - timedelta(hours=1))
        ),
    }
    return ", ".join(f"{k} {max(r.rowcount, 0)}" for k, r in removed.items())
