"""The emergency plan register (应急预案): title, kind, owner, version, file link (shown, never
fetched), last and next review, last drill; reminders when a review or a drill is due.

The rules themselves (a drill at least once a year, the comprehensive plan reviewed every three
years) are cited in content (drills.plans.rules); the numbers are here once: DRILL_EVERY and
REVIEW_EVERY.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.directory import officer_ids
from bot.drills.common import DrillRefused
from bot.messages import text_message
from bot.models import EmergencyPlan
from bot.outbox import enqueue
from bot.services import Services

KINDS = ("comprehensive", "special", "onsite")
DRILL_EVERY = timedelta(days=365)
REVIEW_YEARS = 3  # the comprehensive plan
REMIND_AHEAD = timedelta(days=30)


def kind_label(kind: str) -> str:
    return texts.raw("drills.plans.kinds").get(kind, kind)


def parse_kind(text: str) -> str | None:
    by_label = {v: k for k, v in texts.raw("drills.plans.kinds").items()}
    text = (text or "").strip()
    return text if text in KINDS else by_label.get(text)


def check_url(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DrillRefused("bad_url")
    return url.strip()[:2000]


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def save_plan(
    session: Session,
    *,
    title: str,
    kind: str,
    owner: str | None,
    version: str,
    url: str | None,
    last_review: date | None,
    next_review: date | None,
    actor: str,
    now: datetime,
    plan: EmergencyPlan | None = None,
) -> EmergencyPlan:
    """Create (or update) a plan; a comprehensive plan's next review defaults to three years
    after the last."""
    title = (title or "").strip()
    if not title:
        raise DrillRefused("plan_title")
    if kind not in KINDS:
        raise DrillRefused("plan_kind", kinds="/".join(texts.raw("drills.plans.kinds").values()))
    url = check_url(url)  # before anything is added: a refused form leaves no row
    if next_review is None and last_review is not None and kind == "comprehensive":
        next_review = add_years(last_review, REVIEW_YEARS)
    if plan is None:
        plan = EmergencyPlan(created_by=actor, created_at=now)
        session.add(plan)
    plan.title, plan.kind, plan.owner = title[:128], kind, owner or None
    plan.version, plan.url = (version or "").strip()[:32], url
    plan.last_review, plan.next_review = last_review, next_review
    session.flush()
    return plan


def all_plans(session: Session) -> list[EmergencyPlan]:
    return list(session.scalars(select(EmergencyPlan).order_by(EmergencyPlan.id)))


def drill_due(plan: EmergencyPlan, today: date) -> date:
    """When the plan must next be drilled: a year after the last drill (never drilled: now)."""
    return plan.last_drill + DRILL_EVERY if plan.last_drill else today


def due_items(plan: EmergencyPlan, today: date) -> list[tuple[str, date]]:
    """("review" | "drill", due date) within the reminder window."""
    out = []
    if plan.next_review is not None and plan.next_review <= today + REMIND_AHEAD:
        out.append(("review", plan.next_review))
    due = drill_due(plan, today)
    if due <= today + REMIND_AHEAD:
        out.append(("drill", due))
    return out


def plans_due(session: Session, now: datetime) -> int:
    today = now.date()
    return sum(1 for p in all_plans(session) if due_items(p, today))


def plan_reminders(session: Session, services: Services, now: datetime) -> str:
    """The daily job: the owner and the officers hear of each due review or drill once per
    due date (the dedup key carries it)."""
    today = now.astimezone(services.settings.tz).date()
    officers = officer_ids(session, services.settings)
    sent = 0
    for plan in all_plans(session):
        for what, due in due_items(plan, today):
            body = texts.get(
                f"drills.plans.{what}_due",
                title=plan.title,
                kind=kind_label(plan.kind),
                due=due.isoformat(),
                rule=texts.get(f"drills.plans.rules.{what}"),
            )
            queued = enqueue(
                session,
                [*officers, *([plan.owner] if plan.owner else [])],
                text_message(body),
                source="drill:plan",
                now=now,
                dedup_key=f"plan:{plan.id}:{what}:{due.isoformat()}",
            )
            sent += queued is not None
    return f"plan reminders {sent}"
