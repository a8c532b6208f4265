"""Reports benchmark: the dashboard, `stats` and the chat-path rankings at campaign scale.

    python bench/reports.py [--database-url URL] [--members 100000] [--days 30] [--keep]
                            [--reuse] [--runs 5] [--json FILE] [--only SUBSTRING]
                            [--skip SUBSTRING] [--detail] [--baseline DIR]

Without --database-url it runs twice: on a fresh SQLite file and on PostgreSQL
(postgresql+psycopg://postgres@127.0.0.1:5432/test, or $DATABASE_URL_PG) in a fresh schema that
is dropped at the end (both are kept with --keep, and the URLs printed). --reuse skips the data
generation when the database given with --database-url already holds members (handy to time a
change again on a kept database; new migrations are applied first).

What it generates (June of one campaign year, seeded, so every run makes the same data):
~200 departments in a 3-level tree; `--members` members; every day ~60% of members get a daily
quiz set and answer its 3 questions, ~40% check in; one inbound_messages row per answer and per
check-in (the dashboard's "participation per day" reads them); ~85% pledge signatures;
3,000 hazards with their transitions; 1,000 suggestions with replies; 10 check-in events with
attendance. Nothing that the dashboard, `stats` or the chat rankings read is left out; the outbox
(30 daily tips x 100k deliveries) is not generated because none of the timed queries reads it.

What it times (one warm-up, then `--runs` runs in a fresh session each; median and max): the
console pages (dashboard as an admin and as one branch's department head, pledges, hazards,
questions, events) through the Flask test client, `stats --json`'s compute_stats, 积分 and 排行
through their chat handlers with the ranking snapshot off, and the campaign summary (page,
.xlsx and .docx exports). Goals: pages 1 s, stats 0.5 s, 积分/排行 50 ms, summary 3 s.
`--detail` adds each dashboard data function and the pages that list every member.

Counters: after generating the raw rows the benchmark rebuilds person_totals and
department_day_counts with bot.counters_check.repair (what `safetybot counters check --repair`
does), as the writers would have kept them.

Before/after in one run: `--baseline DIR` first times the same list on the same database with
the code checked out in DIR (e.g. `git archive 8709c04 | tar -x -C DIR`), in a child process,
then with this checkout, and prints both columns. `--skip SUBSTRING` leaves some out.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# --baseline runs this file again with an older checkout's code first on the path.
sys.path.insert(0, os.environ.get("SAFETYBOT_BENCH_CODE") or str(ROOT))

PG_DEFAULT = os.environ.get("DATABASE_URL_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
GOAL_S = 1.0
CHUNK = 10_000
YEAR = 2026
UTC = timezone.utc
LOCAL_OFFSET = timedelta(hours=8)  # Asia/Shanghai, no daylight saving time


# -- machine ----------------------------------------------------------------------------------
def machine() -> str:
    cores = os.cpu_count()
    mem_gib = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return f"{cores} cores, {mem_gib:.0f} GiB RAM, Python {sys.version.split()[0]}"


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


# -- writing rows fast ------------------------------------------------------------------------
class Writer:
    """Bulk inserts in chunks of CHUNK rows, one transaction per chunk.

    SQLite: Core `insert(Table)` with a list of dicts (executemany). PostgreSQL: COPY through
    psycopg, several times faster than multi-row INSERTs at this size.
    """

    def __init__(self, engine) -> None:
        self.engine = engine
        self.pg = engine.dialect.name == "postgresql"
        self.counts: dict[str, int] = {}
        self.seconds: dict[str, float] = {}

    def write(self, table, rows: Iterable[dict[str, Any]]) -> None:
        started = time.perf_counter()
        chunk: list[dict[str, Any]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= CHUNK:
                self._flush(table, chunk)
                chunk = []
        if chunk:
            self._flush(table, chunk)
        self.seconds[table.name] = self.seconds.get(table.name, 0.0) + (
            time.perf_counter() - started
        )

    def _flush(self, table, chunk: list[dict[str, Any]]) -> None:
        self.counts[table.name] = self.counts.get(table.name, 0) + len(chunk)
        with self.engine.begin() as conn:
            if not self.pg:
                from sqlalchemy import insert

                conn.execute(insert(table), chunk)
                return
            columns = list(chunk[0])
            json_cols = {c.name for c in table.columns if c.type.__class__.__name__ == "JSON"}
            raw = conn.connection.driver_connection
            cols = ", ".join(f'"{c}"' for c in columns)
            sql = f'COPY "{table.name}" ({cols}) FROM STDIN'
            with raw.cursor() as cur, cur.copy(sql) as copy:
                for row in chunk:
                    copy.write_row([_pg_value(row[c], c in json_cols) for c in columns])

    def fix_sequences(self, tables: Iterable) -> None:
        """Rows inserted with explicit ids leave PostgreSQL's sequences behind."""
        if not self.pg:
            return
        from sqlalchemy import text

        with self.engine.begin() as conn:
            for t in tables:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {t.name}))"
                    )
                )


