"""What desk exercises and live drills share: refusals, who takes part, finding drills."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.directory import active_members
from bot.models import Department, Drill, DrillParticipant
from bot.people import find_users

SPLIT = re.compile(r"[\s,，、]+")


class DrillRefused(ValueError):
    """A request the officer must change: `key` is a text in content/replies.d/drills.yaml."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key, self.values = key, values

    def text(self) -> str:
        return texts.get(f"drills.refused.{self.key}", **self.values)


def resolve_people(session: Session, words: list[str]) -> tuple[list[int], list[str]]:
    """Department names/ids and people (@name, name or userid) → (department ids, userids).
    An unknown word is refused."""
    departments = {d.name: d.id for d in session.scalars(select(Department))}
    ids, people = [], []
    for word in words:
        word = word.strip()
        if not word:
            continue
        if not word.startswith("@") and word in departments:
            ids.append(departments[word])
            continue
        found = find_users(session, word)
        if len(found) != 1:
            raise DrillRefused("unknown_who", who=word.lstrip("@"))
        people.append(found[0].userid)
    return sorted(set(ids)), list(dict.fromkeys(people))


def members_of(
    session: Session, department_ids: list[int], userids: list[str]
) -> list[tuple[str, int | None]]:
    """(userid, department) of the members of the departments and the named people."""
    out = dict(active_members(session, department_ids)) if department_ids else {}
    if userids:
        everyone = dict(active_members(session, []))
        for u in userids:
            out.setdefault(u, everyone.get(u))
    return sorted(out.items())


def add_participants(
    session: Session, drill: Drill, members: list[tuple[str, int | None]]
) -> list[DrillParticipant]:
    rows = [DrillParticipant(drill_id=drill.id, userid=u, department_id=d) for u, d in members]
    session.add_all(rows)
    session.flush()
    return rows


def participants(session: Session, drill_id: int) -> list[DrillParticipant]:
    return list(
        session.scalars(
            select(DrillParticipant)
            .where(DrillParticipant.drill_id == drill_id)
            .order_by(DrillParticipant.id)
        )
    )


def participant(session: Session, drill_id: int, userid: str) -> DrillParticipant | None:
    return session.scalar(
        select(DrillParticipant).where(
            DrillParticipant.drill_id == drill_id, DrillParticipant.userid == userid
        )
    )


def all_drills(session: Session, kind: str | None = None) -> list[Drill]:
    q = select(Drill).order_by(Drill.id.desc())
    if kind:
        q = q.where(Drill.kind == kind)
    return list(session.scalars(q))
