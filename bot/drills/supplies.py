"""Emergency supplies (应急物资): the register, the keeper's inspection in chat (item by item:
正常 / 数量 N / 过期 / 损坏), expiry and low-stock reminders (once per item per period), and the
export rows.

An item is due for inspection when it was never checked or its last check is at least
interval_days old. A check is one row per item per local day (unique), so a retried answer
records once; the keeper's progress is which due items have today's row.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.db import insert_ignore
from bot.directory import officer_ids
from bot.drills.common import DrillRefused
from bot.messages import text_message
from bot.models import EmergencySupply, SupplyCheck
from bot.outbox import enqueue
from bot.people import display
from bot.services import Services

EXPIRY_AHEAD = timedelta(days=30)
_QUANTITY = re.compile(
    r"^(?:数量|剩余|还有|现有)?\s*(-?\d+)\s*(?:个|件|具|瓶|套|箱|只|台|卷|把|盒)?$"
)
OK_WORDS = {"正常", "完好", "合格", "1", "好", "ok", "OK", "√", "✓"}
EXPIRED_WORDS = {"过期", "已过期", "失效"}
DAMAGED_WORDS = {"损坏", "坏了", "已损坏", "破损", "不能用"}
HEADER = [
    "编号",
    "物资名称",
    "数量",
    "最低库存",
    "存放地点",
    "保管人",
    "检查周期（天）",
    "有效期至",
    "状态",
    "上次检查",
]


def quantity(value) -> int:
    """A non-negative whole number, else DrillRefused (the hint says what to type)."""
    text = str(value).strip() if value is not None else ""
    if not re.fullmatch(r"\d{1,9}", text):
        raise DrillRefused("bad_quantity", value=text or "-")
    return int(text)


def save_supply(
    session: Session,
    *,
    name: str,
    quantity_value,
    location: str,
    keeper: str | None,
    interval_days,
    expires_on: date | None,
    now: datetime,
    min_quantity=0,
    supply: EmergencySupply | None = None,
) -> EmergencySupply:
    name = (name or "").strip()
    if not name:
        raise DrillRefused("supply_name")
    n, low = quantity(quantity_value), quantity(min_quantity)
    interval = quantity(interval_days)
    if interval < 1:
        raise DrillRefused("bad_interval")
    if supply is None:
        supply = EmergencySupply(created_at=now, condition="ok")
        session.add(supply)
    supply.name, supply.quantity, supply.min_quantity = name[:128], n, low
    supply.location, supply.keeper = (location or "").strip()[:128], keeper or None
    supply.interval_days, supply.expires_on = interval, expires_on
    session.flush()
    return supply


def all_supplies(session: Session) -> list[EmergencySupply]:
    return list(session.scalars(select(EmergencySupply).order_by(EmergencySupply.id)))


def is_due(supply: EmergencySupply, today: date, tz) -> bool:
    if supply.last_checked_at is None:
        return True
    last = supply.last_checked_at.astimezone(tz).date()
    return (today - last).days >= supply.interval_days


def checked_today(session: Session, supply_id: int, today: date) -> SupplyCheck | None:
    return session.scalar(
        select(SupplyCheck).where(SupplyCheck.supply_id == supply_id, SupplyCheck.day == today)
    )


def to_check(session: Session, keeper: str, today: date, tz) -> list[EmergencySupply]:
    """The keeper's items due for inspection (or checked today: the round in progress)."""
    mine = [
        s
        for s in all_supplies(session)
        if s.keeper == keeper and (is_due(s, today, tz) or checked_today(session, s.id, today))
    ]
    if all(checked_today(session, s.id, today) for s in mine):
        return []  # today's round is finished
    return mine


def next_unchecked(session: Session, ids: list[int], today: date) -> EmergencySupply | None:
    for supply_id in ids:
        supply = session.get(EmergencySupply, supply_id)
        if supply is not None and checked_today(session, supply_id, today) is None:
            return supply
    return None


def item_text(supply: EmergencySupply, index: int, total: int) -> str:
    expiry = supply.expires_on.isoformat() if supply.expires_on else "-"
    return texts.get(
        "drills.supplies.item",
        index=index,
        total=total,
        name=supply.name,
        quantity=supply.quantity,
        location=supply.location or "-",
        expires=expiry,
    )


