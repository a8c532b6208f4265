"""The 「尚未完成」 lists of the 责任书 / 答题 / 打卡 pages and their 「提醒他们」 button.

Who has not done it yet comes from the features (bot.pledge, bot.quiz, bot.checkin); this
module groups it per department within the account's scope and sends the reminder through
the outbox. A department gets at most one reminder per page per hour: the outbox message of
the last one is the record, read after locking the department's row (PostgreSQL; SQLite has
one writer anyway), so two taps at once send once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bot.checkin.stats import checked_in_on
from bot.console.auth import Scope
from bot.content import texts
from bot.learning import tasks as learning_tasks
from bot.messages import text_message
from bot.models import AuditLog, Department, OutboundMessage, User
from bot.outbox import enqueue
from bot.people import department_name
from bot.pledge.completion import unsigned_members
from bot.quiz.stats import answered_on

PAGES = ("pledge", "quiz", "checkin")
# A learning task's page is "learning-<task id>": its unfinished people, its own reminder text.
LEARNING = "learning-"
ACTION = "console:remind"
EVERY = timedelta(hours=1)


@dataclass
class Pending:
    department_id: int | None
    name: str
    people: list[Any] = field(default_factory=list)
    # How many are pending when `people` is not listed (folded: too many to read on a page).
    folded: int | None = None

    @property
    def count(self) -> int:
        return len(self.people) if self.folded is None else self.folded

    def names(self) -> str:
        """The people as the list shows them, 「、」 between (joined here: a Jinja loop over
        15,000 people took most of a second)."""
        return "、".join(u.name or u.userid for u in self.people)


# What the lists show and the reminder needs: rows, not ORM objects (tens of thousands of
# people can be pending in a large organisation).
PERSON = (User.userid, User.name, User.department_id)


def pending_people(
    session: Session, page: str, scope: Scope, day: date, department_id: int | None = None
) -> list[Any]:
    """Active members in scope (and in `department_id`, when given) who have not done the
    page's task (today, for quiz and 打卡), as rows with userid, name and department_id."""
    in_scope = scope.filter(User.department_id)
    if department_id is not None:
        in_scope = and_(in_scope, User.department_id == department_id)
    if page.startswith(LEARNING):
        task_id = int(page[len(LEARNING) :])
        waiting = {a.userid for a in learning_tasks.unfinished(session, task_id)}
        return list(
            session.scalars(
                select(User)
                .where(User.status == 1, in_scope, User.userid.in_(sorted(waiting) or [""]))
                .order_by(User.department_id, User.userid)
            )
        )
    if page == "pledge":
        return unsigned_members(session, in_scope, columns=PERSON)
    done = answered_on(day) if page == "quiz" else checked_in_on(day)
    return list(
        session.execute(
            select(*PERSON)
            .where(User.status == 1, in_scope, User.userid.not_in(done))
            .order_by(User.department_id, User.userid)
        )
    )


def pending_by_department(session: Session, page: str, scope: Scope, day: date) -> list[Pending]:
    names = dict(session.execute(select(Department.id, Department.name)).all())
    groups: dict[int | None, Pending] = {}
    for user in pending_people(session, page, scope, day):
        d = user.department_id
        groups.setdefault(d, Pending(d, names.get(d or 0, "-"))).people.append(user)
    return sorted(groups.values(), key=_in_order)


def _in_order(p: Pending) -> tuple:
    return (p.department_id is None, p.department_id or 0)


# The 尚未签署 list names at most this many people on the page; the departments beyond are
# shown with their count and a link to their own list (and the export has everyone).
PLEDGE_NAMES_SHOWN = 500


def pledge_pending(
    session: Session,
    scope: Scope,
    completion: list[dict[str, Any]],
    expand: int | None = None,
    budget: int | None = None,
) -> list[Pending]:
    """The 责任书 page's 尚未完成 list, from its completion rows (data.pledge_by_department:
    members − signed is exactly how many of a department's active members have not signed).

    Names are read only for the departments that fit in `budget` names, in page order, plus
    the department `expand` (the officer asked for its list): a probe per member of those
    departments instead of every member in scope (15,000 names at 100,000 members, no one
    reads them on one page). The others are folded: count only.
    """
    budget = PLEDGE_NAMES_SHOWN if budget is None else budget
    groups = [
        Pending(r["department_id"], r["name"], folded=r["members"] - r["signed"])
        for r in completion
        if r["members"] > r["signed"]
    ]
    listed: list[Pending] = []
    for p in sorted(groups, key=_in_order):
        if p.count <= budget or p.department_id == expand:
            budget -= min(p.count, budget)
            listed.append(p)
    ids = [p.department_id for p in listed if p.department_id is not None]
    which = [User.department_id.in_(ids)] if ids else []
    if any(p.department_id is None for p in listed):
        which.append(User.department_id.is_(None))
    if which:
        people: dict[int | None, list[Any]] = {}
        rows = unsigned_members(
            session, scope.filter(User.department_id), or_(*which), columns=PERSON
        )
        for row in rows:
            people.setdefault(row.department_id, []).append(row)
        for p in listed:
            p.people, p.folded = people.get(p.department_id, []), None
    return sorted(groups, key=_in_order)


@dataclass
class Outcome:
    sent: int = 0
    # When the department may be reminded again (a tap within the hour).
    next_at: datetime | None = None


def remind(
    session: Session,
    page: str,
    department_id: int,
    scope: Scope,
    day: date,
    now: datetime,
    actor: str,
    message: str | None = None,
) -> Outcome:
    """Queue the page's reminder (or `message`) to the department's people who have not done
    it yet."""
    session.execute(select(Department.id).where(Department.id == department_id).with_for_update())
    # The last reminder is the outbox message it queued (its source names the page and the
    # department); the audit row says the same in words for people, so it is not parsed.
    source = f"{ACTION}:{page}:{department_id}"[:64]
    last = session.scalar(
        select(OutboundMessage.created_at)
        .where(OutboundMessage.source == source, OutboundMessage.created_at > now - EVERY)
        .order_by(OutboundMessage.created_at.desc())
        .limit(1)
    )
    if last is not None:
        return Outcome(next_at=last + EVERY)
    people = [u.userid for u in pending_people(session, page, scope, day, department_id)]
    if not people:
        return Outcome()
    enqueue(
        session,
        people,
        text_message(message or texts.get(f"console.remind.{page}")),
        source=source,
        now=now,
        dedup_key=f"remind:{page}:{department_id}:{int(now.timestamp())}",
        # A reminder an hour later repeats the same text on purpose: WeCom's duplicate check
        # (which would swallow it within its interval) is not wanted; the hourly limit is ours.
        duplicate_check=False,
    )
    session.add(
        AuditLog(
            at=now,
            actor=actor[:64],
            action=ACTION,
            allowed=True,
            detail=texts.get(
                "console.audit_details.remind",
                what=texts.raw("console.audit_details.remind_pages").get(page, page),
                department=department_name(session, department_id),
                count=len(people),
                people="、".join(people),
            )[:2000],
        )
    )
    return Outcome(sent=len(people))