def _pg_value(value: Any, is_json: bool) -> Any:
    if is_json:
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)  # UTCDateTime stores naive UTC
    return value


# -- the synthetic campaign ------------------------------------------------------------------
def local(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """An aware UTC datetime for a local (Asia/Shanghai) wall time."""
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC) - LOCAL_OFFSET


def userid_of(i: int) -> str:
    from bot.fake_wecom.__main__ import synthetic_userid

    return synthetic_userid(i)


def generate(engine, members: int, days: int, seed: int = 20260601) -> Writer:
    """Fill an empty, migrated database with one campaign's worth of activity."""
    from sqlalchemy.orm import Session

    from bot.models import (
        CheckinEvent,
        DailyCheckin,
        Department,
        EventAttendance,
        HazardPoints,
        HazardReport,
        HazardTransition,
        InboundMessage,
        PledgeSignature,
        Question,
        QuizAnswer,
        QuizDailySet,
        RoleAssignment,
        Suggestion,
        SuggestionReply,
        User,
    )
    from bot.pledge.texts import sync_texts
    from bot.quiz.bank import sync_builtin

    rng = random.Random(seed)
    w = Writer(engine)
    start_day = date(YEAR, 6, 1)
    day_list = [start_day + timedelta(days=i) for i in range(days)]
    setup_at = local(start_day, 0) - timedelta(days=3)

    # Departments: 1 root, 10 branches, the rest workshops/teams under the branches.
    depts = [{"id": 1, "name": "集团公司", "parent_id": None, "order": 1, "synced_at": setup_at}]
    branches = list(range(2, 12))
    for i, d in enumerate(branches):
        depts.append(
            {"id": d, "name": f"分公司{i + 1}", "parent_id": 1, "order": d, "synced_at": setup_at}
        )
    leaves = list(range(12, 201))
    for d in leaves:
        parent = branches[d % len(branches)]
        depts.append(
            {
                "id": d,
                "name": f"车间{d:03d}",
                "parent_id": parent,
                "order": d,
                "synced_at": setup_at,
            }
        )
    w.write(Department.__table__, depts)

    # Members: mostly in the leaf departments; the first member of each department leads it.
    dept_of: list[int] = []
    leads: set[int] = set()
    seen_dept: set[int] = set()
    users = []
    for i in range(members):
        dept = rng.choice(leaves) if rng.random() < 0.97 else rng.choice(branches + [1])
        dept_of.append(dept)
        leader_of = []
        if dept not in seen_dept:
            seen_dept.add(dept)
            leads.add(i)
            leader_of = [dept]
        users.append(
            {
                "userid": userid_of(i),
                "name": f"员工{i:06d}",
                "department_id": dept,
                "department_ids": [dept],
                "leader_of": leader_of,
                "position": "",
                "status": 1 if rng.random() < 0.98 else 5,
                "synced_at": setup_at,
            }
        )
    w.write(User.__table__, users)
    del users
    roles = [{"userid": userid_of(i), "role": "leader", "department_id": 0} for i in range(5)]
    roles += [{"userid": userid_of(5), "role": "admin", "department_id": 0}]
    roles += [
        {"userid": userid_of(i), "role": "safety_officer", "department_id": 0} for i in (6, 7)
    ]
    w.write(RoleAssignment.__table__, roles)

    # The question bank and pledge texts, exactly as the bot syncs them.
    with Session(engine) as s, s.begin():
        sync_builtin(s, setup_at)
        texts = sync_texts(s, setup_at)
        questions = [(q.id, q.type, q.answer, len(q.options)) for q in s.query(Question).all()]
    if not questions:
        raise SystemExit("the builtin question bank is empty")

    # Per-member habits: engaged people take part most days, the rest rarely.
    quiz_p = [0.72 if rng.random() < 0.82 else 0.05 for _ in range(members)]
    checkin_p = [0.5 if rng.random() < 0.78 else 0.03 for _ in range(members)]

    sets_rows: list[dict] = []
    set_id = 0

    def quiz_days() -> Iterator[tuple[dict, list[dict], list[dict]]]:
        nonlocal set_id
        for day in day_list:
            for i in range(members):
                if rng.random() >= quiz_p[i]:
                    continue
                set_id += 1
                uid = userid_of(i)
                picked = rng.sample(questions, 3)
                started = local(day, 9) + timedelta(seconds=rng.randrange(12 * 3600))
                daily = {
                    "id": set_id,
                    "userid": uid,
                    "day": day,
                    "question_ids": [q[0] for q in picked],
                    "permutations": [list(range(q[3])) for q in picked],
                    "created_at": started,
                }
                answers, inbound = [], []
                for idx, (qid, qtype, answer, n_opts) in enumerate(picked):
                    at = started + timedelta(seconds=20 * (idx + 1))
                    correct = rng.random() < 0.78
                    given = answer if correct else _wrong(answer, qtype, n_opts)
                    answers.append(
                        {
                            "set_id": set_id,
                            "question_index": idx,
                            "userid": uid,
                            "day": day,
                            "department_id": dept_of[i],
                            "question_id": qid,
                            "given": given,
                            "correct": correct,
                            "points": 10 if correct else 0,
                            "answered_at": at,
                        }
                    )
                    inbound.append(
                        {
                            "dedup_key": f"evt:{uid}:{int(at.timestamp())}:quiz:{set_id}:{idx}",
                            "userid": uid,
                            "msg_type": "event",
                            "event": "template_card_event",
                            "received_at": at,
                            "reply": {"messages": [{"msgtype": "text", "text": {"content": "✅"}}]},
                        }
                    )
                yield daily, answers, inbound

    # Stream the quiz in three passes over the same seeded generator would double the work, so
    # buffer one day at a time and write each table per day.
    answers_buf: list[dict] = []
    inbound_buf: list[dict] = []
    current_day = None
    for daily, answers, inbound in quiz_days():
        if current_day is not None and daily["day"] != current_day:
            w.write(QuizDailySet.__table__, sets_rows)
            w.write(QuizAnswer.__table__, answers_buf)
            w.write(InboundMessage.__table__, inbound_buf)
            sets_rows, answers_buf, inbound_buf = [], [], []
        current_day = daily["day"]
        sets_rows.append(daily)
        answers_buf.extend(answers)
        inbound_buf.extend(inbound)
    w.write(QuizDailySet.__table__, sets_rows)
    w.write(QuizAnswer.__table__, answers_buf)
    w.write(InboundMessage.__table__, inbound_buf)
    del sets_rows, answers_buf, inbound_buf

    def checkins() -> Iterator[dict]:
        for day in day_list:
            for i in range(members):
                if rng.random() < checkin_p[i]:
                    yield {
                        "userid": userid_of(i),
                        "day": day,
                        "department_id": dept_of[i],
                        "checked_at": local(day, 7) + timedelta(seconds=rng.randrange(4 * 3600)),
                    }

    checkin_rows = list(checkins())
    w.write(DailyCheckin.__table__, checkin_rows)
    w.write(
        InboundMessage.__table__,
        (
            {
                "dedup_key": f"msg:{c['userid']}:{c['day'].isoformat()}:checkin",
                "userid": c["userid"],
                "msg_type": "text",
                "event": None,
                "received_at": c["checked_at"],
                "reply": {"messages": [{"msgtype": "text", "text": {"content": "打卡成功"}}]},
            }
            for c in checkin_rows
        ),
    )
    del checkin_rows

    # Pledge signatures: ~85% sign the text that applies to them, mostly in the first week.
    dept_names = {d["id"]: d["name"] for d in depts}
    leader_ids = {r["userid"] for r in roles if r["role"] == "leader"}

    def signatures() -> Iterator[dict]:
        for i in range(members):
            if rng.random() >= 0.85:
                continue
            uid = userid_of(i)
            key = "leader" if uid in leader_ids else "department_head" if i in leads else "staff"
            t = texts[key]
            day = day_list[min(len(day_list) - 1, int(rng.expovariate(1 / 3)))]
            yield {
                "userid": uid,
                "name": f"员工{i:06d}",
                "department_id": dept_of[i],
                "department_name": dept_names[dept_of[i]],
                "text_key": t.key,
                "text_version": t.version,
                "text_hash": t.hash,
                "signed_at": local(day, 10) + timedelta(seconds=rng.randrange(8 * 3600)),
                "channel": "card",
                "round_id": None,
            }

    w.write(PledgeSignature.__table__, signatures())

    # Hazards with the transitions that led to their status, and points for verified fixes.
    path = ["reported", "accepted", "rectifying", "rectified", "verified", "closed"]
    actions = {
        "accepted": "accept",
        "rectifying": "start",
        "rectified": "finish",
        "verified": "verify",
        "closed": "close",
    }
    hazards, transitions, points = [], [], []
    for hid in range(1, 3001):
        i = rng.randrange(members)
        day = day_list[rng.randrange(len(day_list))]
        at = local(day, 8) + timedelta(seconds=rng.randrange(10 * 3600))
        rejected = rng.random() < 0.07
        steps = 0 if rejected else rng.choices(range(6), weights=[8, 6, 20, 10, 10, 46])[0]
        status = "rejected" if rejected else path[steps]
        owner = userid_of(rng.randrange(members)) if steps >= 1 else None
        deadline = day + timedelta(days=rng.randrange(3, 15)) if steps >= 1 else None
        row = {
            "id": hid,
            "ticket": f"YH-{day:%Y%m%d}-{hid:04d}",
            "reporter": userid_of(i),
            "department_id": dept_of[i],
            "description": f"{dept_names[dept_of[i]]}消防通道堆放杂物，影响疏散（{hid}）",
            "category": rng.choice(["fire", "electric", "machine", "chemical", "other"]),
            "location": f"{rng.randrange(1, 9)}号厂房",
            "latitude": None,
            "longitude": None,
            "status": status,
            "item": "清理杂物" if steps >= 1 else None,
            "measure": "当班清理并设置警示标识" if steps >= 1 else None,
            "funds": "500元" if steps >= 1 else None,
            "owner": owner,
            "deadline": deadline,
            "rechecker": userid_of(6) if steps >= 1 else None,
            "reject_reason": "非安全隐患" if rejected else None,
            "rectify_note": "已整改" if steps >= 3 else None,
            "reported_at": at,
            "updated_at": at,
            "accepted_at": None,
            "rectified_at": None,
            "verified_at": None,
            "closed_at": None,
        }
        transitions.append(
            {
                "hazard_id": hid,
                "actor": userid_of(i),
                "action": "report",
                "from_status": None,
                "to_status": "reported",
                "note": "",
                "at": at,
            }
        )
        previous = "reported"
        for to in path[1 : steps + 1] if not rejected else ["rejected"]:
            at = at + timedelta(hours=rng.randrange(2, 48))
            transitions.append(
                {
                    "hazard_id": hid,
                    "actor": userid_of(6),
                    "action": actions.get(to, "reject"),
                    "from_status": previous,
                    "to_status": to,
                    "note": "",
                    "at": at,
                }
            )
            stamp = {
                "accepted": "accepted_at",
                "rectified": "rectified_at",
                "verified": "verified_at",
                "closed": "closed_at",
            }.get(to)
            if stamp:
                row[stamp] = at
            row["updated_at"] = at
            previous = to
        if status in ("verified", "closed"):
            points.append(
                {
                    "userid": userid_of(i),
                    "hazard_id": hid,
                    "reason": "verified",
                    "points": 20,
                    "awarded_at": row["verified_at"],
                }
            )
        hazards.append(row)
    w.write(HazardReport.__table__, hazards)
    w.write(HazardTransition.__table__, transitions)
    w.write(HazardPoints.__table__, points)

    suggestions, replies = [], []
    for sid in range(1, 1001):
        i = rng.randrange(members)
        day = day_list[rng.randrange(len(day_list))]
        at = local(day, 9) + timedelta(seconds=rng.randrange(9 * 3600))
        suggestions.append(
            {
                "id": sid,
                "ticket": f"JY-{day:%Y%m%d}-{sid:04d}",
                "proposer": userid_of(i),
                "department_id": dept_of[i],
                "content": f"建议在{dept_names[dept_of[i]]}增设应急照明（{sid}）",
                "created_at": at,
            }
        )
        if rng.random() < 0.6:
            replies.append(
                {
                    "suggestion_id": sid,
                    "replier": userid_of(6),
                    "content": "感谢建议，已安排落实。",
                    "at": at + timedelta(hours=rng.randrange(1, 72)),
                }
            )
    w.write(Suggestion.__table__, suggestions)
    w.write(SuggestionReply.__table__, replies)

    events, attendance = [], []
    for eid in range(1, 11):
        day = day_list[min(len(day_list) - 1, eid * 3 - 1)]
        events.append(
            {
                "id": eid,
                "kind": rng.choice(["drill", "ceremony", "training"]),
                "title": f"应急演练第{eid}场",
                "code": f"{100000 + eid * 7919:06d}",
                "starts_at": local(day, 14),
                "ends_at": local(day, 17),
                "latitude": None,
                "longitude": None,
                "radius_m": None,
                "survey": None,
                "survey_sent_at": None,
                "created_by": userid_of(6),
                "created_at": local(day, 9),
            }
        )
        for i in rng.sample(range(members), min(members, 5000)):
            attendance.append(
                {
                    "event_id": eid,
                    "userid": userid_of(i),
                    "name": f"员工{i:06d}",
                    "department_id": dept_of[i],
                    "checked_at": local(day, 14) + timedelta(seconds=rng.randrange(3600)),
                    "method": "code",
                    "distance_m": None,
                }
            )
    w.write(CheckinEvent.__table__, events)
    w.write(EventAttendance.__table__, attendance)
    w.fix_sequences(
        [
            QuizDailySet.__table__,
            HazardReport.__table__,
            Suggestion.__table__,
            CheckinEvent.__table__,
        ]
    )
    return w


