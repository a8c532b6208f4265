"""The hazard ledger (隐患台账): creating reports, assigning, moving them, telling people.

The rules and transitions live here (the status machine itself is bot.hazard.states); what
is sent is built in bot.hazard.notices. Handlers and jobs call these functions inside their
one transaction; everything sent to other people goes through the outbox in that same
transaction.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot import counters
from bot.content import texts
from bot.directory import department_heads, officer_ids
from bot.hazard import notices, points, queries, states
from bot.hazard.queries import days_overdue
from bot.models import HazardPhoto, HazardReport, User
from bot.outbox import enqueue
from bot.people import display, heads_of
from bot.services import Services
from bot.settings import Settings
from bot.tickets import next_ticket

PREFIX = "YH"


def local_date(settings: Settings, now: datetime) -> date:
    return now.astimezone(settings.tz).date()


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


def add_photo(
    session: Session, hazard: HazardReport, kind: str, values: dict[str, Any]
) -> HazardPhoto:
    """Attach a photo (`kind` "report" or "rectify"; values from photos.photo_values)."""
    photo = HazardPhoto(hazard_id=hazard.id, kind=kind, **values)
    session.add(photo)
    return photo


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
    origin: str | None = None,
    grade: str = "general",
    notify_officers: bool = True,
) -> HazardReport:
    """A new report (status reported) with its photos; the officers are told at once (unless
    an officer files it and assigns it in the same step: then there is nothing to accept).

    `origin` ("inspection:<assignment>:<item>") is unique in the ledger: a caller that may run
    twice for one finding (a retried callback) gets the database to refuse the second."""
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
        origin=origin,
        grade=grade,
        reported_at=now,
        updated_at=now,
    )
    session.add(hazard)
    session.flush()
    counters.took_part(session, reporter, local_date(settings, now))
    for values in photos:
        add_photo(session, hazard, "report", values)
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
    if notify_officers:
        notify_officers_new(session, settings, hazard, len(photos), now)
    notify_heads_new(session, settings, hazard, len(photos), now)
    return hazard


def notify_heads_new(
    session: Session, settings: Settings, hazard: HazardReport, n_photos: int, now: datetime
) -> None:
    """To the head(s) of the reported department: a hazard in their department. Once per
    report (the dedup key carries the ticket); officers already have the officers' notice and
    a head who reported it knows."""
    if hazard.department_id is None:
        return
    skip = set(officer_ids(session, settings)) | {hazard.reporter}
    heads = [h for h in department_heads(session, hazard.department_id) if h not in skip]
    if heads:
        enqueue(
            session,
            heads,
            notices.head_new(session, hazard, n_photos),
            source="hazard:new-head",
            now=now,
            dedup_key=f"hazard:new-head:{hazard.ticket}",
        )


def notify_officers_new(
    session: Session, settings: Settings, hazard: HazardReport, n_photos: int, now: datetime
) -> None:
    officers = officer_ids(session, settings)
    if not officers:
        return
    enqueue(
        session,
        officers,
        notices.officer_new(session, hazard, n_photos),
        source="hazard:new",
        now=now,
        dedup_key=f"hazard:new:{hazard.ticket}",
    )
    enqueue(
        session,
        officers,
        notices.card_message(notices.new_report_card(session, hazard)),
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
            notices.status_changed(hazard, to, extra),
            source="hazard:status",
            now=now,
            dedup_key=f"hazard:status:{hazard.ticket}:{to}",
        )
    if action == "finish":
        notify_rectified(session, settings, hazard, actor, now)
    if action == "return" and hazard.owner:
        # 退回整改: the fix goes back to its owner with the reason, and a fresh task card.
        enqueue(
            session,
            [hazard.owner],
            notices.returned(hazard, note),
            source="hazard:return",
            now=now,
        )
        enqueue(
            session,
            [hazard.owner],
            notices.card_message(notices.owner_card(hazard)),
            source="hazard:return",
            now=now,
        )
    return to


def notify_rectified(
    session: Session, settings: Settings, hazard: HazardReport, actor: str, now: datetime
) -> None:
    """The re-checker (or, without one, the safety officers) is asked to verify."""
    to = [hazard.rechecker] if hazard.rechecker else officer_ids(session, settings)
    to = [u for u in to if u != actor] or to
    fix_photos = queries.photo_counts(session, hazard)["rectify"]
    enqueue(
        session,
        to,
        notices.rectified(session, hazard, fix_photos),
        source="hazard:rectified",
        now=now,
    )
    enqueue(
        session,
        to,
        notices.card_message(notices.verify_card(session, hazard)),
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
    # The history shows this note as written: people by name, in the words of hazard.assign_note.
    note = "；".join(
        texts.get("hazard.assign_note", field=texts.get(f"hazard.assign_fields.{k}"), value=v)
        for k, v in (
            ("owner", display(session, owner)),
            ("deadline", deadline.isoformat()),
            ("measure", hazard.measure),
            ("funds", hazard.funds),
            ("rechecker", display(session, hazard.rechecker)),
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
    enqueue(
        session, [owner], notices.owner_assigned(session, hazard), source="hazard:assign", now=now
    )
    enqueue(
        session,
        [owner],
        notices.card_message(notices.owner_card(hazard)),
        source="hazard:assign",
        now=now,
    )


# -- overdue ----------------------------------------------------------------------------------
def remind_overdue(session: Session, services: Services, now: datetime) -> str:
    """Daily: remind each owner of an overdue fix and tell the officers and the owner's head.

    Idempotent per item per day: the outbox dedup keys carry the ticket and the date.
    """
    settings = services.settings
    today = local_date(settings, now)
    overdue = queries.overdue_hazards(session, today)
    officers = officer_ids(session, settings)
    sent = 0
    for hazard in overdue:
        days = days_overdue(hazard, today)
        owner = hazard.owner or ""
        mid = enqueue(
            session,
            [owner],
            notices.overdue_owner(hazard, days),
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
                notices.overdue_escalate(session, hazard, days, owner_user_dept),
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
