"""Hazard queries: they take a session, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.hazard import states
from bot.models import HazardPhoto, HazardReport, HazardTransition


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


def has_rectify_photo(session: Session, hazard: HazardReport) -> bool:
    """Any rectification photo, whatever its download status (a pending one still counts)."""
    return bool(
        session.scalar(
            select(func.count())
            .select_from(HazardPhoto)
            .where(HazardPhoto.hazard_id == hazard.id, HazardPhoto.kind == "rectify")
        )
    )


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


def reported_by(session: Session, userid: str, limit: int = 20) -> tuple[list[HazardReport], int]:
    """`userid`'s newest reports (at most `limit`) and how many they made in all."""
    rows = list(
        session.scalars(
            select(HazardReport)
            .where(HazardReport.reporter == userid)
            .order_by(HazardReport.id.desc())
            .limit(limit)
        )
    )
    total = session.scalar(
        select(func.count()).select_from(HazardReport).where(HazardReport.reporter == userid)
    )
    return rows, int(total or 0)


def open_hazards(session: Session, today: date) -> list[HazardReport]:
    """Every open report, most overdue first, then oldest first."""
    rows = list(
        session.scalars(select(HazardReport).where(HazardReport.status.in_(states.OPEN_STATUSES)))
    )
    rows.sort(key=lambda h: (-days_overdue(h, today), h.reported_at, h.id))
    return rows


def overdue_hazards(session: Session, today: date) -> list[HazardReport]:
    """Assigned reports past their deadline and not yet fixed, oldest deadline first."""
    return list(
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


# What the ledger shows of a report (ledger_rows): columns, not ORM objects — building 3,000
# report objects and their photos was most of the campaign summary's ledger time.
_LEDGER_COLUMNS = (
    HazardReport.id,
    HazardReport.ticket,
    HazardReport.reported_at,
    HazardReport.reporter,
    HazardReport.department_id,
    HazardReport.location,
    HazardReport.category,
    HazardReport.description,
    HazardReport.measure,
    HazardReport.funds,
    HazardReport.owner,
    HazardReport.deadline,
    HazardReport.rechecker,
    HazardReport.status,
    HazardReport.rectified_at,
    HazardReport.verified_at,
    HazardReport.closed_at,
)


def ledger_hazards(session: Session, *where: Any) -> list[Any]:
    """The ledger in report order as rows of the report's columns (attributes named as on
    HazardReport; days_overdue takes them); `where` narrows it (a console scope)."""
    return list(
        session.execute(
            select(*_LEDGER_COLUMNS)
            .where(*where)
            .order_by(HazardReport.reported_at, HazardReport.id)
        )
    )


def ledger_photos(session: Session, *where: Any) -> dict[int, list[Any]]:
    """hazard id -> its stored photos (kind, path) in the order taken, for the reports
    ledger_hazards(session, *where) returns."""
    out: dict[int, list[Any]] = {}
    for row in session.execute(
        select(HazardPhoto.hazard_id, HazardPhoto.kind, HazardPhoto.path)
        .where(
            HazardPhoto.status == "stored",
            HazardPhoto.path.is_not(None),
            HazardPhoto.path != "",
            HazardPhoto.hazard_id.in_(select(HazardReport.id).where(*where)),
        )
        .order_by(HazardPhoto.id)
    ):
        out.setdefault(row.hazard_id, []).append(row)
    return out


@dataclass(frozen=True)
class LedgerFilter:
    """What a ledger list or export is narrowed to (the console's filters, the CLI's options):
    a search in the ticket number and the description, one department, one status, and the
    local days the report came in (both ends included)."""

    search: str = ""
    department_id: int | None = None
    status: str | None = None
    since: date | None = None
    until: date | None = None

    def clauses(self, tz) -> list[Any]:
        out: list[Any] = []
        text = self.search.strip()
        if text:
            out.append(
                or_(
                    HazardReport.ticket.contains(text.upper(), autoescape=True),
                    HazardReport.description.contains(text, autoescape=True),
                )
            )
        if self.department_id is not None:
            out.append(HazardReport.department_id == self.department_id)
        if self.status:
            out.append(HazardReport.status == self.status)
        if self.since is not None:
            out.append(HazardReport.reported_at >= _local_midnight(self.since, tz))
        if self.until is not None:
            out.append(HazardReport.reported_at < _local_midnight(self.until + timedelta(1), tz))
        return out

    def is_empty(self) -> bool:
        return self == LedgerFilter()


def _local_midnight(day: date, tz) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)