def _wrong(answer: str, qtype: str, n_opts: int) -> str:
    if qtype == "judge":
        return "F" if answer == "T" else "T"
    letters = "ABCDEFGH"[: max(n_opts, 2)]
    options = [c for c in letters if c != answer] or ["A"]
    return options[len(answer) % len(options)]


ACTIVITY_SQL = """
INSERT INTO daily_activity (day, userid, department_id, first_at)
SELECT a.day, a.userid, u.department_id, MIN(a.at)
FROM (SELECT day, userid, created_at AS at FROM quiz_daily_sets
      UNION ALL SELECT day, userid, checked_at AS at FROM daily_checkins) AS a
JOIN users AS u ON u.userid = a.userid
GROUP BY a.day, a.userid, u.department_id
"""


def derive_activity(engine) -> int:
    """daily_activity as the dispatcher would have written it: one row per person per day
    with a quiz set or a check-in (the generator writes those tables, not live messages)."""
    from sqlalchemy import text

    with engine.begin() as conn:
        if conn.execute(text("SELECT COUNT(*) FROM daily_activity")).scalar():
            return 0
        return conn.execute(text(ACTIVITY_SQL)).rowcount


def analyze(engine) -> None:
    """PostgreSQL's autovacuum would have analysed (and vacuumed) tables this size by the time
    anyone opens a dashboard; SQLite has no such daemon and the bot never runs ANALYZE, so the
    SQLite figures are for a database without statistics, as in production."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")


# -- what is timed ----------------------------------------------------------------------------
BENCH_ADMIN = "bench-admin"
BENCH_HEAD = "bench-head"
BENCH_PASSWORD = "bench-password-9"
BRANCH = 3  # 分公司2 and its workshops: what its department head's console shows


def ensure_accounts(engine, now: datetime) -> None:
    """A console admin and a department head of one branch (created once per database)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from bot.console.auth import create_account
    from bot.models import ConsoleAccount

    with Session(engine) as s, s.begin():
        have = set(s.scalars(select(ConsoleAccount.username)))
        if BENCH_ADMIN not in have:
            create_account(s, BENCH_ADMIN, BENCH_PASSWORD, role="admin", departments=None, now=now)
        if BENCH_HEAD not in have:
            create_account(
                s,
                BENCH_HEAD,
                BENCH_PASSWORD,
                role="department_head",
                departments=[BRANCH],
                now=now,
            )


