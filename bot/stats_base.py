"""The shape most campaign figures share: a row count."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def count_rows(session: Session, model: Any, *where: Any) -> int:
    """How many rows of `model` match `where`."""
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0
