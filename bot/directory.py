"""The WeCom directory (departments and members) mirrored into the database, and roles."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, bindparam, func, select, update
from sqlalchemy.orm import Session

from bot.db import dialect_insert, insert_ignore
from bot.models import Department, PledgeCounts, PledgeSignature, RoleAssignment, User
from bot.settings import Settings

log = logging.getLogger(__name__)

ROLES = ("admin", "safety_officer", "department_head", "leader")
# The department key for "no department" in the counter tables (bot.counters): a NULL would let
# the primary key admit duplicates.
NO_DEPARTMENT = 0


def user_values(data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A WeCom user/get or user/list entry -> User column values."""
    departments = [int(d) for d in data.get("department") or []]
    leaders = data.get("is_leader_in_dept") or []
    main = data.get("main_department") or (departments[0] if departments else None)
    return {
        "userid": data["userid"],
        "name": data.get("name") or "",
        "department_id": int(main) if main is not None else None,
        "department_ids": departments,
        "leader_of": [d for d, flag in zip(departments, leaders, strict=False) if flag],
        "position": data.get("position") or "",
        "status": int(data.get("status") or 1),
        "synced_at": now,
    }


def upsert_user(session: Session, values: dict[str, Any]) -> tuple[int | None, int | None]:
    """Insert or update the member; returns their pledge_counts key before and after
    (pledge_key), for the caller to move their counted signatures."""
    user = session.get(User, values["userid"])
    after = pledge_key(values.get("status", 1), values.get("department_id"))
    if user is None:
        session.add(User(**values))
        # Nothing to move: signing needs the member's users row, so a new row has no
        # signatures (and a first sync of 100,000 members makes no 100,000 look-ups).
        return after, after
    before = pledge_key(user.status, user.department_id)
    for key, value in values.items():
        setattr(user, key, value)
    return before, after


# -- pledge_counts: signatures counted where the member is now (bot.counters keeps the rest) --
def pledge_key(status: int | None, department_id: int | None) -> int | None:
    """The pledge_counts department a member with this status and main department counts in:
    None while they are not active (status 1), NO_DEPARTMENT when active with none."""
    if status != 1:
        return None
    return NO_DEPARTMENT if department_id is None else department_id


_PLEDGE_COUNTS: dict[str, Any] = {}


def add_pledge_counts(session: Session, department_key: int, hashes: list[str], delta: int) -> None:
    """pledge_counts(department, hash) += delta for each hash, added by the database (an
    upsert built once per dialect), so concurrent writers lose nothing."""
    if not hashes:
        return
    dialect = session.get_bind().dialect.name
    stmt = _PLEDGE_COUNTS.get(dialect)
    if stmt is None:
        p = PledgeCounts.__table__
        insert = dialect_insert(dialect)(p).values(
            department_id=bindparam("department_id", type_=Integer()),
            text_hash=bindparam("text_hash", type_=String()),
            signed=bindparam("signed", type_=Integer()),
        )
        stmt = _PLEDGE_COUNTS[dialect] = insert.on_conflict_do_update(
            index_elements=[p.c.department_id, p.c.text_hash],
            set_={"signed": p.c.signed + insert.excluded.signed},
        )
    session.execute(
        stmt, [{"department_id": department_key, "text_hash": h, "signed": delta} for h in hashes]
    )


def member_changed(session: Session, userid: str, before: int | None, after: int | None) -> None:
    """The member moved from pledge_key `before` to `after` (department, joined or left): the
    texts they have signed are counted in the new place instead of the old. Call after the
    member's users row was written: it holds the row lock a concurrent signing waits for
    (bot.counters.locked_pledge_key), so the signatures read here are all of them."""
    if before == after:
        return
    hashes = sorted(
        session.scalars(select(PledgeSignature.text_hash).where(PledgeSignature.userid == userid))
    )
    if before is not None:
        add_pledge_counts(session, before, hashes, -1)
    if after is not None:
        add_pledge_counts(session, after, hashes, 1)


def sync_directory(session: Session, client, now: datetime) -> dict[str, int]:
    """Pull department/list and user/list per department; members not seen are marked as left."""
    departments = client.list_departments()
    for d in departments:
        values = {
            "id": int(d["id"]),
            "name": d.get("name") or str(d["id"]),
            "parent_id": int(d["parentid"]) if d.get("parentid") else None,
            "order": int(d.get("order") or 0),
            "synced_at": now,
        }
        existing = session.get(Department, values["id"])
        if existing is None:
            session.add(Department(**values))
        else:
            for key, value in values.items():
                setattr(existing, key, value)
    seen: set[str] = set()
    moved: list[tuple[str, int | None, int | None]] = []
    for d in departments:
        for entry in client.list_users(int(d["id"])):
            if entry["userid"] in seen:
                continue  # a member of several departments is listed under each
            seen.add(entry["userid"])
            before, after = upsert_user(session, user_values(entry, now))
            if before != after:
                moved.append((entry["userid"], before, after))
    if seen:
        moved += [
            (userid, pledge_key(1, department_id), None)
            for userid, department_id in session.execute(
                select(User.userid, User.department_id).where(User.status == 1)
            )
            if userid not in seen
        ]
    session.flush()
    if seen:
        session.execute(
            update(User)
            .where(User.userid.not_in(seen), User.status != 5)
            .values(status=5, synced_at=now)
        )
    # After every users row is written (and so locked until commit): lock order users rows →
    # pledge_counts, as in signing.
    for userid, before, after in moved:
        member_changed(session, userid, before, after)
    return {"departments": len(departments), "users": len(seen)}


