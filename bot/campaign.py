"""The campaign's period: content/campaign.yaml says when it starts and ends; an officer may
extend it (the extension is an audited row in the database, since content is read-only for the
bot). Daily tips and quiz pushes run only inside the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import content
from bot.models import AuditLog

EXTEND_ACTION = "campaign:extend"


@dataclass(frozen=True)
class Campaign:
    year: int
    number: int
    theme: str
    start: date
    end: date
    consultation_day: date | None

    def running_on(self, day: date) -> bool:
        return self.start <= day <= self.end


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def from_content() -> Campaign:
    raw = content.load("campaign.yaml")
    return Campaign(
        year=int(raw["year"]),
        number=int(raw.get("number") or 0),
        theme=str(raw.get("theme") or ""),
        start=_as_date(raw["start"]),
        end=_as_date(raw["end"]),
        consultation_day=_as_date(raw.get("consultation_day")),
    )


def current(session: Session) -> Campaign:
    """The campaign as configured, with the latest officer extension applied."""
    base = from_content()
    detail = session.scalar(
        select(AuditLog.detail)
        .where(AuditLog.action == EXTEND_ACTION, AuditLog.allowed.is_(True))
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(1)
    )
    if not detail:
        return base
    try:
        end = date.fromisoformat(detail.split()[0])
    except ValueError:
        return base
    return Campaign(
        base.year, base.number, base.theme, base.start, max(end, base.start), base.consultation_day
    )


class ExtendRefused(ValueError):
    pass


def extend(session: Session, actor: str, new_end: date, now: datetime, today: date) -> Campaign:
    """Move the end of the campaign to `new_end` (audited). Not before today or the start."""
    campaign = current(session)
    if new_end < today or new_end < campaign.start:
        raise ExtendRefused(f"{new_end} is before today ({today}) or the start ({campaign.start})")
    session.add(
        AuditLog(
            at=now,
            actor=actor,
            action=EXTEND_ACTION,
            allowed=True,
            detail=f"{new_end.isoformat()} (was {campaign.end.isoformat()})",
        )
    )
    session.flush()
    return current(session)