def console_client(settings, now: datetime, username: str):
    """A Flask test client of the whole app, logged in as `username` (as the tests do)."""
    from bot.app import create_app
    from bot.console.testing import login
    from bot.runtime import build_runtime

    runtime = build_runtime(settings, clock=lambda: now)
    app = create_app(runtime=runtime)
    app.testing = True
    client = app.test_client()
    r = login(client, username, BENCH_PASSWORD)
    if r.status_code != 302:
        raise RuntimeError(f"console login as {username} failed: {r.status_code}")
    return client, runtime


def page(client, path: str) -> Callable:
    def run(_s):
        r = client.get(path)
        if r.status_code != 200:
            raise RuntimeError(f"GET {path}: {r.status_code}")
        return r.get_data()

    return run


def benchmarks(settings, now: datetime, detail: bool = False) -> list[tuple[str, str, Callable]]:
    """(group, name, fn(session)) for every timed figure: the console pages through the Flask
    test client, `stats --json`'s function, 积分 and 排行 through their chat handlers with the
    ranking snapshot off, and the campaign summary export. With `detail`, also each data
    function of the dashboard (for profiling). Only APIs that existed before the counters are
    used, so the same list times the baseline checkout (--baseline)."""
    from bot import stats
    from bot.console import data
    from bot.console.auth import Scope
    from bot.context import Context
    from bot.messages import IncomingMessage
    from bot.models import User
    from handlers import quiz_points

    tz = settings.tz
    today = now.astimezone(tz).date()
    scope = data.ALL
    admin, _ = console_client(settings, now, BENCH_ADMIN)
    head, _ = console_client(settings, now, BENCH_HEAD)

    def chat(handler, text):
        def run(s):
            userid = userid_of(10)  # an engaged member (habits are seeded)
            user = s.get(User, userid)
            ctx = Context(session=s, settings=settings, now=now, userid=userid, user=user)
            msg = IncomingMessage(
                msg_type="text", from_user=userid, create_time=int(now.timestamp()), content=text
            )
            reply = handler(msg, ctx, "")
            assert reply is not None and reply.messages, "no reply"
            return reply

        return run

    out: list[tuple[str, str, Callable]] = [
        ("page", "page dashboard", page(admin, "/admin/")),
        ("page", "page dashboard, branch head", page(head, "/admin/")),
        ("page", "page pledges", page(admin, "/admin/pledges")),
        ("page", "page pledges, branch head", page(head, "/admin/pledges")),
        ("page", "page hazards", page(admin, "/admin/hazards")),
        ("page", "page questions", page(admin, "/admin/questions")),
        ("page", "page events", page(admin, "/admin/events")),
        ("stats", "stats --json (compute_stats)", lambda s: stats.compute_stats(s, now)),
        ("chat", "积分 (snapshot off)", chat(quiz_points.handle_points, "积分")),
        ("chat", "排行 (snapshot off)", chat(quiz_points.handle_ranking, "排行")),
        ("report", "summary page", page(admin, "/admin/report")),
        ("report", "summary export .xlsx", page(admin, "/admin/report.xlsx")),
        ("report", "summary export .docx", page(admin, "/admin/report.docx")),
    ]
    if not detail:
        return out
    # Pages that list every member (today's pending people, everyone's points): not in the
    # issue's list; timed for information.
    out += [
        ("page", "page quiz progress", page(admin, "/admin/quiz")),
        ("page", "page checkin progress", page(admin, "/admin/checkins")),
        ("page", "page points", page(admin, "/admin/points")),
    ]
    for name, fn in sorted(stats.FIGURES.items()):
        out.append(("stats", f"@stat {name}", lambda s, fn=fn: fn(s, now)))
    branch = Scope(frozenset([BRANCH] + [d for d in range(12, 201) if 2 + d % 10 == BRANCH]))
    out += [
        (
            "data",
            "participation_by_day",
            lambda s: data.fill_days(data.participation_by_day(s, scope, now, tz)),
        ),
        ("data", "checkins_by_day", lambda s: data.checkins_by_day(s, scope)),
        ("data", "pledge_by_department", lambda s: data.pledge_by_department(s, scope)),
        ("data", "quiz_by_theme", lambda s: data.quiz_by_theme(s, scope)),
        ("data", "hazards (ledger top 10)", lambda s: data.hazards(s, scope, today, limit=10)),
        ("data", "per_department", lambda s: data.per_department(s, scope)),
        ("data", "per_department, branch", lambda s: data.per_department(s, branch)),
        ("data", "overview", lambda s: data.overview(s, scope, today)),
    ]
    return out


