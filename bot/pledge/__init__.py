"""安全生产责任书: which text applies to whom, signing, signing rounds and their reminders.

Texts live in content/pledges/*.yaml. A text is identified by the sha256 of its normalised
title and body, so editing the wording makes a new version that people sign again, while old
signatures keep pointing at the exact text that was signed.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session

from bot import content
from bot.db import insert_ignore
from bot.directory import department_tree
from bot.messages import split_text
from bot.models import (
    Department,
    OutboundMessage,
    OutboxDelivery,
    PledgeRound,
    PledgeRoundMember,
    PledgeSignature,
    PledgeText,
    RoleAssignment,
    User,
)

TEXT_KEYS = ("staff", "department_head", "leader")
SHORT_HASH = 12
CARD_KEY_PREFIX = "pledge:sign:"
REMINDER_DAYS = (1, 2)  # full days after launch
ESCALATION_DAY = 3


@dataclass(frozen=True)
class PledgeContent:
    key: str
    version: str
    title: str
    body: str
    sources: tuple[str, ...]
    hash: str

    @property
    def short_hash(self) -> str:
        return self.hash[:SHORT_HASH]


def normalise(text: str) -> str:
    """Line endings, trailing spaces and Unicode composition do not make a new version."""
    text = unicodedata.normalize("NFC", text or "").replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def text_hash(title: str, body: str) -> str:
    return hashlib.sha256((normalise(title) + "\n\n" + normalise(body)).encode()).hexdigest()


def current_texts() -> dict[str, PledgeContent]:
    """The texts in content/pledges now (cached by the content loader until a file changes)."""
    out: dict[str, PledgeContent] = {}
    for _, data in content.load_dir("pledges"):
        out[data["key"]] = PledgeContent(
            key=data["key"],
            version=str(data["version"]),
            title=data["title"],
            body=data["body"],
            sources=tuple(data.get("sources") or ()),
            hash=text_hash(data["title"], data["body"]),
        )
    return out


def sync_texts(session: Session, now: datetime) -> dict[str, PledgeContent]:
    """Make sure every current text has its row in pledge_texts (idempotent)."""
    texts = current_texts()
    for t in texts.values():
        insert_ignore(
            session,
            PledgeText,
            {
                "key": t.key,
                "version": t.version,
                "hash": t.hash,
                "title": t.title,
                "body": normalise(t.body),
                "created_at": now,
            },
        )
    return texts


# -- who signs what -------------------------------------------------------------------------
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


def department_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Department.id, Department.name)).all())


# -- signing -----------------------------------------------------------------------------------
@dataclass
class SignResult:
    signature: PledgeSignature
    created: bool


def find_signature(session: Session, userid: str, hash_: str) -> PledgeSignature | None:
    return session.scalar(
        select(PledgeSignature).where(
            PledgeSignature.userid == userid, PledgeSignature.text_hash == hash_
        )
    )


def sign(
    session: Session, user: User, text: PledgeContent, *, channel: str, now: datetime
) -> SignResult:
    """Record the signature once (unique userid + text hash) and stop pending reminders."""
    sync_texts(session, now)
    round_id = session.scalar(
        select(PledgeRoundMember.round_id)
        .where(PledgeRoundMember.userid == user.userid, PledgeRoundMember.text_hash == text.hash)
        .order_by(PledgeRoundMember.round_id.desc())
        .limit(1)
    )
    dept_name = ""
    if user.department_id is not None:
        dept = session.get(Department, user.department_id)
        dept_name = dept.name if dept else ""
    row = insert_ignore(
        session,
        PledgeSignature,
        {
            "userid": user.userid,
            "name": user.name or "",
            "department_id": user.department_id,
            "department_name": dept_name,
            "text_key": text.key,
            "text_version": text.version,
            "text_hash": text.hash,
            "signed_at": now,
            "channel": channel,
            "round_id": round_id,
        },
        returning=PledgeSignature.id,
    ).first()
    signature = find_signature(session, user.userid, text.hash)
    assert signature is not None
    if row is not None:
        cancel_reminders(session, user.userid)
    return SignResult(signature, row is not None)


def cancel_reminders(session: Session, userid: str) -> int:
    """Reminders already queued but not yet sent stop at once for someone who has signed.

    The delivery is closed as dead with a reason rather than deleted, so the outbox counts
    (enqueued = sent + pending + dead) still add up.
    """
    ids = select(OutboundMessage.id).where(OutboundMessage.source == "pledge:remind")
    result = session.execute(
        update(OutboxDelivery)
        .where(
            OutboxDelivery.userid == userid,
            OutboxDelivery.status == "pending",
            OutboxDelivery.message_id.in_(ids),
        )
        .values(status="dead", last_error="cancelled: signed")
    )
    return result.rowcount or 0


def signed_hashes(
    session: Session,
    userids: Iterable[str] | None = None,
    *,
    hashes: Iterable[str] | None = None,
) -> set[tuple[str, str]]:
    """(userid, text hash) of signatures, optionally only for some people or some texts.

    Callers that hold many people (a whole round, everyone) pass `hashes` instead of `userids`:
    a few hashes make a small IN list, while 100,000 userids exceed PostgreSQL's 65,535 bind
    parameters and make SQLite build a huge temporary list.
    """
    q = select(PledgeSignature.userid, PledgeSignature.text_hash)
    if userids is not None:
        q = q.where(PledgeSignature.userid.in_(list(userids)))
    if hashes is not None:
        q = q.where(PledgeSignature.text_hash.in_(sorted(set(hashes)) or [""]))
    return {(u, h) for u, h in session.execute(q)}


# -- rounds ------------------------------------------------------------------------------------
def launch_round(
    session: Session, launched_by: str, now: datetime, departments: list[int] | None = None
) -> tuple[PledgeRound, dict[str, list[str]]]:
    """Snapshot who is asked to sign what; returns the round and unsigned userids per text key."""
    texts = sync_texts(session, now)
    members = active_members(session, departments)
    keys = text_keys_for_members(session, members)
    rnd = PledgeRound(
        launched_by=launched_by,
        launched_at=now,
        departments=list(departments or []),
        members_total=len(members),
    )
    session.add(rnd)
    session.flush()
    signed = signed_hashes(session)
    rows = []
    to_send: dict[str, list[str]] = defaultdict(list)
    for u in members:
        t = texts[keys[u.userid]]
        rows.append(
            {
                "round_id": rnd.id,
                "userid": u.userid,
                "department_id": u.department_id,
                "text_key": t.key,
                "text_hash": t.hash,
            }
        )
        if (u.userid, t.hash) not in signed:
            to_send[t.key].append(u.userid)
    for start in range(0, len(rows), 1000):
        insert_ignore(session, PledgeRoundMember, rows[start : start + 1000])
    return rnd, dict(to_send)


def unsigned_members(session: Session, round_id: int) -> list[PledgeRoundMember]:
    members = list(
        session.scalars(
            select(PledgeRoundMember)
            .where(PledgeRoundMember.round_id == round_id)
            .order_by(PledgeRoundMember.userid)
        )
    )
    signed = signed_hashes(session, hashes={m.text_hash for m in members}) if members else set()
    return [m for m in members if (m.userid, m.text_hash) not in signed]


def round_day(rnd: PledgeRound, now: datetime) -> int:
    """Full days since launch (0 on the day of launch, 1 after 24 hours …)."""
    return int((now - rnd.launched_at) // timedelta(days=1))


def full_text(t: PledgeContent) -> str:
    lines = [f"《{t.title}》", f"版本 {t.version} · 文本编号 {t.short_hash}", "", t.body.strip()]
    if t.sources:
        lines += ["", "依据：" + "；".join(t.sources)]
    return "\n".join(lines)


def text_parts(t: PledgeContent) -> list[str]:
    return split_text(full_text(t))


def sign_card(
    t: PledgeContent,
    *,
    task_id: str,
    description: str,
    button: str,
    disabled_text: str | None = None,
) -> dict[str, Any]:
    """A button_interaction card that summarises the text (the full text goes as text
    messages: a card's description is limited to a few hundred characters)."""
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": t.title[:36], "desc": f"版本 {t.version} · 编号 {t.short_hash}"},
        "sub_title_text": description[:110],
        "task_id": task_id,
        "button_list": [{"text": button, "style": 1, "key": CARD_KEY_PREFIX + t.hash}],
    }
    if disabled_text is not None:
        card["button_list"] = [{"text": disabled_text, "style": 2, "key": CARD_KEY_PREFIX + t.hash}]
        card["replace_text"] = disabled_text
    return card