def ensure_user(
    session: Session, userid: str, looked_up: dict[str, Any] | None, now: datetime
) -> User:
    """The sender's User row; a stranger gets a row from user/get (or a bare one)."""
    user = session.get(User, userid)
    if user is not None:
        return user
    values = (
        user_values(looked_up, now)
        if looked_up
        else {"userid": userid, "name": "", "department_ids": [], "leader_of": []}
    )
    insert_ignore(session, User, values)
    return session.get(User, userid)  # type: ignore[return-value]


_ROLES_OF = select(RoleAssignment.role).where(RoleAssignment.userid == bindparam("userid"))


def roles_for(
    session: Session, settings: Settings, user: User | None, userid: str
) -> frozenset[str]:
    return roles_from(settings, user, userid, session.scalars(_ROLES_OF, {"userid": userid}))


def roles_from(
    settings: Settings, user: User | None, userid: str, granted: Iterable[str]
) -> frozenset[str]:
    """A member's roles: those granted in role_assignments, SAFETYBOT_ADMINS, and
    department_head for a WeCom department leader."""
    roles = set(granted)
    if userid in settings.admins:
        roles.add("admin")
    if user is not None and user.leader_of:
        roles.add("department_head")
    return frozenset(roles)


OFFICER_ROLES = ("admin", "safety_officer")


def officer_ids(session: Session, settings: Settings) -> list[str]:
    """The safety officers: SAFETYBOT_ADMINS plus everyone granted admin or safety_officer,
    less members who have left. The one list every notice to "the officers" goes to."""
    ids = set(settings.admins)
    ids.update(
        session.scalars(select(RoleAssignment.userid).where(RoleAssignment.role.in_(OFFICER_ROLES)))
    )
    left = set(session.scalars(select(User.userid).where(User.userid.in_(ids), User.status != 1)))
    return sorted(ids - left)


class GrantRefused(ValueError):
    """A role that cannot be granted: unknown role, member or department (nothing changed)."""


def grant(session: Session, userid: str, role: str, department_id: int | None = None) -> bool:
    """Give `userid` a role (department_head: for one department); False if they had it.
    Raises GrantRefused, granting nothing, for an unknown role, member or department."""
    if role not in ROLES:
        raise GrantRefused(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if session.get(User, userid) is None:
        raise GrantRefused(f"unknown member {userid!r} (run `safetybot sync-directory` first?)")
    if role == "department_head" and not department_id:
        raise GrantRefused("department_head needs --department (the department id)")
    if department_id and session.get(Department, department_id) is None:
        raise GrantRefused(f"unknown department {department_id}")
    result = insert_ignore(
        session,
        RoleAssignment,
        {"userid": userid, "role": role, "department_id": department_id or 0},
        returning=RoleAssignment.id,
    ).first()
    return result is not None


def department_tree(session: Session, roots: Iterable[int]) -> set[int]:
    """The given departments and all their sub-departments."""
    children: dict[int | None, list[int]] = {}
    for dept_id, parent in session.execute(select(Department.id, Department.parent_id)):
        children.setdefault(parent, []).append(dept_id)
    result: set[int] = set()
    stack = list(roots)
    while stack:
        d = stack.pop()
        if d in result:
            continue
        result.add(d)
        stack.extend(children.get(d, []))
    return result


def active_members(
    session: Session, department_ids: Iterable[int] = ()
) -> list[tuple[str, int | None]]:
    """(userid, main department) of active members, ordered by userid; with department ids,
    only members of those departments or their sub-departments ([] = everyone)."""
    roots = list(department_ids)
    rows = session.execute(
        select(User.userid, User.department_id, User.department_ids)
        .where(User.status == 1)
        .order_by(User.userid)
    )
    if not roots:
        return [(u, d) for u, d, _ in rows]
    tree = department_tree(session, roots)
    return [(u, d) for u, d, ds in rows if tree & set(ds or ([d] if d is not None else []))]


def department_heads(session: Session, department_id: int) -> list[str]:
    heads = set(
        session.scalars(
            select(RoleAssignment.userid).where(
                RoleAssignment.role == "department_head",
                RoleAssignment.department_id == department_id,
            )
        )
    )
    # Only members who lead some department (json_array_length works on SQLite and
    # PostgreSQL alike): this runs once per department in reminder and escalation loops.
    leaders = session.execute(
        select(User.userid, User.leader_of).where(
            User.status == 1, func.json_array_length(User.leader_of) > 0
        )
    )
    heads.update(userid for userid, led in leaders if department_id in (led or []))
    return sorted(heads)


def departments_headed(session: Session, user: User | None, userid: str) -> set[int]:
    """The departments `userid` heads (WeCom 部门负责人 or a department_head grant), with their
    sub-departments; empty for everyone else."""
    roots = set(user.leader_of or []) if user is not None and user.status == 1 else set()
    roots.update(
        d
        for d in session.scalars(
            select(RoleAssignment.department_id).where(
                RoleAssignment.userid == userid, RoleAssignment.role == "department_head"
            )
        )
        if d
    )
    return department_tree(session, roots) if roots else set()
