"""The run ledger: each (job, scheduled time) runs once, whichever process gets there first.

Every process may run the scheduler (web workers, a dedicated `safetybot scheduler`); the
unique key on job_runs decides, atomically, who runs a given occurrence. A run whose process
died is not retried automatically: its effects are in the outbox (written in the same
transaction as the ledger row) or nowhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.db import insert_ignore, transaction
from bot.models import JobRun

log = logging.getLogger(__name__)


def run_once(
    factory: sessionmaker[Session],
    job_id: str,
    scheduled_for: datetime,
    fn: Callable[[Session], str | None],
    now: datetime,
) -> bool:
    """Run fn(session) in one transaction with the ledger row; False if already run."""
    with transaction(factory) as s:
        row = insert_ignore(
            s,
            JobRun,
            {
                "job_id": job_id,
                "scheduled_for": scheduled_for,
                "started_at": now,
                "status": "running",
            },
            returning=JobRun.id,
        ).first()
        if row is None:
            return False
        detail = fn(s)
        s.execute(
            update(JobRun)
            .where(JobRun.id == row[0])
            .values(status="done", finished_at=now, detail=(detail or "")[:2000])
        )
    # Minute-by-minute jobs (reminders, retries) would flood the log at INFO.
    level = logging.INFO if detail_is_news(detail) else logging.DEBUG
    log.log(level, "job %s for %s ran: %s", job_id, scheduled_for.isoformat(), detail)
    return True


def detail_is_news(detail: str | None) -> bool:
    """Whether a job's summary reports something done ("tip to 12 members"), as opposed to
    "no pending photos" or "reminded 0, escalated to 0 heads"."""
    if not detail or detail.lower().startswith("no "):
        return False
    return any(ch.isdigit() and ch != "0" for ch in detail)


def already_ran(factory: sessionmaker[Session], job_id: str, scheduled_for: datetime) -> bool:
    """Whether some process has (or is) running this occurrence (a cheap read, no lock)."""
    with factory() as s:
        return (
            s.scalar(
                select(JobRun.id).where(
                    JobRun.job_id == job_id, JobRun.scheduled_for == scheduled_for
                )
            )
            is not None
        )
