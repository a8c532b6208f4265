"""Console-side operations: form validation around the feature functions they call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import localtime
from bot import suggestion as suggestions
from bot.checkin import events as checkin_events
from bot.content import texts
from bot.hazard import ledger, queries, states
from bot.models import (
    CheckinEvent,
    Department,
    HazardReport,
    Suggestion,
    SuggestionReply,
    User,
)
from bot.settings import Settings
from bot.warnings.publish import labels, recipients_for
from bot.warnings.templates import render_free_text, render_typed


class EventError(ValueError):
    pass


def parse_local(value: str, settings: Settings) -> datetime:
    """A <input type=datetime-local> value ("2026-06-05T09:00") in the bot's time zone."""
    try:
        return localtime.parse_local(value, settings.tz)
    except localtime.LocalTimeError as exc:
        raise EventError(str(exc)) from exc


class PastStart(EventError):
    """The start has passed: the form asks to confirm before creating."""


def _coordinate(value: str, low: float, high: float) -> float | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise EventError(texts.get("console.event_bad_coordinate")) from None
    if not low <= number <= high:
        raise EventError(texts.get("console.event_coordinate_range"))
    return number


def create_event(
    session: Session,
    settings: Settings,
    now: datetime,
    *,
    actor: str,
    title: str,
    kind: str,
    starts: str,
    ends: str,
    departments: list[int] | None = None,
    latitude: str = "",
    longitude: str = "",
    radius: str = "",
    place: str = "",
    confirm_past: bool = False,
) -> CheckinEvent:
    """The console form -> bot.create_event (one place makes events and their codes)."""

    title = title.strip()[:128]
    if not title:
        raise EventError("请填写活动名称。")
    starts_at, ends_at = parse_local(starts, settings), parse_local(ends, settings)
    if ends_at <= starts_at:
        raise EventError("结束时间应晚于开始时间。")
    lat, lng = _coordinate(latitude, -90, 90), _coordinate(longitude, -180, 180)
    if (lat is None) != (lng is None):
        raise EventError(texts.get("console.event_half_place"))
    radius = (radius or "").strip()
    if radius and (not radius.isdigit() or not 10 <= int(radius) <= 5000):
        raise EventError(texts.get("console.event_bad_radius"))
    known = {d.id for d in session.scalars(select(Department))}
    if any(d not in known for d in departments or []):
        raise EventError(texts.get("console.event_unknown_department"))
    if checkin_events.starts_in_the_past(starts_at, now) and not confirm_past:
        raise PastStart(
            texts.get("console.event_past", starts=localtime.stamp(starts_at, settings.tz))
        )
    try:
        return checkin_events.create_event(
            session,
            kind=kind if kind in checkin_events.kinds() else "other",
            title=title,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=actor,
            now=now,
            latitude=lat,
            longitude=lng,
            radius_m=int(radius) if radius and lat is not None else None,
            department_ids=departments or [],
            tz=settings.tz,
            place=" ".join((place or "").split())[:128] or None,
        )
    except (ValueError, RuntimeError) as exc:
        raise EventError("未能创建活动，请检查时间后重试。") from exc


class BroadcastError(ValueError):
    pass


@dataclass
class Draft:
    kind: str  # broadcast | warning
    rendered: object  # bot.warnings.templates.RenderedWarning
    text: str
    department_ids: list[int]
    recipients: int
    require_ack: bool
    send_at: datetime


