"""Ticket numbers: YH-YYYYMMDD-NNNN for hazards, JY-YYYYMMDD-NNNN for suggestions.

The per-day sequence is one counter row per (prefix, day), bumped with a single
INSERT … ON CONFLICT DO UPDATE … RETURNING: the database serialises concurrent reports on that
row (PostgreSQL row lock; SQLite's BEGIN IMMEDIATE write lock), so no two get the same number
and there is no read-then-write race.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from bot.db import upsert_insert
from bot.models import TicketCounter


def next_sequence(session: Session, prefix: str, day: date) -> int:
    stmt = upsert_insert(session, TicketCounter).values(prefix=prefix, day=day, n=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[TicketCounter.prefix, TicketCounter.day],
        set_={"n": TicketCounter.n + 1},
    ).returning(TicketCounter.n)
    return int(session.execute(stmt).scalar_one())


def next_ticket(session: Session, prefix: str, day: date) -> str:
    return f"{prefix}-{day:%Y%m%d}-{next_sequence(session, prefix, day):04d}"


def parse_ticket(text: str, prefix: str) -> str | None:
    """ "yh-20260605-0001" / "YH202606050001" -> "YH-20260605-0001"; None if not a ticket."""
    import re

    m = re.fullmatch(rf"{prefix}-?(\d{{8}})-?(\d{{4,}})", (text or "").strip().upper())
    return f"{prefix}-{m.group(1)}-{m.group(2)}" if m else None
