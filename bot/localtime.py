"""Times as people read and type them, in the campaign's time zone: one place for each format.

Stored times are aware UTC; everything a person sees or types is local (Asia/Shanghai).
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

_LOCAL = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::\d{2})?)?$")


class LocalTimeError(ValueError):
    """A time a person typed that is not YYYY-MM-DD HH:MM or does not exist."""


def label(at: datetime | None, tz: tzinfo) -> str:
    """「6月5日 09:00」: how chat messages show a time."""
    if at is None:
        return ""
    local = at.astimezone(tz)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def clock_label(at: datetime, tz: tzinfo) -> str:
    """「09:00」: the end of a span whose day was already shown."""
    return f"{at.astimezone(tz):%H:%M}"


def stamp(at: datetime | None, tz: tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """「2026-06-05 09:00」: tables, exports, the console."""
    return at.astimezone(tz).strftime(fmt) if at else ""


def parse_local(value: str, tz: tzinfo) -> datetime:
    """「2026-06-20 09:00」, 「2026-06-20T09:00」 (a browser's datetime-local) or a bare date
    (midnight) in the campaign's time zone. Raises LocalTimeError with a Chinese message."""
    m = _LOCAL.match((value or "").strip())
    if not m:
        raise LocalTimeError(f"时间「{value}」格式不对，应为 2026-06-20 09:00")
    y, mo, d, h, mi = (int(x) if x else 0 for x in m.groups())
    try:
        return datetime(y, mo, d, h, mi, tzinfo=tz)
    except ValueError as exc:
        raise LocalTimeError(f"时间「{value}」不存在") from exc
