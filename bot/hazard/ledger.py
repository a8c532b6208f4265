"""The hazard ledger (隐患台账): creating reports, assigning, moving them, telling people.

Handlers and jobs call these functions inside their one transaction; everything sent to
other people goes through the outbox in that same transaction.
"""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.directory import officer_ids
from bot.hazard import points, states
from bot.hazard.people import department_name, display, heads_of
from bot.hazard.tickets import next_ticket
from bot.models import HazardPhoto, HazardReport, HazardTransition, User
from bot.outbox import enqueue
from bot.settings import Settings

CATEGORIES = ("fire", "electrical", "escape", "machinery", "chemicals", "height", "other")
PREFIX = "YH"


# -- labels -------------------------------------------------------------------------------------
def category_label(key: str) -> str:
    return texts.get(f"hazard.categories.{key if key in CATEGORIES else 'other'}")


def status_label(status: str) -> str:
    return texts.get(f"hazard.statuses.{status}")


def action_label(action: str) -> str:
    return texts.get(f"hazard.actions.{action}")


def category_options() -> str:
    return "\n".join(f"{i}. {category_label(k)}" for i, k in enumerate(CATEGORIES, 1))


def parse_category(text: str) -> str | None:
    """ "1"…"7", or a category name ("消防", "用电" …; a name inside the text also counts)."""
    t = (text or "").strip().rstrip(".。")
    if t.isdigit():
        n = int(t)
        return CATEGORIES[n - 1] if 1 <= n <= len(CATEGORIES) else None
    for key in CATEGORIES:
        if t == category_label(key):
            return key
    for key in CATEGORIES:
        if t and category_label(key) in t:
            return key
    return None


def local_date(settings: Settings, now: datetime) -> date:
    return now.astimezone(settings.tz).date()


def fmt_time(settings: Settings, value: datetime | None) -> str:
    return value.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M") if value else ""


def text_body(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


# -- cards --------------------------------------------------------------------------------------
def button_card(
    title: str,
    desc: str,
    rows: list[tuple[str, str]],
    buttons: list[tuple[str, str, int]],
    task_id: str,
    replace_text: str | None = None,
) -> dict[str, Any]:
    """A button_interaction template card (发送应用消息 › 模板卡片 › 按钮交互型).

    WeCom limits: ≤6 horizontal rows, keyname ≤5 chars, ≤6 buttons, task_id ≤128 chars of
    [0-9a-zA-Z_-@] and unique within the app.
    """
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "source": {"desc": texts.get("hazard.card_source")},
        "main_title": {"title": title[:36], "desc": desc[:44]},
        "horizontal_content_list": [
            {"keyname": k[:5], "value": (v or "-")[:30]} for k, v in rows[:6]
        ],
        "task_id": task_id[:128],
        "button_list": [{"text": t, "style": s, "key": k} for t, k, s in buttons[:6]],
    }
    if replace_text:
        card["replace_text"] = replace_text
    return card


def task_id(action: str, ticket: str) -> str:
    return f"hz-{action}-{ticket}-{secrets.token_hex(4)}"


def new_report_card(
    session: Session, hazard: HazardReport, *, done: bool = False
) -> dict[str, Any]:
    t = texts.get
    return button_card(
        t("hazard.card_new_title", ticket=hazard.ticket),
        hazard.description,
        [
            (t("hazard.card_label_ticket"), hazard.ticket),
            (t("hazard.card_label_category"), category_label(hazard.category)),
            (t("hazard.card_label_location"), hazard.location or t("hazard.no_location")),
            (t("hazard.card_label_reporter"), display(session, hazard.reporter)),
        ],
        [(t("hazard.card_accept"), f"hazard:accept:{hazard.ticket}", 1)],
        task_id("accept", hazard.ticket),
        t("hazard.card_accepted") if done else None,
    )


