"""The reminder schedule of a signing round: days 1 and 2 remind, day 3 tells the heads."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.content import texts as t
from bot.directory import department_heads
from bot.localtime import label
from bot.messages import text_message
from bot.models import PledgeRound, PledgeRoundMember
from bot.outbox import enqueue
from bot.pledge.members import department_names, users_by_id
from bot.pledge.rounds import round_day, rounds_since, unsigned_members
from bot.pledge.texts import current_texts
from bot.services import Services

REMINDER_DAYS = (1, 2)  # full days after launch
ESCALATION_DAY = 3


def pledge_reminders(session: Session, services: Services, now: datetime) -> str:
    """The hourly job."""
    return run_reminders(session, now, services.settings.tz)


def run_reminders(session: Session, now: datetime, tz) -> str:
    """Hourly: remind the unsigned on days 1 and 2 after launch; on day 3 send each
    department head the list of their unsigned people. Dedup keys make every step happen
    once however often (and in however many processes) the job runs."""
    current = current_texts()
    names = department_names(session)
    done: list[str] = []
    for rnd in rounds_since(session, now - timedelta(days=ESCALATION_DAY + 2)):
        day = round_day(rnd, now)
        unsigned = unsigned_members(session, rnd.id)
        if not unsigned:
            continue
        if day in REMINDER_DAYS:
            done += _remind(session, rnd, day, unsigned, current, now, tz)
        elif day >= ESCALATION_DAY:
            done += _escalate(session, rnd, unsigned, names, now, tz)
    return "; ".join(done) or "nothing due"


def _remind(
    session: Session,
    rnd: PledgeRound,
    day: int,
    unsigned: list[PledgeRoundMember],
    current: dict,
    now: datetime,
    tz,
) -> list[str]:
    done = []
    by_key: dict[str, list[str]] = defaultdict(list)
    for m in unsigned:
        by_key[m.text_key].append(m.userid)
    for key, userids in sorted(by_key.items()):
        title = current[key].title if key in current else key
        body = text_message(
            t.get("pledge.reminder", title=title, day=day, launched=label(rnd.launched_at, tz))
        )
        if enqueue(
            session,
            userids,
            body,
            source="pledge:remind",
            now=now,
            dedup_key=f"pledge:remind:{rnd.id}:{day}:{key}",
        ):
            done.append(f"round {rnd.id} day {day} {key}: {len(userids)}")
    return done


def _escalate(
    session: Session,
    rnd: PledgeRound,
    unsigned: list[PledgeRoundMember],
    names: dict[int, str],
    now: datetime,
    tz,
) -> list[str]:
    done = []
    by_dept: dict[int | None, list[str]] = defaultdict(list)
    users = users_by_id(session, [m.userid for m in unsigned])
    for m in unsigned:
        by_dept[m.department_id].append(
            users[m.userid].name or m.userid if m.userid in users else m.userid
        )
    for dept_id, people in sorted(by_dept.items(), key=lambda kv: kv[0] or 0):
        if dept_id is None:
            continue
        heads = department_heads(session, dept_id)
        if not heads:
            continue
        body = text_message(
            t.get(
                "pledge.escalation",
                department=names.get(dept_id, str(dept_id)),
                count=len(people),
                names="、".join(people),
                launched=label(rnd.launched_at, tz),
            )
        )
        if enqueue(
            session,
            heads,
            body,
            source="pledge:escalate",
            now=now,
            dedup_key=f"pledge:escalate:{rnd.id}:{dept_id}",
        ):
            done.append(f"round {rnd.id} dept {dept_id}: {len(people)} to {len(heads)} heads")
    return done
