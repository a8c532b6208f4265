"""Helpers for console tests (unit and browser): accounts, logging in, sample campaign data."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.console.auth import create_account
from bot.counters_check import repair as repair_counters
from bot.hazard import ledger
from bot.models import (
    CheckinEvent,
    DailyActivity,
    DailyCheckin,
    EventAttendance,
    InboundMessage,
    PledgeSignature,
    QuizAnswer,
    QuizDailySet,
    Suggestion,
)
from bot.pledge.texts import sync_texts
from bot.quiz.bank import ensure_bank
from bot.quiz.daily import active_questions
from bot.settings import Settings

PASSWORD = "correct-horse-9"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    m = _CSRF.search(html)
    if not m:
        raise AssertionError("no csrf_token in page")
    return m.group(1)


def add_account(
    factory,
    username: str,
    role: str = "admin",
    departments=None,
    now: datetime | None = None,
    password: str = PASSWORD,
) -> None:
    with factory.begin() as s:
        create_account(
            s,
            username,
            password,
            role=role,
            departments=departments,
            now=now or datetime.now().astimezone(),
        )


def login(client, username: str, password: str = PASSWORD):
    """Log a Flask test client in; returns the response to the login POST."""
    token = csrf_from(client.get("/admin/login").get_data(as_text=True))
    return client.post(
        "/admin/login", data={"username": username, "password": password, "csrf_token": token}
    )


def seed_campaign(session: Session, settings: Settings, now: datetime) -> dict:
    """A small but complete campaign: quiz answers, pledges, check-ins, an event, hazards,
    suggestions and bot traffic, spread over three days and several departments."""

    ensure_bank(session, now)
    first_per_theme: dict[str, object] = {}
    for q in active_questions(session):
        first_per_theme.setdefault(q.theme, q)
    questions = list(first_per_theme.values())[:4]
    tz = settings.tz
    today = now.astimezone(tz).date()
    people = {"liuyang": 3, "chenjing": 3, "zhaolei": 4, "huangli": 4, "wuxia": 5, "sunyu": 6}
    # Quiz: each person answers every question on two days; liuyang/zhaolei get one wrong.
    for offset in (2, 1):
        day = today - timedelta(days=offset)
        for userid in people:
            qset = QuizDailySet(
                userid=userid,
                day=day,
                question_ids=[q.id for q in questions],
                permutations=[list(range(len(q.options))) for q in questions],
                created_at=now,
            )
            session.add(qset)
            session.flush()
            for i, q in enumerate(questions):
                wrong = userid in ("liuyang", "zhaolei") and i == 0
                session.add(
                    QuizAnswer(
                        set_id=qset.id,
                        question_index=i,
                        userid=userid,
                        day=day,
                        question_id=q.id,
                        given="X" if wrong else q.answer,
                        correct=not wrong,
                        points=0 if wrong else 10,
                        answered_at=now - timedelta(days=offset),
                        department_id=people[userid],
                    )
                )
    # Pledges: current staff text signed by four people.
    texts = sync_texts(session, now)
    staff = texts["staff"]
    for userid in ("liuyang", "chenjing", "zhaolei", "wuxia"):
        session.add(
            PledgeSignature(
                userid=userid,
                name=userid,
                department_id=people[userid],
                department_name="",
                text_key="staff",
                text_version=staff.version,
                text_hash=staff.hash,
                signed_at=now,
                channel="text",
            )
        )
    # Daily check-ins on two days.
    for offset, who in ((1, ["liuyang", "chenjing", "zhaolei"]), (0, ["liuyang", "sunyu"])):
        day = today - timedelta(days=offset)
        for userid in who:
            session.add(
                DailyCheckin(
                    userid=userid,
                    day=day,
                    department_id=people[userid],
                    checked_at=now - timedelta(days=offset),
                )
            )
    event = CheckinEvent(
        kind="drill",
        title="消防应急疏散演练",
        code="246810",
        starts_at=now - timedelta(hours=2),
        ends_at=now + timedelta(hours=2),
        created_by="wangfang",
        created_at=now - timedelta(days=1),
    )
    session.add(event)
    session.flush()
    for userid in ("liuyang", "huangli", "wuxia"):
        session.add(
            EventAttendance(
                event_id=event.id,
                userid=userid,
                name=userid,
                department_id=people[userid],
                checked_at=now,
                method="code",
            )
        )
    # Bot traffic (participation): one message each from five people today, two yesterday.
    n = 0
    for offset, who in (
        (0, ["liuyang", "chenjing", "zhaolei", "wuxia", "sunyu"]),
        (1, ["liuyang", "huangli"]),
    ):
        for userid in who:
            n += 1
            at = now - timedelta(days=offset)
            session.add(
                InboundMessage(
                    dedup_key=f"msg:seed{n}", userid=userid, msg_type="text", received_at=at
                )
            )
            # What the dispatcher records for each person's first message of a day.
            session.add(
                DailyActivity(
                    day=at.astimezone(settings.tz).date(),
                    userid=userid,
                    department_id=people[userid],
                    first_at=at,
                )
            )
    hazards = []
    for reporter, dept, text in (
        ("liuyang", 3, "一车间消防通道堆放纸箱"),
        ("zhaolei", 4, "二车间配电箱门未关闭"),
        ("sunyu", 6, "仓库叉车通道无反光镜"),
    ):
        hazards.append(
            ledger.create_report(
                session,
                settings,
                reporter=reporter,
                department_id=dept,
                description=text,
                category="fire",
                location="",
                latitude=None,
                longitude=None,
                photos=[],
                now=now,
            )
        )
    # One overdue: assigned with a deadline that has passed.
    ledger.assign(
        session,
        settings,
        hazards[1],
        actor="wangfang",
        now=now,
        owner="zhaolei",
        deadline=today - timedelta(days=2),
    )
    for i, (proposer, dept, text) in enumerate(
        (("chenjing", 3, "建议在车间门口增设洗眼器"), ("wuxia", 5, "建议每季度组织一次疏散演练")), 1
    ):
        session.add(
            Suggestion(
                ticket=f"JY-{today:%Y%m%d}-{i:04d}",
                proposer=proposer,
                department_id=dept,
                content=text,
                created_at=now,
            )
        )
    session.flush()
    # The rows above were added directly, not through the writers that keep the counters:
    # bring the counters up to them, as `safetybot counters check --repair` would.
    repair_counters(session, today)
    return {"hazards": [h.ticket for h in hazards], "event_id": event.id, "today": today}