def time_all(
    engine,
    settings,
    now,
    runs: int,
    only: str | None,
    detail: bool = False,
    skip: str | None = None,
):
    from sqlalchemy.orm import Session

    results: dict[str, dict[str, float]] = {}
    for group, name, fn in benchmarks(settings, now, detail):
        if only and only not in name or skip and skip in name:
            continue
        samples: list[float] = []
        error = None
        budget = runs + 1
        for i in range(budget):
            with Session(engine) as s:
                started = time.perf_counter()
                try:
                    fn(s)
                except Exception as exc:  # noqa: BLE001 - a failing query is a result too
                    error = str(exc).splitlines()[0][:120]
                    break
                elapsed = time.perf_counter() - started
                s.rollback()
            if i == 0:
                # Warm-up (caches, imports, the content loader). A slow query gets fewer runs
                # so the whole benchmark stays within minutes.
                if elapsed > 10:
                    budget = 3
                elif elapsed > 3:
                    budget = min(budget, 4)
                continue
            samples.append(elapsed)
            if len(samples) >= budget - 1:
                break
        if error is not None or not samples:
            results[name] = {"group": group, "error": error or "no run", "median": 0, "max": 1e9}
            print(f"  {name:34s} ERROR {error}", flush=True)
            continue
        results[name] = {
            "group": group,
            "median": statistics.median(samples),
            "max": max(samples),
            "runs": len(samples),
        }
        print(
            f"  {name:34s} median {results[name]['median']:7.3f} s  max {results[name]['max']:7.3f} s"
            f"  ({len(samples)} runs, load {load()})",
            flush=True,
        )
    return results


