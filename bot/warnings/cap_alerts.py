"""Turning CAP alerts into warnings: map hazard, level and area, then send, queue or filter.

Each alert is recorded once (sender + identifier); a pending one waits for an officer's
批准 / 忽略 (chat or console).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.content import texts
from bot.db import insert_ignore
from bot.directory import officer_ids
from bot.messages import text_message
from bot.models import CapAlert, RiskWarning
from bot.outbox import enqueue
from bot.settings import Settings
from bot.warnings import cap as capmod
from bot.warnings.publish import publish
from bot.warnings.templates import RenderedWarning, render_free_text, render_template

HAZARD_KEYWORDS: list[tuple[str, tuple[str, ...]]] = [
    # Order matters: a typhoon is also wind, a thunderstorm also rain.
    ("typhoon", ("台风", "typhoon", "tropical cyclone", "hurricane", "tropical storm")),
    ("lightning", ("雷电", "雷暴", "强对流", "thunder", "lightning")),
    ("rainstorm", ("暴雨", "rainstorm", "heavy rain", "flash flood")),
    ("heat", ("高温", "heat")),
    ("cold_wave", ("寒潮", "cold wave", "cold")),
    ("earthquake", ("地震", "earthquake")),
    (
        "geological",
        ("地质灾害", "滑坡", "泥石流", "崩塌", "landslide", "debris flow", "geological"),
    ),
    ("forest_fire", ("森林火险", "森林火灾", "草原火险", "forest fire", "wildfire", "fire danger")),
    ("strong_wind", ("大风", "gale", "strong wind", "wind")),
]
SEVERITY_LEVEL = {"Extreme": "red", "Severe": "orange", "Moderate": "yellow", "Minor": "blue"}
COLOUR_WORDS = {
    "红色": "red",
    "橙色": "orange",
    "黄色": "yellow",
    "蓝色": "blue",
    "red": "red",
    "orange": "orange",
    "yellow": "yellow",
    "blue": "blue",
}


def map_hazard(*texts_: str) -> str | None:
    """The warnings.yaml hazard for a CAP event (else the headline, else the description)."""
    for text in texts_:
        lowered = (text or "").lower()
        if not lowered:
            continue
        for hazard, words in HAZARD_KEYWORDS:
            if any(w in lowered for w in words):
                return hazard
    return None


def map_level(info: capmod.CapInfo) -> str | None:
    """A colour named in the event/headline (China's CAP feeds name it), else by severity."""
    for text in (info.event, info.headline):
        lowered = (text or "").lower()
        for word, level in COLOUR_WORDS.items():
            if word in lowered:
                return level
    return SEVERITY_LEVEL.get(info.severity)


def area_matches(info: capmod.CapInfo, areas: Iterable[str]) -> bool:
    """Configured codes match a geocode value exactly or as a parent/child administrative
    code (310000 covers 310115 and the reverse); other configured words match areaDesc."""
    areas = [a for a in areas if a]
    if not areas:
        return True
    values = [v for _, v in info.geocodes if v]
    for wanted in areas:
        for value in values:
            if value == wanted or _admin_code_related(value, wanted):
                return True
        if not wanted.isdigit() and any(wanted in desc for desc in info.area_descs):
            return True
    return False


def _admin_code_related(a: str, b: str) -> bool:
    if not (a.isdigit() and b.isdigit() and len(a) == len(b)):
        return False
    pa, pb = _strip_zero_pairs(a), _strip_zero_pairs(b)
    return bool(pa and pb) and (pa.startswith(pb) or pb.startswith(pa))


def _strip_zero_pairs(code: str) -> str:
    while code.endswith("00"):
        code = code[:-2]
    return code


def _parse_cap_time(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def classify(alert: capmod.CapAlert, settings: Settings, now: datetime) -> tuple[str, str]:
    """(status, reason): sent | pending | filtered."""
    info = alert.best_info()
    if alert.status != "Actual":
        return "filtered", f"status {alert.status}"
    if alert.msg_type not in ("Alert", "Update"):
        return "filtered", f"msgType {alert.msg_type}"
    if info is None:
        return "filtered", "no info block"
    expires = _parse_cap_time(info.expires)
    if expires is not None and expires <= now:
        return "filtered", "expired"
    if not area_matches(info, settings.cap_areas):
        return "filtered", "outside our areas"
    if not capmod.severity_at_least(info.severity, settings.cap_min_severity):
        return "filtered", f"severity {info.severity} below {settings.cap_min_severity}"
    if info.severity in ("Extreme", "Severe"):
        return "sent", ""
    return "pending", ""


def render_cap(row: CapAlert) -> RenderedWarning:
    official = texts.get(
        "warning.cap.official", sender=row.sender, headline=row.headline or row.event
    )
    body = "\n".join(p for p in (official, row.description, row.instruction) if p)
    if row.area_desc:
        body += "\n" + texts.get("warning.cap.area", area=row.area_desc)
    if row.hazard and row.level:
        return render_template(row.hazard, row.level, extra=body)
    return render_free_text(row.headline or row.event, body, level=row.level)


def process_alerts(
    session: Session, settings: Settings, alerts: Iterable[capmod.CapAlert], now: datetime
) -> dict[str, int]:
    """Record each new alert once (sender + identifier); send, queue or filter it."""
    result: dict[str, int] = defaultdict(int)
    for alert in alerts:
        info = alert.best_info() or capmod.CapInfo()
        status, reason = classify(alert, settings, now)
        values = {
            "identifier": alert.identifier[:255],
            "sender": alert.sender[:255],
            "sent": alert.sent[:64],
            "received_at": now,
            "msg_type": alert.msg_type[:16],
            "event": info.event[:255],
            "severity": info.severity[:16],
            "urgency": info.urgency[:16],
            "certainty": info.certainty[:16],
            "headline": info.headline,
            "description": info.description,
            "instruction": info.instruction,
            "area_desc": "；".join(d for d in info.area_descs if d),
            "geocodes": [list(g) for g in info.geocodes],
            "hazard": map_hazard(info.event, info.headline, info.description),
            "level": map_level(info) if alert.infos else None,
            "status": status,
            "reason": reason[:255],
        }
        row_id = insert_ignore(session, CapAlert, values, returning=CapAlert.id).scalar()
        if row_id is None:
            result["seen"] += 1
            continue
        result[status] += 1
        row = session.get(CapAlert, row_id)
        if status == "sent":
            warning = publish(session, settings, now, created_by="cap", rendered=render_cap(row))
            row.warning_id = warning.id
        elif status == "pending":
            text = texts.get(
                "warning.cap.pending_notice",
                n=row.id,
                headline=row.headline or row.event,
                severity=texts.raw("warning.cap.severities").get(row.severity, row.severity),
            )
            enqueue(
                session,
                officer_ids(session, settings),
                text_message(text),
                source=f"cap:{row.id}",
                now=now,
                dedup_key=f"cap:{row.id}:pending",
            )
    return dict(result)


def decide_cap(
    session: Session, settings: Settings, now: datetime, alert_id: int, *, approve: bool, by: str
) -> tuple[CapAlert | None, RiskWarning | None]:
    """Approve (send) or ignore a pending alert; (None, None) if it is not pending."""
    changed = session.execute(
        update(CapAlert)
        .where(CapAlert.id == alert_id, CapAlert.status == "pending")
        .values(status="approved" if approve else "ignored", decided_by=by, decided_at=now)
    )
    if changed.rowcount != 1:
        return None, None
    row = session.get(CapAlert, alert_id)
    session.refresh(row)
    warning = None
    if approve:
        warning = publish(session, settings, now, created_by=by, rendered=render_cap(row))
        row.warning_id = warning.id
    return row, warning


def pending_alerts(session: Session, limit: int = 20) -> list[CapAlert]:
    return list(
        session.scalars(
            select(CapAlert).where(CapAlert.status == "pending").order_by(CapAlert.id).limit(limit)
        )
    )
