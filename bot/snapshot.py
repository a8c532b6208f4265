"""Process-local snapshots of expensive figures that may be a little stale.

Rankings over every answer of a 100,000-member campaign cost about a second to compute; on
the chat path (排行, 积分) that would be paid by every request. A snapshot is recomputed when
it is older than `max_age` (SAFETYBOT_RANKING_CACHE seconds, default 60; 0 = always fresh).
Keys include the database URL, so two bots (or two tests) in one process never share one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")

_snapshots: dict[tuple[str, str], tuple[datetime, Any]] = {}
_lock = threading.Lock()


def snapshot(
    session: Session, name: str, now: datetime, max_age_seconds: float, compute: Callable[[], T]
) -> T:
    if max_age_seconds <= 0:
        return compute()
    key = (str(session.get_bind().url), name)
    with _lock:
        hit = _snapshots.get(key)
    if hit is not None and timedelta(0) <= now - hit[0] < timedelta(seconds=max_age_seconds):
        return hit[1]
    value = compute()
    with _lock:
        _snapshots[key] = (now, value)
    return value
