"""Publishing warnings and broadcasts, the 收到 follow-up, and turning CAP alerts into warnings.

Everything here writes in the caller's transaction and sends through the outbox, with dedup
keys, so a job run twice or a handler retried never sends twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from bot.content import texts
from bot.db import insert_ignore
from bot.directory import active_members, department_heads, officer_ids
from bot.models import (
    CapAlert,
    Department,
    RiskWarning,
    User,
    WarningAck,
    WarningRecipient,
)
from bot.outbox import enqueue
from bot.settings import Settings
from bot.warnings import cap as capmod
from bot.warnings.templates import (
    ACK_LEVELS,
    RenderedWarning,
    render_free_text,
    render_template,
    truncate,
)

log = logging.getLogger(__name__)

DEFAULT_ACK_MINUTES = 30
RECIPIENT_CHUNK = 5000


def labels() -> dict[str, str]:
    return {k: str(v) for k, v in texts.raw("warning.labels").items()}


# -- recipients ---------------------------------------------------------------------------------
def recipients_for(session: Session, department_ids: Iterable[int]) -> list[tuple[str, int | None]]:
    """Active members, in the given departments and their sub-departments ([] = everyone)."""
    return active_members(session, department_ids)


def departments_by_name(session: Session, names: Iterable[str]) -> tuple[list[int], list[str]]:
    """Department ids for names (exact first, else a unique partial match), and unknown names."""
    all_depts = list(session.execute(select(Department.id, Department.name)))
    found: list[int] = []
    unknown: list[str] = []
    for name in names:
        exact = [i for i, n in all_depts if n == name]
        partial = [i for i, n in all_depts if name in n]
        if exact or len(partial) == 1:
            found.append((exact or partial)[0])
        else:
            unknown.append(name)
    return found, unknown


# -- publishing ---------------------------------------------------------------------------------
def publish(
    session: Session,
    settings: Settings,
    now: datetime,
    *,
    created_by: str,
    rendered: RenderedWarning,
    department_ids: list[int] | None = None,
    require_ack: bool | None = None,
    ack_minutes: int | None = None,
    kind: str = "warning",
    scope_label: str = "",
) -> RiskWarning:
    """Record a warning (or broadcast) and queue it for its recipients and the group robots."""
    department_ids = sorted(set(department_ids or []))
    if require_ack is None:
        require_ack = kind == "warning" and rendered.level in ACK_LEVELS
    ack_minutes = ack_minutes or DEFAULT_ACK_MINUTES
    recipients = recipients_for(session, department_ids)
    warning = RiskWarning(
        kind=kind,
        created_at=now,
        created_by=created_by,
        hazard=rendered.hazard,
        level=rendered.level,
        title=rendered.title[:200],
        text=rendered.text(labels()),
        department_ids=department_ids,
        recipients_total=len(recipients),
        require_ack=require_ack,
        ack_minutes=ack_minutes,
        remind_at=now + timedelta(minutes=ack_minutes) if require_ack else None,
        escalate_at=now + timedelta(minutes=2 * ack_minutes) if require_ack else None,
    )
    session.add(warning)
    session.flush()
    for start in range(0, len(recipients), RECIPIENT_CHUNK):
        session.execute(
            insert(WarningRecipient),
            [
                {"warning_id": warning.id, "userid": u, "department_id": d}
                for u, d in recipients[start : start + RECIPIENT_CHUNK]
            ],
        )
    userids = [u for u, _ in recipients]
    body = {"msgtype": "text", "text": {"content": warning.text}}
    enqueue(
        session,
        userids,
        body,
        source=f"{kind}:{warning.id}",
        now=now,
        dedup_key=f"{kind}:{warning.id}:text",
    )
    if require_ack:
        enqueue(
            session,
            userids,
            card_message(ack_card(warning, now)),
            source=f"{kind}:{warning.id}:card",
            now=now,
            dedup_key=f"{kind}:{warning.id}:card",
        )
    if kind == "warning" and settings.robot_keys:
        md = rendered.markdown(labels())
        if scope_label:
            md += "\n\n" + texts.get("warning.robot_scope", scope=scope_label)
        enqueue(
            session,
            settings.robot_keys,
            {"msgtype": "markdown", "markdown": {"content": md}},
            source=f"warning:{warning.id}:robot",
            now=now,
            kind="robot",
            dedup_key=f"warning:{warning.id}:robot",
            duplicate_check=False,
        )
    return warning


def ack_card(
    warning: RiskWarning,
    now: datetime,
    *,
    reminder: bool = False,
    acked_at: datetime | None = None,
    tz=None,
) -> dict[str, Any]:
    """The button card asking for 收到 (or, once clicked, the same card without the button).

    WeCom: task_id must be unique within the app and only [A-Za-z0-9_-@], at most 128 bytes,
    so it carries the creation time too (a reset database must not reuse an old task id).
    """
    stamp = int(warning.created_at.timestamp())
    suffix = "r" if reminder else "a"
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "source": {"desc": texts.get("warning.card.source")},
        "main_title": {
            "title": truncate(warning.title, 26),
            "desc": texts.get("warning.card.reminder_desc" if reminder else "warning.card.desc"),
        },
        "sub_title_text": texts.get("warning.card.ask", minutes=warning.ack_minutes),
        "task_id": f"warning-{warning.id}-{stamp}-{suffix}",
    }
    if acked_at is not None:
        local = acked_at.astimezone(tz) if tz else acked_at
        card["sub_title_text"] = texts.get("warning.card.acked", time=local.strftime("%m-%d %H:%M"))
        card["button_list"] = [
            {
                "text": texts.get("warning.card.acked_button"),
                "style": 2,
                "key": f"warning:acked:{warning.id}",
            }
        ]
    else:
        card["button_list"] = [
            {
                "text": texts.get("warning.card.button"),
                "style": 1,
                "key": f"warning:ack:{warning.id}",
            }
        ]
    return card


def card_message(card: dict[str, Any]) -> dict[str, Any]:
    return {"msgtype": "template_card", "template_card": card}


def record_ack(session: Session, warning_id: int, userid: str, now: datetime) -> bool | None:
    """True: recorded now; False: already acknowledged; None: not a recipient of it."""
    is_recipient = session.get(WarningRecipient, (warning_id, userid)) is not None
    if not is_recipient:
        return None
    row = insert_ignore(
        session,
        WarningAck,
        {"warning_id": warning_id, "userid": userid, "acked_at": now},
        returning=WarningAck.id,
    ).first()
    return row is not None


def unacknowledged(session: Session, warning_id: int) -> list[tuple[str, int | None]]:
    acked = select(WarningAck.userid).where(WarningAck.warning_id == warning_id)
    return [
        (u, d)
        for u, d in session.execute(
            select(WarningRecipient.userid, WarningRecipient.department_id)
            .where(WarningRecipient.warning_id == warning_id, WarningRecipient.userid.not_in(acked))
            .order_by(WarningRecipient.userid)
        )
    ]


def ack_count(session: Session, warning_id: int) -> int:
    from sqlalchemy import func

    return (
        session.scalar(
            select(func.count()).select_from(WarningAck).where(WarningAck.warning_id == warning_id)
        )
        or 0
    )


# -- follow-up job ------------------------------------------------------------------------------
def run_followups(session: Session, settings: Settings, now: datetime) -> str:
    """One reminder to whoever has not clicked 收到, then the list to their department heads."""
    reminded = escalated = 0
    due = session.scalars(
        select(RiskWarning).where(
            RiskWarning.require_ack.is_(True),
            RiskWarning.reminded_at.is_(None),
            RiskWarning.remind_at <= now,
        )
    ).all()
    for warning in due:
        pending = [u for u, _ in unacknowledged(session, warning.id)]
        if pending:
            enqueue(
                session,
                pending,
                card_message(ack_card(warning, now, reminder=True)),
                source=f"warning:{warning.id}:remind",
                now=now,
                dedup_key=f"warning:{warning.id}:remind",
            )
            enqueue(
                session,
                pending,
                {
                    "msgtype": "text",
                    "text": {
                        "content": texts.get(
                            "warning.reminder", title=warning.title, minutes=warning.ack_minutes
                        )
                    },
                },
                source=f"warning:{warning.id}:remind",
                now=now,
                dedup_key=f"warning:{warning.id}:remind-text",
            )
            reminded += len(pending)
        warning.reminded_at = now
    due = session.scalars(
        select(RiskWarning).where(
            RiskWarning.require_ack.is_(True),
            RiskWarning.escalated_at.is_(None),
            RiskWarning.escalate_at <= now,
        )
    ).all()
    for warning in due:
        escalated += _escalate(session, warning, now)
        warning.escalated_at = now
    return f"reminded {reminded}, escalated to {escalated} heads"


def _escalate(session: Session, warning: RiskWarning, now: datetime) -> int:
    pending = unacknowledged(session, warning.id)
    if not pending:
        return 0
    depts = dict(session.execute(select(Department.id, Department.parent_id)).all())
    names = dict(
        session.execute(
            select(User.userid, User.name).where(User.userid.in_([u for u, _ in pending]))
        ).all()
    )
    dept_names = dict(session.execute(select(Department.id, Department.name)).all())
    by_head: dict[str, list[str]] = defaultdict(list)
    for userid, dept_id in pending:
        heads = _heads_up_the_tree(session, dept_id, depts)
        for head in heads:
            label = names.get(userid) or userid
            if dept_id in dept_names:
                label += f"（{dept_names[dept_id]}）"
            by_head[head].append(label)
    for head, people in sorted(by_head.items()):
        text = texts.get(
            "warning.escalation",
            title=warning.title,
            count=len(people),
            minutes=2 * warning.ack_minutes,
            names="、".join(people[:200]),
        )
        enqueue(
            session,
            [head],
            {"msgtype": "text", "text": {"content": text}},
            source=f"warning:{warning.id}:escalate",
            now=now,
            dedup_key=f"warning:{warning.id}:escalate:{head}",
        )
    return len(by_head)


def _heads_up_the_tree(
    session: Session, dept_id: int | None, parents: dict[int, int | None]
) -> list[str]:
    """The heads of the member's department, else of the nearest parent that has one."""
    seen: set[int] = set()
    while dept_id is not None and dept_id not in seen:
        seen.add(dept_id)
        heads = department_heads(session, dept_id)
        if heads:
            return heads
        dept_id = parents.get(dept_id)
    return []


# -- CAP alerts ---------------------------------------------------------------------------------
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
                severity=row.severity,
            )
            enqueue(
                session,
                officer_ids(session, settings),
                {"msgtype": "text", "text": {"content": text}},
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
