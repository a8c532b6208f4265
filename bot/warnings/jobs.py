"""Scheduled work for warnings: acknowledgement follow-ups and the CAP feed poll."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from bot.services import Services
from bot.warnings.acks import run_followups
from bot.warnings.cap_alerts import process_alerts
from bot.warnings.feed import FetchResult, fetch_feed

log = logging.getLogger(__name__)


def warning_followups(session: Session, services: Services, now: datetime) -> str:
    return run_followups(session, services.settings, now)


def fetch_cap_feed(services: Services, now: datetime) -> FetchResult:
    """The HTTP fetch, done before the run's transaction (it must hold no database lock)."""
    return fetch_feed(services.settings.cap_url, timeout=services.settings.api_timeout)


def process_cap_feed(session: Session, services: Services, now: datetime, fetched) -> str:
    """Process what fetch_cap_feed fetched; one bad alert is logged and skipped, never raised."""
    totals: dict[str, int] = {}
    failed = 0
    for alert in fetched.alerts:
        try:
            with session.begin_nested():
                counts = process_alerts(session, services.settings, [alert], now)
        except Exception:  # noqa: BLE001 - a scheduler job must survive any one alert
            log.exception("CAP alert %r could not be processed", alert.identifier)
            failed += 1
            continue
        for key, n in counts.items():
            totals[key] = totals.get(key, 0) + n
    parts = [f"{k} {v}" for k, v in sorted(totals.items())]
    if fetched.errors or failed:
        parts.append(f"skipped {len(fetched.errors) + failed}")
    return "cap: " + (", ".join(parts) or "nothing new")