def parse_check(text: str) -> tuple[str, int | None] | None:
    """("ok" | "quantity" | "expired" | "damaged", quantity) or None; DrillRefused for a
    negative or non-whole quantity."""
    t = (text or "").strip()
    if t in OK_WORDS:
        return "ok", None
    if t in EXPIRED_WORDS:
        return "expired", None
    if t in DAMAGED_WORDS:
        return "damaged", None
    m = _QUANTITY.match(t)
    if m:
        return "quantity", quantity(m.group(1))
    if t.startswith(("数量", "剩余")):
        raise DrillRefused("bad_quantity", value=t)
    return None


def record_check(
    session: Session,
    supply: EmergencySupply,
    result: str,
    n: int | None,
    actor: str,
    now: datetime,
    today: date,
) -> bool:
    row = insert_ignore(
        session,
        SupplyCheck,
        {
            "supply_id": supply.id,
            "day": today,
            "result": result,
            "quantity": n,
            "checked_by": actor,
            "checked_at": now,
        },
        returning=SupplyCheck.id,
    ).first()
    if row is None:
        return False
    supply.last_checked_at = now
    if result == "quantity" and n is not None:
        supply.quantity = n
        supply.condition = "ok"
    elif result in ("expired", "damaged"):
        supply.condition = result
    else:
        supply.condition = "ok"
    return True


def condition_label(supply: EmergencySupply) -> str:
    return texts.raw("drills.supplies.conditions").get(supply.condition, supply.condition)


# -- reminders ---------------------------------------------------------------------------------
def expiring(supply: EmergencySupply, today: date) -> bool:
    return supply.expires_on is not None and supply.expires_on <= today + EXPIRY_AHEAD


def supplies_expiring(session: Session, now: datetime) -> int:
    today = now.date()
    return sum(1 for s in all_supplies(session) if expiring(s, today))


def supply_reminders(session: Session, services: Services, now: datetime) -> str:
    """The daily job: an item about to expire (once per expiry date), below its minimum
    (once per month), or due for inspection (the keeper, once per due date)."""
    tz = services.settings.tz
    today = now.astimezone(tz).date()
    officers = officer_ids(session, services.settings)
    sent = 0
    for s in all_supplies(session):
        people = [*officers, *([s.keeper] if s.keeper else [])]
        checks = []
        if expiring(s, today):
            checks.append(("expiry", f"{s.expires_on.isoformat()}", people))
        if s.min_quantity and s.quantity < s.min_quantity:
            checks.append(("low", f"{today:%Y-%m}", people))
        if s.keeper and is_due(s, today, tz):
            due = (
                s.last_checked_at.astimezone(tz).date() + timedelta(days=s.interval_days)
                if s.last_checked_at
                else today
            )
            checks.append(("inspect", due.isoformat(), [s.keeper]))
        for what, period, to in checks:
            body = texts.get(
                f"drills.supplies.{what}_reminder",
                name=s.name,
                quantity=s.quantity,
                minimum=s.min_quantity,
                location=s.location or "-",
                expires=s.expires_on.isoformat() if s.expires_on else "-",
                keeper=display(session, s.keeper) or "-",
            )
            queued = enqueue(
                session,
                to,
                text_message(body),
                source="drill:supply",
                now=now,
                dedup_key=f"supply:{s.id}:{what}:{period}",
            )
            sent += queued is not None
    return f"supply reminders {sent}"


def export_rows(session: Session, tz) -> list[list]:
    rows = []
    for s in all_supplies(session):
        rows.append(
            [
                s.id,
                s.name,
                s.quantity,
                s.min_quantity,
                s.location,
                display(session, s.keeper),
                s.interval_days,
                s.expires_on,
                condition_label(s),
                s.last_checked_at.astimezone(tz).replace(tzinfo=None)
                if s.last_checked_at
                else None,
            ]
        )
    return rows


def export_sheets(session: Session, tz):
    return [("应急物资", HEADER, export_rows(session, tz))]