def owner_card(hazard: HazardReport, replace: str | None = None) -> dict[str, Any]:
    t = texts.get
    deadline = hazard.deadline.isoformat() if hazard.deadline else t("hazard.unset")
    return button_card(
        t("hazard.card_owner_title", ticket=hazard.ticket),
        t("hazard.card_owner_desc", deadline=deadline),
        [
            (t("hazard.card_label_ticket"), hazard.ticket),
            (t("hazard.card_label_location"), hazard.location or t("hazard.no_location")),
            (t("hazard.card_label_deadline"), deadline),
            (t("hazard.card_label_measure"), hazard.measure or t("hazard.unset")),
        ],
        [
            (t("hazard.card_start"), f"hazard:start:{hazard.ticket}", 2),
            (t("hazard.card_done"), f"hazard:done:{hazard.ticket}", 1),
        ],
        task_id("owner", hazard.ticket),
        replace,
    )


def verify_card(
    session: Session, hazard: HazardReport, replace: str | None = None
) -> dict[str, Any]:
    t = texts.get
    return button_card(
        t("hazard.card_verify_title", ticket=hazard.ticket),
        hazard.rectify_note or hazard.description,
        [
            (t("hazard.card_label_ticket"), hazard.ticket),
            (t("hazard.card_label_location"), hazard.location or t("hazard.no_location")),
            (t("hazard.card_label_reporter"), display(session, hazard.reporter)),
        ],
        [(t("hazard.card_verify"), f"hazard:verify:{hazard.ticket}", 1)],
        task_id("verify", hazard.ticket),
        replace,
    )


# -- queries ------------------------------------------------------------------------------------
def get_by_ticket(session: Session, ticket: str, *, lock: bool = False) -> HazardReport | None:
    stmt = select(HazardReport).where(HazardReport.ticket == ticket)
    if lock:
        stmt = stmt.with_for_update()  # PostgreSQL: two officers clicking at once take turns
    return session.scalar(stmt)


def photo_counts(session: Session, hazard: HazardReport) -> dict[str, int]:
    counts = {"report": 0, "rectify": 0}
    for kind in session.scalars(
        select(HazardPhoto.kind).where(
            HazardPhoto.hazard_id == hazard.id, HazardPhoto.status != "failed"
        )
    ):
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def history(session: Session, hazard: HazardReport) -> list[HazardTransition]:
    return list(
        session.scalars(
            select(HazardTransition)
            .where(HazardTransition.hazard_id == hazard.id)
            .order_by(HazardTransition.id)
        )
    )


def days_overdue(hazard: HazardReport, today: date) -> int:
    if hazard.deadline is None or hazard.status not in states.UNFIXED_STATUSES:
        return 0
    return max(0, (today - hazard.deadline).days)


