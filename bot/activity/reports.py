"""Activity reports (报送): who may file, filing, sending back, resubmitting, delegates.

Queries take a session and never commit: the caller (a chat message, a console request)
owns the transaction.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.db import insert_ignore
from bot.directory import department_heads
from bot.localtime import parse_chat_date
from bot.messages import text_message
from bot.models import (
    ActivityDelegate,
    ActivityPhoto,
    ActivityReport,
    ActivityReportEvent,
    RoleAssignment,
    User,
)
from bot.outbox import enqueue

MAX_DESCRIPTION = 2000
MAX_PLACE = 255
MAX_HEAD_COUNT = 100_000


class ActivityError(ValueError):
    """A refused step; `key` names the one-line hint (content `activity.*`)."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key, self.values = key, values


# -- vocabulary -----------------------------------------------------------------------------------
def kinds() -> dict[str, str]:
    return {str(k): str(v) for k, v in texts.raw("activity.kinds").items()}


def kind_label(kind: str) -> str:
    return kinds().get(kind, kind)


def kind_options() -> str:
    return "\n".join(f"{i}. {label}" for i, label in enumerate(kinds().values(), start=1))


def parse_kind(text: str) -> str | None:
    """A kind by its number in the list or by its name."""
    keys, text = list(kinds()), text.strip()
    if text.isdigit() and 1 <= int(text) <= len(keys):
        return keys[int(text) - 1]
    for key, label in kinds().items():
        if text and text in (label, label.strip("“”")):
            return key
    return None


def status_label(status: str) -> str:
    return texts.get(f"activity.statuses.{status}")


def parse_head_count(text: str) -> int:
    """A positive whole number of people ("25", "25人"); ActivityError otherwise."""
    m = re.fullmatch(r"\s*(\d{1,6})\s*(人|名|位)?\s*", text or "")
    if not m or not 0 < int(m.group(1)) <= MAX_HEAD_COUNT:
        raise ActivityError("head_count_hint")
    return int(m.group(1))


PAST_DAYS = {"昨天": 1, "昨日": 1, "前天": 2, "大前天": 3}


def parse_date(text: str, today: date) -> date:
    """The day an activity took place, as typed in chat: 今天, 昨天, 前天, 6月12日, 2026-06-12 …
    (bot.localtime.parse_chat_date plus the days behind); ActivityError for no date or a
    date still to come."""
    text = (text or "").strip()
    if text in PAST_DAYS:
        return today - timedelta(days=PAST_DAYS[text])
    return check_date(parse_chat_date(text, today), today)


def check_date(held_on: date | None, today: date) -> date:
    if held_on is None:
        raise ActivityError("date_hint")
    if held_on > today:
        raise ActivityError("date_future", date=held_on.isoformat())
    return held_on


# -- who files --------------------------------------------------------------------------------------
def filing_departments(session: Session, userid: str) -> list[int]:
    """The departments `userid` may file for: those they head (WeCom 部门负责人 or a
    department_head grant) and those whose head named them; sorted."""
    user = session.get(User, userid)
    found: set[int] = set()
    if user is not None and user.status == 1:
        found.update(user.leader_of or [])
    found.update(
        d
        for d in session.scalars(
            select(RoleAssignment.department_id).where(
                RoleAssignment.userid == userid, RoleAssignment.role == "department_head"
            )
        )
        if d
    )
    found.update(
        session.scalars(
            select(ActivityDelegate.department_id).where(ActivityDelegate.userid == userid)
        )
    )
    return sorted(found)


def headed_departments(session: Session, userid: str) -> list[int]:
    """The departments `userid` heads (who may name delegates)."""
    delegated = set(
        session.scalars(
            select(ActivityDelegate.department_id).where(ActivityDelegate.userid == userid)
        )
    )
    user = session.get(User, userid)
    led = set(user.leader_of or []) if user is not None else set()
    return [d for d in filing_departments(session, userid) if d in led or d not in delegated]


def add_delegate(session: Session, department_id: int, userid: str, by: str, now: datetime) -> bool:
    """True if `userid` was added (False: already a delegate)."""
    row = insert_ignore(
        session,
        ActivityDelegate,
        {"department_id": department_id, "userid": userid, "added_by": by, "added_at": now},
        returning=ActivityDelegate.id,
    ).first()
    return row is not None


def remove_delegate(session: Session, department_id: int, userid: str) -> bool:
    gone = session.execute(
        delete(ActivityDelegate)
        .where(ActivityDelegate.department_id == department_id, ActivityDelegate.userid == userid)
        .returning(ActivityDelegate.id)
    ).first()
    return gone is not None


