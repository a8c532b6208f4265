"""Who signs which 责任书: roles decide the text; the active members of some departments."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.directory import department_tree
from bot.models import Department, RoleAssignment, User
from bot.pledge.texts import PledgeContent, current_texts


def text_key_for(roles: Iterable[str], user: User | None) -> str:
    """leader role -> leader text; department heads -> department_head text; else staff.

    Positions (总经理, 厂长 …) are free text in WeCom and not reliable, so only roles count.
    """
    roles = set(roles)
    if "leader" in roles:
        return "leader"
    if "department_head" in roles or (user is not None and user.leader_of):
        return "department_head"
    return "staff"


def roles_of(session: Session, userid: str) -> set[str]:
    return {
        r
        for (r,) in session.execute(
            select(RoleAssignment.role).where(RoleAssignment.userid == userid)
        )
    }


def text_for(roles: Iterable[str], user: User | None) -> PledgeContent:
    """The current text this person is asked to sign."""
    return current_texts()[text_key_for(roles, user)]


def text_keys_for_members(session: Session, users: Iterable[User]) -> dict[str, str]:
    roles: dict[str, set[str]] = defaultdict(set)
    for userid, role in session.execute(
        select(RoleAssignment.userid, RoleAssignment.role).where(
            RoleAssignment.role.in_(("leader", "department_head"))
        )
    ):
        roles[userid].add(role)
    return {u.userid: text_key_for(roles.get(u.userid, ()), u) for u in users}


def active_members(session: Session, departments: Iterable[int] | None = None) -> list[User]:
    users = list(session.scalars(select(User).where(User.status == 1).order_by(User.userid)))
    if departments:
        scope = department_tree(session, departments)
        users = [u for u in users if scope & set(u.department_ids or [u.department_id])]
    return users


def users_by_id(session: Session, userids: Iterable[str]) -> dict[str, User]:
    return {
        u.userid: u for u in session.scalars(select(User).where(User.userid.in_(list(userids))))
    }


def department_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Department.id, Department.name)).all())


def parse_departments(session: Session, text: str) -> tuple[list[int], str | None]:
    """ "3,4" or "生产一车间 生产二车间" -> department ids; the unknown name if any."""
    ids: list[int] = []
    names = {n: i for i, n in department_names(session).items()}
    for part in re.split(r"[\s,，、;；]+", text.strip()):
        if not part:
            continue
        if part.isdigit() and int(part) in names.values():
            ids.append(int(part))
        elif part in names:
            ids.append(names[part])
        else:
            return [], part
    return ids, None
