"""Recurring rounds: weekly (Mondays), monthly (from the 1st) and before each public holiday.

Holidays come from the `chinesecalendar` package (import name chinese_calendar): the
maintained copy of the State Council's yearly notice of public holidays and make-up workdays,
so a 调休 Saturday is not mistaken for a day off. It raises NotImplementedError for a year it
does not know yet (the notice comes out each November): then no holiday round is made and a
warning is logged until the package is upgraded.

Each occurrence has a key ("3:holiday:2026-10-01"), unique on inspection_rounds: the daily job
may run in many processes and many times, each occurrence makes one round.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.inspection.rounds import RoundRefused, start_round
from bot.models import InspectionSchedule
from bot.services import Services

log = logging.getLogger(__name__)

REPEATS = ("weekly", "monthly", "holiday")
# How many days before a holiday its round is started.
HOLIDAY_LEAD_DAYS = 5


def holiday_name(day: date) -> str | None:
    """The official holiday `day` belongs to (e.g. "National Day"), or None.

    NotImplementedError passes through: the library does not know that year."""
    import chinese_calendar

    on_holiday, name = chinese_calendar.get_holiday_detail(day)
    return name if on_holiday and name else None


def next_holiday_start(today: date, lead_days: int = HOLIDAY_LEAD_DAYS) -> date | None:
    """The first day of an official holiday starting within `lead_days` after today."""
    try:
        for n in range(1, lead_days + 1):
            day = today + timedelta(days=n)
            name = holiday_name(day)
            if name and holiday_name(day - timedelta(days=1)) != name:
                return day
    except NotImplementedError:
        log.warning(
            "chinesecalendar does not know the holidays of %s yet: no pre-holiday inspection "
            "rounds until the package is upgraded",
            today.year + (1 if today.month == 12 else 0),
        )
    return None


def occurrence_of(schedule: InspectionSchedule, today: date) -> tuple[str, date] | None:
    """(occurrence key, due date) when `schedule` has a round due to start today."""
    if schedule.repeat == "weekly":
        year, week, _ = today.isocalendar()
        return f"{schedule.id}:week:{year}-W{week:02d}", today + timedelta(days=schedule.due_days)
    if schedule.repeat == "monthly":
        return f"{schedule.id}:month:{today:%Y-%m}", today + timedelta(days=schedule.due_days)
    if schedule.repeat == "holiday":
        start = next_holiday_start(today)
        if start is not None:
            return f"{schedule.id}:holiday:{start.isoformat()}", start - timedelta(days=1)
    return None


def create_schedule(
    session: Session,
    *,
    template_id: str,
    repeat: str,
    assignments: list[tuple[int, str]],
    actor: str,
    now: datetime,
    due_days: int = 3,
) -> InspectionSchedule:
    if repeat not in REPEATS:
        raise ValueError(f"unknown repeat {repeat!r}")
    schedule = InspectionSchedule(
        template_id=template_id,
        repeat=repeat,
        assignments=[[d, u] for d, u in assignments],
        due_days=due_days,
        active=True,
        created_by=actor,
        created_at=now,
    )
    session.add(schedule)
    session.flush()
    return schedule


def run_schedules(session: Session, now: datetime, today: date) -> list[str]:
    made = []
    for schedule in session.scalars(
        select(InspectionSchedule).where(InspectionSchedule.active.is_(True))
    ):
        found = occurrence_of(schedule, today)
        if found is None:
            continue
        key, due = found
        try:
            rnd = start_round(
                session,
                template_id=schedule.template_id,
                assignments=[(int(d), str(u)) for d, u in schedule.assignments],
                due=due,
                actor=f"schedule:{schedule.id}",
                now=now,
                today=today,
                schedule_id=schedule.id,
                occurrence=key,
            )
        except RoundRefused as exc:
            log.warning("inspection schedule %s not started: %s", schedule.id, exc.key)
            continue
        if rnd is not None:
            made.append(f"round {rnd.id} ({key})")
    return made


def scheduled_rounds(session: Session, services: Services, now: datetime) -> str:
    """The daily job: start the rounds the schedules have due today."""
    today = now.astimezone(services.settings.tz).date()
    made = run_schedules(session, now, today)
    return ", ".join(made) or "no scheduled round due"
