"""Campaign figures for `safetybot stats --json`, the 统计 command and the console.

Each feature registers its figures with `@stat("name")`; a figure is a function
(session, now) -> number. The keys below are always present.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import Department, User

# `now` is aware and in the campaign's time zone, so `now.date()` is the local day.
StatFn = Callable[[Session, datetime], Any]
STATS: dict[str, StatFn] = {}

REQUIRED = (
    "users",
    "departments",
    "pledges_signed",
    "checkins_today",
    "quiz_answers",
    "hazards",
    "suggestions",
)


def stat(name: str) -> Callable[[StatFn], StatFn]:
    def decorator(fn: StatFn) -> StatFn:
        STATS[name] = fn
        return fn

    return decorator


def count_rows(session: Session, model: Any, *where: Any) -> int:
    """How many rows of `model` match `where` — the shape of most figures."""
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@stat("users")
def count_users(session: Session, now: datetime) -> int:
    return count_rows(session, User, User.status == 1)


@stat("departments")
def count_departments(session: Session, now: datetime) -> int:
    return count_rows(session, Department)


def compute_stats(session: Session, now: datetime) -> dict[str, Any]:
    import handlers

    for module in handlers.FEATURES:  # feature modules register their figures on import
        importlib.import_module(module)
    return {name: fn(session, now) for name, fn in sorted(STATS.items())}
