"""Who is who: people and departments by name, a member's department heads (ledger, suggestions)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.content import texts
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


class _People:
    """userid -> (name or userid, main department), read as asked: a page shows a few dozen
    people, and loading a 100,000-member directory for them took most of a second. Past
    EAGER_AFTER lookups (an export naming thousands) the whole directory is read at once."""

    EAGER_AFTER = 200

    def __init__(self, session: Session) -> None:
        self._session = session
        self._known: dict[str, tuple[str, int | None] | None] = {}
        self._complete = False

    def _load(self, userid: str) -> tuple[str, int | None] | None:
        if self._complete or userid in self._known:
            return self._known.get(userid)
        if len(self._known) >= self.EAGER_AFTER:
            self._known = {
                u: (n or u, d)
                for u, n, d in self._session.execute(
                    select(User.userid, User.name, User.department_id)
                )
            }
            self._complete = True
            return self._known.get(userid)
        row = self._session.execute(
            select(User.name, User.department_id).where(User.userid == userid)
        ).first()
        self._known[userid] = None if row is None else (row[0] or userid, row[1])
        return self._known[userid]

    def __contains__(self, userid: object) -> bool:
        return isinstance(userid, str) and self._load(userid) is not None

    def get(self, userid: str, default=None):
        found = self._load(userid)
        return default if found is None else found


class Names:
    """People and departments as a person reads them: 姓名（部门）, never a userid when the
    directory has a name. Loaded once (one query each) for a page or an export."""

    def __init__(self, session: Session) -> None:
        self.departments: dict[int, str] = dict(
            session.execute(select(Department.id, Department.name)).all()
        )
        self.people = _People(session)

    def known(self, userid: str) -> bool:
        return userid in self.people

    def name(self, userid: str | None) -> str:
        if not userid:
            return ""
        return self.people.get(userid, (userid, None))[0]

    def department(self, department_id: int | None) -> str:
        if department_id is None:
            return ""
        return self.departments.get(department_id, str(department_id))

    def person(self, userid: str | None) -> str:
        """姓名（部门）; the name alone without a department; the userid if nobody has it."""
        if not userid:
            return ""
        name, dept = self.people.get(userid, (userid, None))
        return f"{name}（{self.department(dept)}）" if dept is not None else name

    def actor(self, value: str | None) -> str:
        """Who did something, as records keep it (a userid, `console:<account>`, `cli`,
        `system` …): a person as 姓名（部门）, a console account by the person's name, the
        machinery by a word (content `console.actors`)."""
        if not value:
            return ""
        labels = texts.raw("console.actors")
        kind, _, account = value.partition(":")
        if kind == "console" and account:
            if account in labels:
                return labels[account]
            name, dept = self.people.get(account, (account, None))
            if dept is None:
                return texts.get("console.actors.console", name=name)
            return texts.get(
                "console.actors.console_person", name=name, department=self.department(dept)
            )
        if value in labels and value != "console":
            return labels[value]
        return self.person(value)
