"""Who is who: people and departments by name, a member's department heads (ledger, suggestions)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.directory import department_heads
from bot.models import Department, User


def find_users(session: Session, who: str) -> list[User]:
    """Active members whose userid or name is `who` (an exact userid wins)."""
    who = who.strip().lstrip("@")
    if not who:
        return []
    exact = session.get(User, who)
    if exact is not None and exact.status == 1:
        return [exact]
    return list(
        session.scalars(
            select(User)
            .where(User.status == 1, or_(User.name == who, User.userid.ilike(who)))
            .order_by(User.userid)
        )
    )


def display(session: Session, userid: str | None) -> str:
    if not userid:
        return ""
    user = session.get(User, userid)
    return user.name if user and user.name else userid


def department_name(session: Session, department_id: int | None) -> str:
    if department_id is None:
        return ""
    dept = session.get(Department, department_id)
    return dept.name if dept else str(department_id)


def heads_of(session: Session, userid: str) -> list[str]:
    """The heads of `userid`'s main department (not the user themself)."""
    user = session.get(User, userid)
    if user is None or user.department_id is None:
        return []
    return [h for h in department_heads(session, user.department_id) if h != userid]


def department_names(session: Session, department_ids: set[int]) -> list[str]:
    """Names of the given departments, in directory order."""
    return list(
        session.scalars(
            select(Department.name)
            .where(Department.id.in_(sorted(department_ids) or [-1]))
            .order_by(Department.order, Department.id)
        )
    )