# -- creating a report --------------------------------------------------------------------------
def photos_from_flow(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Conversation data keeps photos as JSON; turn ISO times back into datetimes."""
    out, seen = [], set()
    for item in items:
        if item["media_id"] in seen:
            continue
        seen.add(item["media_id"])
        values = dict(item)
        for key in ("received_at", "stored_at"):
            if values.get(key):
                values[key] = datetime.fromisoformat(values[key])
        out.append(values)
    return out


def create_report(
    session: Session,
    settings: Settings,
    *,
    reporter: str,
    department_id: int | None,
    description: str,
    category: str,
    location: str,
    latitude: float | None,
    longitude: float | None,
    photos: list[dict[str, Any]],
    now: datetime,
) -> HazardReport:
    ticket = next_ticket(session, PREFIX, local_date(settings, now))
    hazard = HazardReport(
        ticket=ticket,
        reporter=reporter,
        department_id=department_id,
        description=description.strip()[:2000],
        category=category,
        location=(location or "")[:255],
        latitude=latitude,
        longitude=longitude,
        status="reported",
        reported_at=now,
        updated_at=now,
    )
    session.add(hazard)
    session.flush()
    for values in photos:
        session.add(HazardPhoto(hazard_id=hazard.id, kind="report", **values))
    states.record(
        session,
        hazard,
        actor=reporter,
        action="report",
        from_status=None,
        to_status="reported",
        note="",
        now=now,
    )
    session.flush()
    notify_officers_new(session, settings, hazard, len(photos), now)
    return hazard


def notify_officers_new(
    session: Session, settings: Settings, hazard: HazardReport, n_photos: int, now: datetime
) -> None:
    officers = officer_ids(session, settings)
    if not officers:
        return
    text = texts.get(
        "hazard.officer_new",
        ticket=hazard.ticket,
        reporter=display(session, hazard.reporter),
        department=department_name(session, hazard.department_id) or "-",
        category=category_label(hazard.category),
        location=hazard.location or texts.get("hazard.no_location"),
        description=hazard.description,
        photos=n_photos,
    )
    enqueue(
        session,
        officers,
        text_body(text),
        source="hazard:new",
        now=now,
        dedup_key=f"hazard:new:{hazard.ticket}",
    )
    enqueue(
        session,
        officers,
        {"msgtype": "template_card", "template_card": new_report_card(session, hazard)},
        source="hazard:new",
        now=now,
        dedup_key=f"hazard:new-card:{hazard.ticket}",
    )


# -- moving a report ----------------------------------------------------------------------------
def change(
    session: Session,
    settings: Settings,
    hazard: HazardReport,
    action: str,
    *,
    actor: str,
    now: datetime,
    note: str = "",
    has_photo: bool = False,
) -> str:
    """Apply `action` (state machine), award points, tell the people concerned."""
    to = states.apply(session, hazard, action, actor=actor, now=now, note=note, has_photo=has_photo)
    extra = ""
    if action == "verify":
        points.award_verified(session, hazard, now)
        extra = texts.get("hazard.status_extra_verified", points=points.VERIFY_POINTS)
    elif action == "reject":
        extra = texts.get("hazard.status_extra_rejected", reason=hazard.reject_reason or "")
    if hazard.reporter != actor:
        enqueue(
            session,
            [hazard.reporter],
            text_body(
                texts.get(
                    "hazard.status_changed",
                    ticket=hazard.ticket,
                    status=status_label(to),
                    extra=extra,
                )
            ),
            source="hazard:status",
            now=now,
            dedup_key=f"hazard:status:{hazard.ticket}:{to}",
        )
    if action == "finish":
        notify_rectified(session, settings, hazard, actor, now)
    return to


def notify_rectified(
    session: Session, settings: Settings, hazard: HazardReport, actor: str, now: datetime
) -> None:
    """The re-checker (or, without one, the safety officers) is asked to verify."""
    to = [hazard.rechecker] if hazard.rechecker else officer_ids(session, settings)
    to = [u for u in to if u != actor] or to
    counts = photo_counts(session, hazard)
    text = texts.get(
        "hazard.rectified_notice",
        ticket=hazard.ticket,
        owner=display(session, hazard.owner),
        note=hazard.rectify_note or "-",
        photos=counts["rectify"],
    )
    enqueue(session, to, text_body(text), source="hazard:rectified", now=now)
    enqueue(
        session,
        to,
        {"msgtype": "template_card", "template_card": verify_card(session, hazard)},
        source="hazard:rectified",
        now=now,
    )


def assign(
    session: Session,
    settings: Settings,
    hazard: HazardReport,
    *,
    actor: str,
    now: datetime,
    owner: str,
    deadline: date,
    rechecker: str | None = None,
    measure: str | None = None,
    funds: str | None = None,
    item: str | None = None,
) -> None:
    """Set the six determinations (六定) and send the owner a task card.

    A report still waiting for acceptance is accepted first (both changes are recorded).
    """
    if hazard.status == "reported":
        change(session, settings, hazard, "accept", actor=actor, now=now)
    if hazard.status not in ("accepted", "rectifying"):
        raise states.IllegalTransition(hazard.status, "assign")
    hazard.owner, hazard.deadline = owner, deadline
    hazard.item = item or hazard.item or hazard.description
    if measure is not None:
        hazard.measure = measure
    if funds is not None:
        hazard.funds = funds
    if rechecker is not None:
        hazard.rechecker = rechecker
    hazard.updated_at = now
    note = "；".join(
        f"{k}={v}"
        for k, v in (
            ("责任人", owner),
            ("期限", deadline.isoformat()),
            ("措施", hazard.measure),
            ("资金", hazard.funds),
            ("复查人", hazard.rechecker),
        )
        if v
    )
    states.record(
        session,
        hazard,
        actor=actor,
        action="assign",
        from_status=hazard.status,
        to_status=hazard.status,
        note=note,
        now=now,
    )
    unset = texts.get("hazard.unset")
    text = texts.get(
        "hazard.owner_assigned",
        ticket=hazard.ticket,
        item=hazard.item,
        measure=hazard.measure or unset,
        funds=hazard.funds or unset,
        deadline=deadline.isoformat(),
        rechecker=display(session, hazard.rechecker) or unset,
    )
    enqueue(session, [owner], text_body(text), source="hazard:assign", now=now)
    enqueue(
        session,
        [owner],
        {"msgtype": "template_card", "template_card": owner_card(hazard)},
        source="hazard:assign",
        now=now,
    )


# -- overdue ----------------------------------------------------------------------------------
def remind_overdue(session: Session, runtime, now: datetime) -> str:
    """Daily: remind each owner of an overdue fix and tell the officers and the owner's head.

    Idempotent per item per day: the outbox dedup keys carry the ticket and the date.
    """
    settings = runtime.settings
    today = local_date(settings, now)
    overdue = list(
        session.scalars(
            select(HazardReport)
            .where(
                HazardReport.deadline < today,
                HazardReport.owner.is_not(None),
                HazardReport.status.in_(states.UNFIXED_STATUSES),
            )
            .order_by(HazardReport.deadline, HazardReport.id)
        )
    )
    officers = officer_ids(session, settings)
    sent = 0
    for hazard in overdue:
        days = days_overdue(hazard, today)
        owner = hazard.owner or ""
        mid = enqueue(
            session,
            [owner],
            text_body(
                texts.get(
                    "hazard.overdue_owner",
                    ticket=hazard.ticket,
                    deadline=hazard.deadline.isoformat(),
                    days=days,
                    item=hazard.item or hazard.description,
                )
            ),
            source="hazard:overdue",
            now=now,
            dedup_key=f"hazard:overdue:{hazard.ticket}:{today}",
        )
        up = [u for u in dict.fromkeys(officers + heads_of(session, owner)) if u != owner]
        user = session.get(User, owner)
        owner_user_dept = user.department_id if user else None
        if up:
            enqueue(
                session,
                up,
                text_body(
                    texts.get(
                        "hazard.overdue_escalate",
                        ticket=hazard.ticket,
                        days=days,
                        deadline=hazard.deadline.isoformat(),
                        owner=display(session, owner),
                        department=department_name(session, owner_user_dept) or "-",
                        item=hazard.item or hazard.description,
                        status=status_label(hazard.status),
                    )
                ),
                source="hazard:overdue",
                now=now,
                dedup_key=f"hazard:overdue-up:{hazard.ticket}:{today}",
            )
        sent += 1 if mid else 0
    return f"{len(overdue)} overdue, {sent} reminded"


# -- assignment arguments ---------------------------------------------------------------------
OPTION_KEYS = {
    "事项": "item",
    "措施": "measure",
    "资金": "funds",
    "复查人": "rechecker",
    "复查": "rechecker",
    "责任人": "owner",
    "期限": "deadline",
}
_OPTION_RE = re.compile(r"(事项|措施|资金|复查人|复查|责任人|期限)\s*[=:＝：]\s*")


def split_options(text: str) -> tuple[str, dict[str, str]]:
    """ "张三 2026-06-20 措施=清理 通道 资金=500元" -> ("张三 2026-06-20", {measure:…, funds:…})."""
    parts = _OPTION_RE.split(text)
    head, options = parts[0].strip(), {}
    for key, value in zip(parts[1::2], parts[2::2], strict=False):
        options[OPTION_KEYS[key]] = value.strip()
    return head, options


def parse_deadline(text: str, today: date) -> date | None:
    """2026-06-20, 2026/6/20, 2026.6.20, 20260620, 6-20, 6/20, 6月20日 (this year)."""
    t = (text or "").strip()
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", t) or re.fullmatch(
        r"(\d{4})(\d{2})(\d{2})", t
    )
    try:
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = re.fullmatch(r"(\d{1,2})[-/.月](\d{1,2})日?", t)
        if m:
            return date(today.year, int(m.group(1)), int(m.group(2)))
    except ValueError:
        return None
    return None