def compose_broadcast(
    session: Session,
    settings: Settings,
    now: datetime,
    form: Mapping[str, str],
    departments: list[str],
) -> Draft:
    """Validate the composer form and render the message exactly as it will be sent."""

    kind = form.get("kind", "broadcast")
    text = (form.get("text") or "").strip()
    title = (form.get("title") or "").strip()
    level = form.get("level") or None
    if kind not in ("broadcast", "warning"):
        raise BroadcastError("类型无效。")
    if not text:
        raise BroadcastError("请填写正文。")
    if kind == "warning":
        if level not in ("blue", "yellow", "orange", "red"):
            raise BroadcastError("请选择预警级别。")
        if not title:
            raise BroadcastError("预警需要标题。")
        rendered = render_free_text(title, text, level)
    elif title:  # a notice keeps its title too: 【通知】标题, then the text
        rendered = render_free_text(title, text, prefix=texts.get("warning.broadcast_prefix"))
    else:
        rendered = render_typed(text, prefix=texts.get("warning.broadcast_prefix"))
    ids = sorted({int(d) for d in departments if str(d).isdigit()})
    recipients = len(recipients_for(session, ids))
    if not recipients:
        raise BroadcastError("所选范围内没有成员。")
    send_at = now
    if form.get("send_at"):
        try:
            send_at = parse_local(form["send_at"], settings)
        except EventError as exc:
            raise BroadcastError(str(exc)) from exc
        send_at = max(send_at, now)
    require_ack = form.get("require_ack") == "1"  # a notice may ask for 收到 too
    return Draft(
        kind=kind,
        rendered=rendered,
        text=rendered.text(labels()),
        department_ids=ids,
        recipients=recipients,
        require_ack=require_ack,
        send_at=send_at,
    )


class SuggestionReplyError(ValueError):
    pass


def reply_to_suggestion(
    session: Session, now: datetime, suggestion: Suggestion, *, actor: str, content: str
) -> SuggestionReply:
    """The console's reply form -> bot.suggestion.reply (the same as chat's 回复 JY-…); the
    proposer sees the console's replier name."""

    content = (content or "").strip()[:2000]
    if not content:
        raise SuggestionReplyError("回复内容不能为空。")
    return suggestions.reply(
        session,
        suggestion,
        replier=actor,
        replier_name=texts.get("console.replier"),
        content=content,
        now=now,
    )


def adopt_suggestion(
    session: Session, now: datetime, suggestion: Suggestion, *, actor: str, note: str = ""
) -> bool:
    """The console's 采纳 button -> bot.suggestion.adopt (the same as chat's 建议 采纳 JY-…);
    False if it was adopted already."""
    return suggestions.adopt(
        session,
        suggestion,
        adopter=actor,
        adopter_name=texts.get("console.replier"),
        note=note,
        now=now,
    )


# -- hazard ledger forms ------------------------------------------------------------------------
class HazardActionError(ValueError):
    pass


REFUSALS = {
    "need_reason": "驳回需要填写原因。",
    "need_proof": "完成整改需要填写整改说明或上传照片。",
    "need_owner": "开始整改前请先指派责任人。",
}


def assign_hazard(
    session: Session,
    settings: Settings,
    now: datetime,
    hazard: HazardReport,
    *,
    actor: str,
    form: Mapping[str, str],
) -> tuple[str, date]:
    """The console's assign form -> bot.hazard.ledger.assign; returns (owner, deadline)."""

    owner = (form.get("owner") or "").strip()
    try:
        deadline = date.fromisoformat(form.get("deadline") or "")
    except ValueError:
        deadline = None
    if not owner or session.get(User, owner) is None or deadline is None:
        raise HazardActionError("请选择责任人并填写整改期限（YYYY-MM-DD）。")

    def opt(name: str) -> str | None:
        return (form.get(name) or "").strip() or None

    try:
        ledger.assign(
            session,
            settings,
            hazard,
            actor=actor,
            now=now,
            owner=owner,
            deadline=deadline,
            rechecker=opt("rechecker"),
            measure=opt("measure"),
            funds=opt("funds"),
        )
    except states.TransitionRefused as exc:
        raise HazardActionError(f"无法指派：{exc}") from exc
    return owner, deadline


def move_hazard(
    session: Session,
    settings: Settings,
    now: datetime,
    hazard: HazardReport,
    *,
    actor: str,
    action: str,
    note: str = "",
) -> str:
    """The console's action buttons -> bot.hazard.ledger.change; returns the new status."""

    try:
        return ledger.change(
            session,
            settings,
            hazard,
            action,
            actor=actor,
            now=now,
            note=note,
            has_photo=queries.photo_counts(session, hazard)["rectify"] > 0,
        )
    except states.IllegalTransition as exc:
        label = states.status_label(hazard.status)
        raise HazardActionError(f"当前状态（{label}）不能执行此操作。") from exc
    except states.TransitionRefused as exc:
        raise HazardActionError(REFUSALS.get(exc.reason, str(exc))) from exc
