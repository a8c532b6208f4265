"""Every scheduled job in one place: ids, triggers (Asia/Shanghai), coalescing, misfire grace.

APScheduler fires the jobs; the run ledger (scheduler.ledger) makes each occurrence run once
across processes. A process that starts late (down at 09:00, up at 09:00:05 or 09:40) catches
up on any occurrence of the last hour that nobody ran (`catch_up`), because APScheduler's
in-memory job store does not remember what it missed while the process was down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.orm import Session

from bot.activity.photos import fetch_pending as fetch_activity_photos
from bot.checkin.surveys import drill_surveys
from bot.drills.live import push_roles as push_drill_roles
from bot.drills.live import retry_photos as retry_drill_photos
from bot.drills.plans import plan_reminders
from bot.drills.supplies import supply_reminders
from bot.hazard.ledger import remind_overdue
from bot.hazard.photos import retry_pending as retry_pending_photos
from bot.inspection.reminders import inspection_reminders
from bot.inspection.schedule import scheduled_rounds
from bot.learning.reminders import learning_reminders
from bot.pledge.reminders import pledge_reminders
from bot.quiz.contest_admin import notify_opened as notify_contests_opened
from bot.quiz.results import close_contests
from bot.submissions.entries import retry_photos as retry_submission_photos
from bot.submissions.voting import tick as submission_tick
from bot.warnings.jobs import fetch_cap_feed, process_cap_feed, warning_followups
from scheduler import jobs
from scheduler.ledger import already_ran, run_once

log = logging.getLogger(__name__)

MISFIRE_GRACE = timedelta(hours=1)

JobFn = Callable[[Session, object, datetime], str | None]


@dataclass(frozen=True)
class JobSpec:
    id: str
    fn: JobFn
    cron: dict  # CronTrigger fields, e.g. {"hour": 8, "minute": 30}
    # Slow I/O (an HTTP fetch) done before the run's transaction, so it holds no database lock
    # (on SQLite the ledger's BEGIN IMMEDIATE would stall every incoming message). Its result
    # is passed to fn as a fourth argument: fn(session, runtime, now, prefetched).
    prefetch: Callable[[object, datetime], object] | None = None


def job_specs(settings) -> list[JobSpec]:
    """Every scheduled job, listed here and nowhere else: (id, the function it runs, when)."""
    tip_h, tip_m = (int(x) for x in settings.tip_time.split(":"))
    quiz_h, quiz_m = (int(x) for x in settings.quiz_time.split(":"))
    specs = [
        JobSpec("daily_tip", jobs.push_daily_tip, {"hour": tip_h, "minute": tip_m}),
        JobSpec("daily_quiz", jobs.push_daily_quiz, {"hour": quiz_h, "minute": quiz_m}),
        JobSpec("housekeeping", jobs.housekeeping, {"hour": 3, "minute": 30}),
        # Knowledge contests: close the due ones, push results (idempotent per contest).
        JobSpec("contest_close", close_contests, {"minute": "*"}),
        JobSpec("contest_open", notify_contests_opened, {"minute": "*"}),  # tell staff, once
        # 责任书 rounds: reminders on days 1 and 2, the department head on day 3.
        JobSpec("pledge_reminders", pledge_reminders, {"minute": 7}),
        # After-drill questionnaires, sent once an event with a survey has ended.
        JobSpec("drill_surveys", drill_surveys, {"minute": "*/10"}),
        # Daily reminders and escalation for overdue fixes (idempotent per item per day).
        JobSpec("hazard_overdue", remind_overdue, {"hour": 10, "minute": 5}),
        # Photos whose download failed inside the callback (media ids live 3 days).
        JobSpec("hazard_photo_retry", retry_pending_photos, {"minute": "*"}),
        # Inspection rounds: recurring ones start at 08:10; reminders and escalation hourly.
        JobSpec("inspection_schedule", scheduled_rounds, {"hour": 8, "minute": 10}),
        JobSpec("inspection_reminders", inspection_reminders, {"minute": 17}),
        # 收到 follow-ups and escalation of unacknowledged warnings.
        JobSpec("warning_followup", warning_followups, {"minute": "*"}),
        # Learning tasks: reminders before the due date, the department head after it.
        JobSpec("learning_reminders", learning_reminders, {"minute": 17}),
        # Drills: roles pushed once before a live drill; photos fetched; plans and supplies due.
        JobSpec("drill_roles", push_drill_roles, {"minute": "*/10"}),
        JobSpec("drill_photo_retry", retry_drill_photos, {"minute": "*"}),
        JobSpec("plan_reminders", plan_reminders, {"hour": 9, "minute": 13}),
        JobSpec("supply_reminders", supply_reminders, {"hour": 9, "minute": 23}),
        # 征文 / 随手拍: the vote card when entries close, the results when voting closes.
        JobSpec("submission_tick", submission_tick, {"minute": "*/5"}),
        JobSpec("submission_photo_retry", retry_submission_photos, {"minute": "*"}),
        # Photos of departments' activity reports (报送), sent in chat as media ids.
        JobSpec("activity_photos", fetch_activity_photos, {"minute": "*"}),
    ]
    if settings.cap_url:
        specs.append(
            JobSpec("cap_feed", process_cap_feed, {"minute": "*/5"}, prefetch=fetch_cap_feed)
        )
    return specs


def trigger_for(spec: JobSpec, tz) -> CronTrigger:
    return CronTrigger(timezone=tz, **spec.cron)


def previous_fire_time(spec: JobSpec, tz, now: datetime) -> datetime | None:
    """The latest scheduled time <= now within the misfire grace, if any."""
    trigger = trigger_for(spec, tz)
    start = now - MISFIRE_GRACE
    fire = trigger.get_next_fire_time(None, start)
    latest = None
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return latest


def run_job(runtime, spec: JobSpec, scheduled_for: datetime) -> bool:
    now = runtime.clock()
    if now - scheduled_for > MISFIRE_GRACE:
        log.warning("job %s for %s skipped: more than an hour late", spec.id, scheduled_for)
        return False
    if spec.prefetch is None:
        ran = run_once(
            runtime.factory, spec.id, scheduled_for, lambda s: spec.fn(s, runtime, now), now
        )
    else:
        if already_ran(runtime.factory, spec.id, scheduled_for):
            return False  # do not fetch for an occurrence another process has run
        prefetched = spec.prefetch(runtime, now)
        ran = run_once(
            runtime.factory,
            spec.id,
            scheduled_for,
            lambda s: spec.fn(s, runtime, now, prefetched),
            now,
        )
    if ran:
        runtime.kick_sender()
    return ran


def catch_up(runtime, now: datetime | None = None) -> list[str]:
    """Run every job occurrence of the last hour that no process has run yet."""
    now = now or runtime.clock()
    ran = []
    for spec in job_specs(runtime.settings):
        fire = previous_fire_time(spec, runtime.settings.tz, now)
        if fire is not None and run_job(runtime, spec, fire):
            ran.append(spec.id)
    return ran


def build_scheduler(runtime, blocking: bool = False):
    cls = BlockingScheduler if blocking else BackgroundScheduler
    sched = cls(
        timezone=runtime.settings.tz,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": int(MISFIRE_GRACE.total_seconds()),
        },
    )
    for spec in job_specs(runtime.settings):
        trigger = trigger_for(spec, runtime.settings.tz)

        def fire(spec=spec, trigger=trigger):
            # The occurrence this firing belongs to: the latest scheduled time <= now.
            scheduled = previous_fire_time(spec, runtime.settings.tz, runtime.clock())
            if scheduled is not None:
                run_job(runtime, spec, scheduled)

        sched.add_job(fire, trigger, id=spec.id, name=spec.id, replace_existing=True)
    # Catch up once at start, then every minute (cheap: a ledger insert that usually conflicts).
    # The interval is a setting only so that tests can tick fast through simulated time.
    sched.add_job(
        lambda: catch_up(runtime),
        "interval",
        seconds=runtime.settings.scheduler_tick_seconds,
        id="catch_up",
        next_run_time=datetime.now(runtime.settings.tz),
    )
    return sched