# -- filing -----------------------------------------------------------------------------------------
def file_report(
    session: Session,
    *,
    source_key: str,
    department_id: int | None,
    filed_by: str,
    kind: str,
    held_on: date,
    place: str,
    description: str,
    head_count: int,
    media_ids: list[str] = (),  # type: ignore[assignment]
    now: datetime,
) -> ActivityReport | None:
    """File one report; None if `source_key` already filed one (a retried callback or a
    form posted twice). Chat photos are recorded as pending media ids for the fetch job."""
    if kind not in kinds():
        raise ActivityError("kind_hint", max=len(kinds()))
    new_id = insert_ignore(
        session,
        ActivityReport,
        {
            "source_key": source_key[:191],
            "department_id": department_id,
            "filed_by": filed_by,
            "kind": kind,
            "held_on": held_on,
            "place": place.strip()[:MAX_PLACE],
            "description": description.strip()[:MAX_DESCRIPTION],
            "head_count": head_count,
            "status": "submitted",
            "version": 1,
            "created_at": now,
            "updated_at": now,
        },
        returning=ActivityReport.id,
    ).scalar()
    if new_id is None:
        return None
    report = session.get(ActivityReport, new_id)
    for media_id in dict.fromkeys(media_ids):
        session.add(ActivityPhoto(report_id=new_id, media_id=media_id, received_at=now))
    _history(session, report, filed_by, "submitted", "", now)
    return report


def snapshot(report: ActivityReport) -> dict[str, Any]:
    return {
        "kind": report.kind,
        "held_on": report.held_on.isoformat(),
        "place": report.place,
        "description": report.description,
        "head_count": report.head_count,
        "version": report.version,
    }


def _history(session, report, actor: str, action: str, note: str, now: datetime) -> None:
    session.add(
        ActivityReportEvent(
            report_id=report.id,
            at=now,
            actor=actor[:64],
            action=action,
            note=note,
            snapshot=snapshot(report),
        )
    )


def send_back(
    session: Session, report: ActivityReport, *, actor: str, reason: str, tz, now: datetime
) -> None:
    """Return a report for more detail and tell the filer why, in chat."""
    reason = reason.strip()[:1000]
    if not reason:
        raise ActivityError("console_return_reason")
    if report.status == "returned":
        raise ActivityError("console_return_state", id=report.id)
    report.status, report.updated_at = "returned", now
    _history(session, report, actor, "returned", reason, now)
    session.flush()
    notice = texts.get(
        "activity.returned_notice",
        id=report.id,
        date=f"{report.held_on.month}月{report.held_on.day}日",
        kind=kind_label(report.kind),
        reason=reason,
    )
    # Filed in the console (console:<account>): the department's heads hear it in chat.
    to = (
        department_heads(session, report.department_id)
        if report.filed_by.startswith("console:") and report.department_id
        else [report.filed_by]
    )
    if not to:
        return
    enqueue(
        session,
        to,
        text_message(notice),
        source="activity:returned",
        now=now,
        dedup_key=f"activity:returned:{report.id}:{report.version}",
    )


def resubmit(session: Session, report_id: int, userid: str, addition: str, now: datetime):
    """The filer (or anyone filing for its department) adds detail to a returned report."""
    report = session.get(ActivityReport, report_id)
    if report is None or (
        report.filed_by != userid
        and report.department_id not in filing_departments(session, userid)
    ):
        raise ActivityError("resubmit_not_found", id=report_id)
    if report.status != "returned":
        raise ActivityError("resubmit_not_returned", id=report_id)
    addition = addition.strip()
    if not addition:
        raise ActivityError("resubmit_usage")
    report.description = f"{report.description}\n（补充）{addition}"[:MAX_DESCRIPTION]
    report.status, report.version, report.updated_at = "submitted", report.version + 1, now
    _history(session, report, userid, "resubmitted", addition, now)
    return report


# -- reading --------------------------------------------------------------------------------------
def reports(session: Session, *where: Any, limit: int | None = None) -> list[ActivityReport]:
    narrowing = [w for w in where if w is not True]
    q = (
        select(ActivityReport)
        .where(*narrowing)
        .order_by(ActivityReport.held_on.desc(), ActivityReport.id.desc())
    )
    if limit:
        q = q.limit(limit)
    return list(session.scalars(q))


def department_reports(
    session: Session, departments: list[int], limit: int | None = None
) -> list[ActivityReport]:
    return reports(session, ActivityReport.department_id.in_(departments or [-1]), limit=limit)


def history(session: Session, report_id: int) -> list[ActivityReportEvent]:
    return list(
        session.scalars(
            select(ActivityReportEvent)
            .where(ActivityReportEvent.report_id == report_id)
            .order_by(ActivityReportEvent.at, ActivityReportEvent.id)
        )
    )


def photos(session: Session, report_id: int) -> list[ActivityPhoto]:
    return list(
        session.scalars(
            select(ActivityPhoto)
            .where(ActivityPhoto.report_id == report_id)
            .order_by(ActivityPhoto.id)
        )
    )