def task_id_for(*parts: str) -> str:
    """WeCom task ids: unique per app, at most 128 bytes of [A-Za-z0-9_-@]."""
    digest = hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]
    return f"pledge_{digest}"


def completion_counts(session: Session, *where) -> list[tuple[int | None, int, int]]:
    """(main department, active members, signed) for active members matching `where`.

    The rule of text_key_for, in SQL: one pass over the members with one index probe each
    into pledge_signatures (userid, text_hash), instead of loading every member and every
    signature into Python (about 1-3 s for 100,000 members). A key with no current text
    counts as unsigned.
    """
    texts = current_texts()
    roles = {
        role: User.userid.in_(select(RoleAssignment.userid).where(RoleAssignment.role == role))
        for role in ("leader", "department_head")
    }
    # leader_of is a JSON list; json_array_length exists on SQLite and PostgreSQL alike.
    is_head = or_(roles["department_head"], func.json_array_length(User.leader_of) > 0)
    current = {k: texts[k].hash if k in texts else None for k in TEXT_KEYS}
    applies = case(
        (roles["leader"], current["leader"]),
        (is_head, current["department_head"]),
        else_=current["staff"],
    )
    signed = (
        select(PledgeSignature.id)
        .where(PledgeSignature.userid == User.userid, PledgeSignature.text_hash == applies)
        .exists()
    )
    rows = session.execute(
        select(User.department_id, func.count(), func.sum(case((signed, 1), else_=0)))
        .where(User.status == 1, *where)
        .group_by(User.department_id)
    )
    return [(dept, int(n), int(k or 0)) for dept, n, k in rows]


