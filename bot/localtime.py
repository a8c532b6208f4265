"""Times as people read and type them, in the campaign's time zone: one place for each format.

Stored times are aware UTC; everything a person sees or types is local (Asia/Shanghai).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, tzinfo

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


# -- dates typed in chat (deadlines) ---------------------------------------------------------
_NUMERALS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_RELATIVE_DAYS = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}
_WEEKDAY = re.compile(r"^(本|这|下下|下)?(?:个)?(?:周|星期|礼拜)([一二三四五六日天七])$")
_IN_DAYS = re.compile(r"^(\d{1,3}|[一二两三四五六七八九十])天(?:后|以后|之后|内|以内)$")
_FULL_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MONTH_DAY = re.compile(r"^(\d{1,2})[-/.月](\d{1,2})[日号]?$")
_DAY_ONLY = re.compile(r"^(\d{1,2})[日号]$")


def parse_chat_date(text: str, today: date) -> date | None:
    """A date as people type it in chat, relative to `today` (local); None if it is not one.

    今天 / 明天 / 后天 / 大后天; 3天后 / 三天内; 周五 (the next Friday, today included),
    本周五 / 这周五 (this week's, Monday first), 下周五 (next week's), 下下周五;
    2026-06-20, 2026/6/20, 2026.6.20, 2026年6月20日, 20260620; 6-20, 6/20, 6月20日 (this
    year); 20日 / 20号 (this month). Past dates are returned as they are: the caller refuses.
    """
    t = re.sub(r"\s+", "", text or "")
    if t in _RELATIVE_DAYS:
        return today + timedelta(days=_RELATIVE_DAYS[t])
    if m := _IN_DAYS.match(t):
        n = m.group(1)
        return today + timedelta(days=int(n) if n.isdigit() else _NUMERALS[n])
    if m := _WEEKDAY.match(t):
        which, target = m.group(1), _WEEKDAYS[m.group(2)]
        monday = today - timedelta(days=today.weekday())
        if which in ("本", "这"):
            return monday + timedelta(days=target)
        if which == "下":
            return monday + timedelta(days=7 + target)
        if which == "下下":
            return monday + timedelta(days=14 + target)
        return today + timedelta(days=(target - today.weekday()) % 7)
    try:
        if m := _FULL_DATE.match(t) or _COMPACT_DATE.match(t):
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := _MONTH_DAY.match(t):
            return date(today.year, int(m.group(1)), int(m.group(2)))
        if m := _DAY_ONLY.match(t):
            return date(today.year, today.month, int(m.group(1)))
    except ValueError:
        return None
    return None
