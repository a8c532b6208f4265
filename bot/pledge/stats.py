"""责任书 figures for `stats`, 统计 and the console."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.pledge.completion import completion_by_department, completion_counts


def pledges_signed(session: Session, now: datetime) -> int:
    """Active members who signed the current version of the text that applies to them."""
    return sum(v["signed"] for v in _completion(session).values())


def pledges_by_department(session: Session, now: datetime) -> dict[str, dict[str, int]]:
    return _completion(session)


def _completion(session: Session) -> dict[str, dict[str, int]]:
    # Both figures come from one computation per session (`stats` asks for both at once).
    memo = session.info.setdefault("pledge_completion", {})
    if "value" not in memo:
        memo["value"] = completion_by_department(session)
    return memo["value"]


def department_pledges(session: Session, now: datetime, departments: set[int]) -> dict[str, int]:
    """Signed / in scope among the active members whose main department is in `departments`."""
    rows = completion_counts(session, departments)
    return {"signed": sum(k for _, _, k in rows), "in_scope": sum(n for _, n, _ in rows)}