def completion_by_department(session: Session) -> dict[str, dict[str, int]]:
    """Signed / in scope per main department, where scope is every active member and
    'signed' means the current version of the text that applies to them."""
    names = department_names(session)
    out: dict[str, dict[str, int]] = {}
    for dept, n, signed in completion_counts(session):
        label = names.get(dept or 0, str(dept or "-"))
        entry = out.setdefault(label, {"signed": 0, "in_scope": 0})
        entry["in_scope"] += n
        entry["signed"] += signed
    return dict(sorted(out.items()))


# -- the reminder schedule -----------------------------------------------------------------------
def run_reminders(session: Session, now: datetime, tz) -> str:
    """Hourly: remind the unsigned on days 1 and 2 after launch; on day 3 send each
    department head the list of their unsigned people. Dedup keys make every step happen
    once however often (and in however many processes) the job runs."""
    from bot.content import texts as t
    from bot.directory import department_heads
    from bot.outbox import enqueue

    current = current_texts()
    names = department_names(session)
    done: list[str] = []
    rounds = session.scalars(
        select(PledgeRound).where(
            PledgeRound.launched_at >= now - timedelta(days=ESCALATION_DAY + 2)
        )
    )
    for rnd in rounds:
        day = round_day(rnd, now)
        unsigned = unsigned_members(session, rnd.id)
        if not unsigned:
            continue
        if day in REMINDER_DAYS:
            by_key: dict[str, list[str]] = defaultdict(list)
            for m in unsigned:
                by_key[m.text_key].append(m.userid)
            for key, userids in sorted(by_key.items()):
                title = current[key].title if key in current else key
                body = {
                    "msgtype": "text",
                    "text": {
                        "content": t.get(
                            "pledge.reminder",
                            title=title,
                            day=day,
                            launched=_local_label(rnd.launched_at, tz),
                        )
                    },
                }
                if enqueue(
                    session,
                    userids,
                    body,
                    source="pledge:remind",
                    now=now,
                    dedup_key=f"pledge:remind:{rnd.id}:{day}:{key}",
                ):
                    done.append(f"round {rnd.id} day {day} {key}: {len(userids)}")
        elif day >= ESCALATION_DAY:
            by_dept: dict[int | None, list[str]] = defaultdict(list)
            users = {
                u.userid: u
                for u in session.scalars(
                    select(User).where(User.userid.in_([m.userid for m in unsigned]))
                )
            }
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
                body = {
                    "msgtype": "text",
                    "text": {
                        "content": t.get(
                            "pledge.escalation",
                            department=names.get(dept_id, str(dept_id)),
                            count=len(people),
                            names="、".join(people),
                            launched=_local_label(rnd.launched_at, tz),
                        )
                    },
                }
                if enqueue(
                    session,
                    heads,
                    body,
                    source="pledge:escalate",
                    now=now,
                    dedup_key=f"pledge:escalate:{rnd.id}:{dept_id}",
                ):
                    done.append(
                        f"round {rnd.id} dept {dept_id}: {len(people)} to {len(heads)} heads"
                    )
    return "; ".join(done) or "nothing due"


def _local_label(at: datetime, tz) -> str:
    local = at.astimezone(tz)
    return f"{local.month}月{local.day}日 {local:%H:%M}"