def row_counts(engine) -> dict[str, int]:
    from sqlalchemy import func, select

    from bot.models import Base

    out = {}
    with engine.connect() as conn:
        for name, table in sorted(Base.metadata.tables.items()):
            n = conn.execute(select(func.count()).select_from(table)).scalar() or 0
            if n:
                out[name] = int(n)
    return out


def fill_counters(engine) -> bool:
    """person_totals and department_day_counts as the writers would have kept them: the
    generator writes raw rows, so the counters are rebuilt from them by bot.counters_check
    (the one definition `safetybot counters check --repair` uses). Skipped when they are
    already there."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from bot.counters_check import repair
    from bot.models import PersonTotals

    with Session(engine) as s:
        if s.scalar(select(func.count()).select_from(PersonTotals)):
            return False
    started = time.perf_counter()
    with Session(engine) as s, s.begin():
        repair(s, date(YEAR, 6, 30))
    print(f"  counters rebuilt in {time.perf_counter() - started:.1f} s", flush=True)
    return True


# -- one database -----------------------------------------------------------------------------
def bench_settings(url: str):
    from bot.settings import Settings

    # The ranking snapshot is off: 积分 and 排行 are timed as a cold request pays them.
    return Settings(database_url=url, ranking_cache_seconds=0)


def bench_now(settings) -> datetime:
    return datetime(YEAR, 6, 30, 20, 0, tzinfo=settings.tz)


def time_only(url: str, args) -> dict[str, Any]:
    """Time the benchmarks on a prepared database with whatever code is on sys.path (the
    --baseline child process runs this with the older checkout)."""
    from bot.db import make_engine

    engine = make_engine(url)
    settings = bench_settings(url)
    load_before = load()
    results = time_all(
        engine, settings, bench_now(settings), args.runs, args.only, args.detail, args.skip
    )
    engine.dispose()
    return {"results": results, "load": [load_before, load()]}


def baseline(url: str, args) -> dict[str, Any]:
    """The same benchmarks on the same data with the code of `--baseline` (a checkout)."""
    import subprocess

    code = Path(args.baseline).resolve()
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = Path(fh.name)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--database-url", url, "--time-only"]
    cmd += ["--runs", str(args.runs), "--json", str(out)]
    if args.only:
        cmd += ["--only", args.only]
    if args.skip:
        cmd += ["--skip", args.skip]
    if args.detail:
        cmd += ["--detail"]
    env = dict(os.environ, SAFETYBOT_BENCH_CODE=str(code), PYTHONPATH=str(code))
    print(f"  baseline: the code of {code}", flush=True)
    try:
        subprocess.run(cmd, env=env, check=True, cwd=str(code))
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)


def run_one(url: str, label: str, args) -> dict[str, Any]:
    from sqlalchemy import func, select

    from bot.db import make_engine
    from bot.migrate import upgrade
    from bot.models import User

    engine = make_engine(url)
    print(f"\n== {label}: {engine.url.render_as_string(hide_password=True)}", flush=True)
    started = time.perf_counter()
    upgrade(engine)
    with engine.connect() as conn:
        existing = conn.execute(select(func.count()).select_from(User)).scalar() or 0
    generation: dict[str, Any] = {}
    if existing and args.reuse:
        print(f"  reusing {existing} members already there", flush=True)
        if derive_activity(engine) | fill_counters(engine):
            analyze(engine)
    elif existing:
        raise SystemExit(f"{label}: the database already holds members (use --reuse)")
    else:
        print(f"  generating ({args.members} members, {args.days} days), load {load()}", flush=True)
        w = generate(engine, args.members, args.days)
        derive_activity(engine)
        fill_counters(engine)
        analyze(engine)
        total = time.perf_counter() - started
        rows = sum(w.counts.values())
        generation = {
            "seconds": total,
            "rows": rows,
            "per_table": {k: [w.counts[k], round(w.seconds.get(k, 0.0), 1)] for k in w.counts},
        }
        print(
            f"  generated {rows:,} rows in {total:.0f} s ({rows / total:,.0f} rows/s)", flush=True
        )
        for name, (n, secs) in sorted(generation["per_table"].items(), key=lambda kv: -kv[1][0]):
            print(f"    {name:24s} {n:>10,} rows {secs:7.1f} s")
    settings = bench_settings(url)
    ensure_accounts(engine, bench_now(settings))
    rows = row_counts(engine)
    engine.dispose()
    before = baseline(url, args) if args.baseline else None
    after = time_only(url, args)
    return {
        "label": label,
        "generation": generation,
        "results": after["results"],
        "before": before["results"] if before else None,
        "rows": rows,
        "load": after["load"],
        "load_before": before["load"] if before else None,
    }


GOALS = {"page": 1.0, "data": 1.0, "stats": 0.5, "chat": 0.05, "report": 3.0}


def _cell(v: dict[str, Any] | None) -> str:
    if v is None:
        return f"{'-':>17s}"
    if "error" in v:
        return f"{'ERROR':>17s}"
    return f"{v['median']:>7.3f} / {v['max']:>7.3f}"


def print_table(runs: list[dict[str, Any]]) -> None:
    names: list[str] = []
    for r in runs:
        for n in r["results"]:
            if n not in names:
                names.append(n)
    head = f"{'median / max (s)':34s}"
    for r in runs:
        if r.get("before"):
            head += f" {r['label'] + ' before':>17s}"
        head += f" {r['label'] + (' after' if r.get('before') else ''):>17s}"
    head += f" {'goal':>6s}  result"
    print("\n" + head)
    print("-" * len(head))
    for n in names:
        line = f"{n:34s}"
        ok = True
        goal = GOAL_S
        for r in runs:
            if r.get("before"):
                line += " " + _cell(r["before"].get(n))
            v = r["results"].get(n)
            line += " " + _cell(v)
            if v is not None:
                goal = GOALS.get(v["group"], GOAL_S)
                ok = ok and "error" not in v and v["max"] < goal
        line += f" {goal:>5.2f}s  {'pass' if ok else 'FAIL'}"
        print(line)
    for r in runs:
        print(f"\n{r['label']} rows: " + ", ".join(f"{k} {v:,}" for k, v in r["rows"].items()))
        if r.get("load_before"):
            print(f"{r['label']} load average before/after the baseline: {r['load_before']}")
        print(f"{r['label']} load average before/after timing: {r['load'][0]} / {r['load'][1]}")
        if r["generation"]:
            g = r["generation"]
            print(f"{r['label']} data generation: {g['rows']:,} rows in {g['seconds']:.0f} s")
    print(f"\nmachine: {machine()}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--reuse", action="store_true", help="reuse data already there")
    parser.add_argument("--only", default=None, help="time only queries whose name has this")
    parser.add_argument("--skip", default=None, help="leave out queries whose name has this")
    parser.add_argument("--detail", action="store_true", help="also time each data function")
    parser.add_argument(
        "--baseline", default=None, help="a checkout (git worktree) to time first, same data"
    )
    parser.add_argument("--time-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()
    if not 1 <= args.days <= 30:
        parser.error("--days must be 1..30 (June)")
    if args.time_only:
        out = time_only(args.database_url, args)
        if args.json:
            Path(args.json).write_text(json.dumps(out, ensure_ascii=False))
        return 0

    from sqlalchemy import create_engine, text

    print(f"machine: {machine()}; load average {load()}", flush=True)
    results = []
    cleanup: list[Callable[[], None]] = []
    try:
        if args.database_url:
            results.append(run_one(args.database_url, "db", args))
        else:
            tmp = Path(tempfile.mkdtemp(prefix="safetybot-reports-"))
            db = tmp / "bench.db"
            if not args.keep:
                cleanup.append(lambda: [p.unlink() for p in tmp.iterdir()] and tmp.rmdir())
            results.append(run_one(f"sqlite:///{db}", "SQLite", args))
            if args.keep:
                print(f"  kept: sqlite:///{db}")
            schema = "bench_reports_" + uuid.uuid4().hex[:8]
            admin = create_engine(PG_DEFAULT, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            sep = "&" if "?" in PG_DEFAULT else "?"
            pg_url = f"{PG_DEFAULT}{sep}options=-csearch_path%3D{schema}"

            def drop(schema=schema, admin=admin):
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()

            if not args.keep:
                cleanup.append(drop)
            results.append(run_one(pg_url, "PostgreSQL", args))
            if args.keep:
                print(f"  kept: {pg_url}")
    finally:
        for fn in cleanup:
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - cleanup must not hide the real error
                print(f"cleanup failed: {exc}", file=sys.stderr)
    print_table(results)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"machine": machine(), "runs": results}, ensure_ascii=False, indent=1)
        )
    failed = [
        n
        for r in results
        for n, v in r["results"].items()
        if v["max"] >= GOALS.get(v["group"], GOAL_S)
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
