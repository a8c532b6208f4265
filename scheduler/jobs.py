"""The scheduled jobs, as plain functions of (session, runtime, now).

They only write to the outbox (in the ledger's transaction); the sender delivers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot import content, directory
from bot.content import texts
from bot.messages import text_message
from bot.models import Conversation, InboundMessage, JobRun, MemberSendCount
from bot.outbox import enqueue
from bot.quiz.push import quiz_push_message


def active_members(session: Session) -> list[str]:
    return [userid for userid, _ in directory.active_members(session)]


def tip_for(day: datetime) -> dict[str, Any] | None:
    """Tips are written for the 30 days of June; other months reuse them by day of month."""
    tips = {t["day"]: t for t in content.load("tips.yaml")["tips"]}
    return tips.get(day.day) or tips.get(((day.day - 1) % len(tips)) + 1)


def tip_message(day: datetime) -> dict[str, Any] | None:
    tip = tip_for(day)
    if tip is None:
        return None
    header = texts.get("push.tip_header", date=f"{day.month}月{day.day}日", title=tip["title"])
    footer = texts.get("push.tip_footer", source=tip["source"])
    return text_message(f"{header}\n{tip['text'].strip()}\n{footer}")


def push_daily_tip(session: Session, runtime, now: datetime) -> str:
    local = now.astimezone(runtime.settings.tz)
    body = tip_message(local)
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
