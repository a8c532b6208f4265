"""Safety suggestions (安全建议): recording one (ticket JY-…), an officer's answer, adopting
one (采纳: the proposer earns ADOPT_POINTS for 积分 and 排行), the lists.

Shared by chat (handlers.suggestion) and the console; functions take the session and never
commit; what is sent to people goes through the outbox in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from bot import counters
from bot.content import texts
from bot.directory import officer_ids
from bot.messages import text_message
from bot.models import Department, Suggestion, SuggestionReply, User
from bot.outbox import enqueue
from bot.people import Names, department_name
from bot.settings import Settings
from bot.tickets import next_ticket, parse_ticket

PREFIX = "JY"
ADOPT_POINTS = 10  # for the proposer of an adopted suggestion (next to hazard VERIFY_POINTS)


def parse(text: str) -> str | None:
    """ "jy-20260605-0001" / "JY202606050001" -> "JY-20260605-0001"; None if not a ticket."""
    return parse_ticket(text, PREFIX)


def record(
    session: Session,
    settings: Settings,
    *,
    proposer: str,
    proposer_name: str,
    department_id: int | None,
    content: str,
    now: datetime,
) -> Suggestion:
    """Store a suggestion under a new JY ticket and tell the safety officers."""
    suggestion = Suggestion(
        ticket=next_ticket(session, PREFIX, now.astimezone(settings.tz).date()),
        proposer=proposer,
        department_id=department_id,
        content=content.strip()[:2000],
        created_at=now,
    )
    session.add(suggestion)
    session.flush()
    counters.took_part(session, proposer, now.astimezone(settings.tz).date())
    officers = [u for u in officer_ids(session, settings) if u != proposer]
    if officers:
        notice = texts.get(
            "suggestion.officer_new",
            ticket=suggestion.ticket,
            proposer=proposer_name,
            department=department_name(session, department_id) or "-",
            content=suggestion.content,
        )
        enqueue(
            session,
            officers,
            text_message(notice),
            source="suggestion:new",
            now=now,
            dedup_key=f"suggestion:new:{suggestion.ticket}",
        )
    return suggestion


def get_by_ticket(session: Session, ticket: str) -> Suggestion | None:
    return session.scalar(select(Suggestion).where(Suggestion.ticket == ticket))


def reply(
    session: Session,
    suggestion: Suggestion,
    *,
    replier: str,
    replier_name: str,
    content: str,
    now: datetime,
) -> SuggestionReply:
    """An officer's answer (chat 回复 JY-… or the console's reply form): stored, and sent to
    the proposer."""
    row = SuggestionReply(
        suggestion_id=suggestion.id, replier=replier, content=content[:2000], at=now
    )
    session.add(row)
    notice = texts.get(
        "suggestion.reply_notice", ticket=suggestion.ticket, content=content, replier=replier_name
    )
    enqueue(
        session, [suggestion.proposer], text_message(notice), source="suggestion:reply", now=now
    )
    return row


def adopt(
    session: Session,
    suggestion: Suggestion,
    *,
    adopter: str,
    adopter_name: str,
    note: str = "",
    now: datetime,
) -> bool:
    """An officer adopts the suggestion (chat 建议 采纳 JY-… or the console's button): False if
    it was adopted already. The column is the unique state: UPDATE … WHERE adopted_at IS NULL
    takes effect once however often it is retried. The proposer is told, with the note."""
    done = session.execute(
        update(Suggestion)
        .where(Suggestion.id == suggestion.id, Suggestion.adopted_at.is_(None))
        .values(adopted_at=now, adopted_by=adopter)
        .execution_options(synchronize_session=False)
    )
    if not done.rowcount:
        return False
    session.refresh(suggestion)
    note = (note or "").strip()[:2000]
    if note:
        session.add(
            SuggestionReply(suggestion_id=suggestion.id, replier=adopter, content=note, at=now)
        )
    notice = texts.get(
        "suggestion.adopted_notice",
        ticket=suggestion.ticket,
        points=ADOPT_POINTS,
        note=note or texts.get("suggestion.adopted_no_note"),
        adopter=adopter_name,
    )
    enqueue(
        session,
        [suggestion.proposer],
        text_message(notice),
        source="suggestion:adopt",
        now=now,
        dedup_key=f"suggestion:adopt:{suggestion.ticket}",
    )
    return True


def adopted_points_for(session: Session, userid: str) -> int:
    n = session.scalar(
        select(func.count()).where(
            Suggestion.proposer == userid, Suggestion.adopted_at.is_not(None)
        )
    )
    return int(n or 0) * ADOPT_POINTS


def adopted_points_by_user(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Suggestion.proposer, func.count())
        .where(Suggestion.adopted_at.is_not(None))
        .group_by(Suggestion.proposer)
    )
    return {userid: int(n) * ADOPT_POINTS for userid, n in rows}


def proposed_by(session: Session, userid: str, limit: int = 10) -> tuple[list[Suggestion], int]:
    """`userid`'s newest suggestions with their replies (at most `limit`), and the total."""
    rows = list(
        session.scalars(
            select(Suggestion)
            .where(Suggestion.proposer == userid)
            .options(selectinload(Suggestion.replies))
            .order_by(Suggestion.id.desc())
            .limit(limit)
        )
    )
    total = session.scalar(
        select(func.count()).select_from(Suggestion).where(Suggestion.proposer == userid)
    )
    return rows, int(total or 0)


def recent(session: Session, *where: Any, limit: int | None = 200) -> list[Suggestion]:
    """The newest suggestions with their replies; `where` narrows them (a console scope)."""
    return list(
        session.scalars(
            select(Suggestion)
            .options(selectinload(Suggestion.replies))
            .where(*where)
            .order_by(Suggestion.id.desc())
            .limit(limit)
        )
    )


def summary_rows(session: Session, tz: tzinfo, *where: Any) -> list[dict[str, Any]]:
    """The 建议 sheet of the campaign summary, oldest first; times local and naive."""
    rows = list(
        session.scalars(
            select(Suggestion)
            .options(selectinload(Suggestion.replies))
            .where(*where)
            .order_by(Suggestion.id)
        )
    )
    # The proposers' names and the departments' in one query each, not the whole directory
    # (100,000 members) nor one query per suggestion.
    people = {
        u: n or u
        for u, n in session.execute(
            select(User.userid, User.name).where(
                User.userid.in_(select(Suggestion.proposer).where(*where))
            )
        )
    }
    departments = dict(session.execute(select(Department.id, Department.name)).all())
    out = []
    for s in rows:
        out.append(
            {
                "ticket": s.ticket,
                "created_at": s.created_at.astimezone(tz).replace(tzinfo=None),
                "proposer": people.get(s.proposer, s.proposer),
                "department": (
                    ""
                    if s.department_id is None
                    else departments.get(s.department_id, str(s.department_id))
                )
                or "-",
                "content": s.content,
                "replies": "\n".join(r.content for r in s.replies),
                "replied": bool(s.replies),
            }
        )
    return out


EXPORT_HEADER = ["编号", "提出时间", "提出人", "部门", "建议内容", "答复", "答复人", "答复时间"]


def export_rows(
    session: Session, tz: tzinfo, *where: Any, limit: int | None = None
) -> list[list[Any]]:
    """The 安全建议 list as rows, newest first (what the console's page lists: `recent`, with
    the page's `where` and limit; the command line: all); replies one per line. Times local."""
    names = Names(session)

    def local(value: datetime) -> datetime:
        return value.astimezone(tz).replace(tzinfo=None)

    rows = []
    for s in recent(session, *where, limit=limit):
        last = s.replies[-1] if s.replies else None
        rows.append(
            [
                s.ticket,
                local(s.created_at),
                names.name(s.proposer),
                names.department(s.department_id),
                s.content,
                "\n".join(r.content for r in s.replies),
                "、".join(dict.fromkeys(names.actor(r.replier) for r in s.replies)),
                local(last.at) if last else None,
            ]
        )
    return rows
