"""Scale-out with real processes on one PostgreSQL database: two gunicorn web processes and one
`safetybot scheduler`, driven through simulated days.

Callbacks go to both web processes (some with the same MsgId to both, as a WeCom retry that
lands on the other worker would); the scheduler pushes the 08:30 tip and the 09:00 quiz each
day. Every effect must happen once: one check-in per member per day, one inbound row per MsgId,
the same passive reply to every copy, one message/send per member, day and push.

Simulated time: every process reads "now" from one file (SAFETYBOT_CLOCK_FILE, see
bot/testing_clock.py) that the test replaces atomically. APScheduler's cron triggers run on the
wall clock and never match simulated pushes; the catch-up job (SAFETYBOT_SCHEDULER_TICK, here
0.3 s) runs them, which is the code path of a scheduler that starts late. The outbox sender's
lease (2 minutes) assumes the processes' clocks agree and that time does not leap past a lease
while a sender holds one, so the test only moves the clock when nothing is pending.
"""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import func, select

from bot.db import transaction
from bot.directory import sync_directory
from bot.fake_wecom.driver import CallbackDriver, CallbackResult, http_post, next_msg_id
from bot.fake_wecom.seed import ADMINS, USERS
from bot.models import DailyCheckin, InboundMessage, JobRun, OutboxDelivery, QuizAnswer
from bot.outbox import counts
from bot.runtime import build_runtime
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TZ = ZoneInfo("Asia/Shanghai")
EXTRA = [f"worker{i:02d}" for i in range(1, 25)]  # more members than the seed's twelve
MEMBERS = [u[0] for u in USERS] + EXTRA
DAYS = [1, 2, 3]  # 1–3 June 2026
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeCom shows it
TIP_TAG = re.compile(r"【每日安全提示 · (\d+)月(\d+)日】")


# Each member, each day: check in, start the daily quiz and answer its three questions (all of
# them, so no unfinished quiz expires overnight: that notice would turn the next reply into two
# messages sent through the outbox instead of a passive reply).
STEPS = ("打卡", "答题", "answer 1", "answer 2", "answer 3")


def answer_for(question_text: str | None) -> str:
    """Some valid answer to the last question in a reply: 对 for a judge question, else A."""
    text = question_text or ""
    return "对" if text[text.rfind("题（") :].startswith("题（判断") else "A"


def local(day: int, hhmm: str, seconds: int = 0) -> datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime(2026, 6, day, h, m, seconds, tzinfo=TZ)


def set_clock(path: Path, value: datetime) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(value.isoformat())
    os.replace(tmp, path)  # atomic: a process never reads half a timestamp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check, timeout: float, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    tails = "\n".join(f"== {p.name}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    pytest.fail(f"timed out waiting for {what}\n{tails}")


class Cluster:
    """Two `gunicorn -w 1 bot.wsgi:app` processes and one `safetybot scheduler`."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.ports = [free_port(), free_port()]
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = self.workdir / f"{name}.log"
        self.logs.append(log)
        with open(log, "wb") as fh:  # a file, not a pipe: a full pipe would block the process
            self.procs.append(
                subprocess.Popen(
                    argv, cwd=self.workdir, env=self.env, stdout=fh, stderr=subprocess.STDOUT
                )
            )

    def start(self) -> None:
        # All three start at once on an empty schema: each one migrates (advisory lock).
        for i, port in enumerate(self.ports):
            self._spawn(
                f"web{i}",
                [
                    str(BIN / "gunicorn"),
                    "-w",
                    "1",
                    "--threads",
                    "4",
                    "-b",
                    f"127.0.0.1:{port}",
                    "--no-control-socket",  # not ~/.gunicorn/gunicorn.ctl, shared by both
                    "--graceful-timeout",
                    "5",
                    "bot.wsgi:app",
                ],
            )
        self._spawn("scheduler", [sys.executable, "-m", "bot.cli", "scheduler"])

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.ports]

    def healthy(self) -> bool:
        for p in self.procs:
            if p.poll() is not None:
                tails = "\n".join(f"== {f.name}\n{f.read_text()[-3000:]}" for f in self.logs)
                pytest.fail(f"a process exited early ({p.args[0]}: {p.returncode})\n{tails}")
        for url in self.urls:
            try:
                if requests.get(url + "/healthz", timeout=1).status_code != 200:
                    return False
            except requests.RequestException:
                return False
        return "scheduler running" in self.logs[-1].read_text()

    def stop(self) -> list[int | None]:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes = []
        for p in self.procs:
            try:
                codes.append(p.wait(timeout=15))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                codes.append(None)
        return codes


@pytest.fixture
def cluster_env(pg_url, fake, tmp_path):
    clock_file = tmp_path / "clock.txt"
    set_clock(clock_file, local(DAYS[0], "08:00"))
    values = {
        "WECOM_CORP_ID": fake.state.corp_id,
        "WECOM_AGENT_ID": str(fake.state.agent_id),
        "WECOM_SECRET": fake.state.secret,
        "WECOM_TOKEN": "testtoken",
        "WECOM_ENCODING_AES_KEY": AES_KEY,
        "WECOM_API_BASE": fake.url,
        "DATABASE_URL": pg_url,
        "SAFETYBOT_ADMINS": ",".join(ADMINS),
        "SAFETYBOT_TIMEZONE": "Asia/Shanghai",
        "SAFETYBOT_FILES_DIR": str(tmp_path / "files"),
        "SAFETYBOT_CLOCK_FILE": str(clock_file),
        "SAFETYBOT_SCHEDULER_TICK": "0.3",
        "SAFETYBOT_QUIZ_PER_DAY": "3",
        # The scenario below is written for these times (the defaults avoid :00 and :30).
        "SAFETYBOT_TIP_TIME": "08:30",
        "SAFETYBOT_QUIZ_TIME": "09:00",
        "SAFETYBOT_LOG_LEVEL": "WARNING",
    }
    # Nothing from the developer's environment leaks into the processes' settings.
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WECOM_", "SAFETYBOT_", "DATABASE_URL"))
    }
    env = {**base, **values, "PYTHONPATH": str(ROOT)}
    return env, Settings.from_env(values, dotenv=False), clock_file


@pytest.fixture
def cluster(cluster_env, tmp_path):
    env, _settings, _clock = cluster_env
    c = Cluster(env, tmp_path)
    c.start()
    try:
        yield c
    finally:
        c.stop()


def send_copies(
    drivers: list[CallbackDriver],
    targets: list[int],
    userid: str,
    text: str,
    msg_id: str | None = None,
    created: int | None = None,
):
    """Send one callback (one MsgId) to each target worker at the same moment."""
    msg_id = msg_id or next_msg_id()
    created = created or int(time.time())
    results: list[CallbackResult | None] = [None] * len(targets)
    start = threading.Barrier(len(targets))

    def one(i: int, target: int) -> None:
        start.wait()
        results[i] = drivers[target].text(userid, text, msg_id=msg_id, create_time=created)

    threads = [threading.Thread(target=one, args=(i, t)) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return msg_id, results


def push_sends(fake) -> Counter:
    """(userid, day, kind) -> message/send calls naming that member.

    Counted on the API calls, not on deliveries: WeCom's duplicate check would hide a second
    send of the same content, and the point is that there is no second send."""
    seen: Counter = Counter()
    for call in fake.calls_to("message/send"):
        body = call.body or {}
        if body.get("msgtype") == "text":
            match = TIP_TAG.match(body["text"]["content"])
            if not match:
                continue
            key = (int(match.group(2)), "tip")
        elif body.get("msgtype") == "template_card":
            task_id = body["template_card"].get("task_id", "")
            if not task_id.startswith("quizpush-"):
                continue
            # quizpush-YYYYMMDD-b<batch>: the day of June, whatever the batch
            key = (int(task_id.split("-")[1][-2:]), "quiz")
        else:
            continue
        for userid in body["touser"].split("|"):
            seen[(userid, *key)] += 1
    return seen


@pytest.fixture
def probe(cluster_env):
    """The test's own runtime on the same database and clock file (it runs no sender)."""
    rt = build_runtime(cluster_env[1])
    yield rt
    rt.close()


@pytest.mark.slow
def test_two_web_processes_and_a_scheduler_take_effect_once(cluster, cluster_env, probe, fake):
    _env, settings, clock_file = cluster_env
    wait_for("three processes up and migrated", cluster.healthy, 45, cluster.logs)

    for i, userid in enumerate(EXTRA):
        fake.add_user(userid, f"职工{i + 1}", [3 + i % 4])
    with transaction(probe.factory) as s:
        sync_directory(s, probe.client, probe.clock())
    fake.reset()  # count only what the processes do from here

    def http(url: str):
        session = requests.Session()  # the member threads share it: a pool big enough for all
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=40))
        return http_post(url, session=session)

    drivers = [
        CallbackDriver(probe.crypto, http(url), agent_id=settings.agent_id) for url in cluster.urls
    ]

    def pending() -> int:
        with probe.factory() as s:
            return s.scalar(
                select(func.count())
                .select_from(OutboxDelivery)
                .where(OutboxDelivery.status == "pending")
            )

    def ran(job_id: str, at: datetime) -> bool:
        with probe.factory() as s:
            status = s.scalar(
                select(JobRun.status).where(JobRun.job_id == job_id, JobRun.scheduled_for == at)
            )
        return status == "done"

    def move_clock(to: datetime) -> None:
        # Only when nothing is in flight: a leap past the sender's lease while a process holds
        # one would let another process claim and send the same rows again.
        wait_for("the outbox to drain", lambda: pending() == 0, 20, cluster.logs)
        set_clock(clock_file, to)

    rng = random.Random(20260601)
    msg_ids: set[str] = set()
    duplicates = retries = 0
    try:
        for day in DAYS:
            move_clock(local(day, "08:00"))
            time.sleep(0.4)  # a tick or two with nothing due
            for job, hhmm in (("daily_tip", "08:30"), ("daily_quiz", "09:00")):
                # A slow message/send (1.5 s) keeps the first sender's lease busy while the two
                # others wake up (they poll every second) and look for due deliveries.
                fake.inject("message/send", delay=1.5)
                move_clock(local(day, hhmm, 10))
                wait_for(
                    f"{job} on day {day}",
                    lambda j=job, at=local(day, hhmm): ran(j, at),
                    20,
                    cluster.logs,
                )
            move_clock(local(day, "09:05"))

            # Every member goes through STEPS; each callback goes to one worker, to both at once
            # (one MsgId), or to one and then again to the other (a retry).
            def member(userid: str, seed: int) -> list[tuple[str, str, list, str]]:
                r = random.Random(seed)
                out = []
                for step in STEPS:
                    text = answer_for(out[-1][2][0].text) if step.startswith("answer") else step
                    mode = r.choice(["one", "both", "both", "retry"])
                    first = r.randrange(2)
                    targets = [first, 1 - first] if mode == "both" else [first]
                    created = int(time.time())
                    msg_id, results = send_copies(drivers, targets, userid, text, None, created)
                    if mode == "retry":
                        # WeCom's retry: the same MsgId and CreateTime, a new signature.
                        _, again = send_copies(drivers, [1 - first], userid, text, msg_id, created)
                        results += again
                    out.append((step, msg_id, results, mode))
                return out

            with ThreadPoolExecutor(max_workers=16) as pool:
                per_member = dict(
                    zip(
                        MEMBERS,
                        pool.map(member, MEMBERS, [rng.randrange(1 << 30) for _ in MEMBERS]),
                        strict=True,
                    )
                )
            for userid, sent in per_member.items():
                for step, msg_id, results, mode in sent:
                    msg_ids.add(msg_id)
                    duplicates += mode == "both"
                    retries += mode == "retry"
                    assert all(r.status == 200 for r in results), (userid, step, results)
                    replies = {r.text for r in results}
                    # Every copy of one callback gets the same passive reply.
                    assert len(replies) == 1 and None not in replies, (userid, step, replies)
                    reply = replies.pop()
                    if step == "打卡":
                        # The first check-in today, and the streak counts each earlier day once.
                        assert reply.startswith(f"打卡成功！今天是您连续第 {day} 天"), reply
                    elif step == "答题":
                        assert reply.startswith("【每日安全答题】"), reply
                    else:
                        assert reply.startswith(("✅", "❌")), reply  # scored, not "already"
                        if step == STEPS[-1]:
                            assert "今日答题完成" in reply, reply
        move_clock(local(DAYS[-1], "10:10"))
        wait_for("the outbox to drain", lambda: pending() == 0, 20, cluster.logs)
    finally:
        codes = cluster.stop()
    assert codes == [0, 0, 0], (codes, [p.read_text()[-2000:] for p in cluster.logs])
    assert duplicates and retries  # the random plan exercised both kinds of copies

    # Pushes: one message/send per member, day and kind, and none to anybody else.
    seen = push_sends(fake)
    expected = {(u, d, k) for u in MEMBERS for d in DAYS for k in ("tip", "quiz")}
    assert set(seen) == expected
    assert set(seen.values()) == {1}, {k: n for k, n in seen.items() if n != 1}

    with probe.factory() as s:
        checkins = Counter(s.execute(select(DailyCheckin.userid, DailyCheckin.day)).all())
        inbound = Counter(s.scalars(select(InboundMessage.dedup_key)).all())
        answers = s.scalar(select(func.count()).select_from(QuizAnswer))
        outbox = counts(s)
        runs = s.execute(select(JobRun.job_id, JobRun.scheduled_for, JobRun.status)).all()

    assert len(checkins) == len(MEMBERS) * len(DAYS) and set(checkins.values()) == {1}
    assert {(u, d.day) for u, d in checkins} == {(u, d) for u in MEMBERS for d in DAYS}
    assert inbound == Counter({f"msg:{m}": 1 for m in msg_ids})
    assert answers == len(MEMBERS) * len(DAYS) * 3  # three questions a day

    assert outbox["enqueued"] == outbox["sent"] + outbox["pending"] + outbox["dead"]
    assert outbox["pending"] == 0 and outbox["dead"] == 0
    assert outbox["sent"] >= len(MEMBERS) * 2 * len(DAYS)

    per_occurrence = Counter((job, at) for job, at, _ in runs)
    assert set(per_occurrence.values()) == {1}
    assert {status for _, _, status in runs} == {"done"}
    for job, hhmm in (("daily_tip", "08:30"), ("daily_quiz", "09:00")):
        times = {at for j, at, _ in runs if j == job}
        assert times == {local(d, hhmm).astimezone(timezone.utc) for d in DAYS}, job


# -- the two test-only hooks ----------------------------------------------------------------------
def test_clock_file_and_scheduler_tick_are_off_by_default_and_read_from_env(tmp_path):
    from bot.testing_clock import FileClock

    default = Settings.from_env({}, dotenv=False)
    assert default.clock_file == "" and default.scheduler_tick_seconds == 60
    clock_file = tmp_path / "clock.txt"
    custom = Settings.from_env(
        {"SAFETYBOT_CLOCK_FILE": str(clock_file), "SAFETYBOT_SCHEDULER_TICK": "0.5"},
        dotenv=False,
    )
    assert custom.scheduler_tick_seconds == 0.5
    with pytest.raises(ValueError, match="SAFETYBOT_SCHEDULER_TICK"):
        Settings.from_env({"SAFETYBOT_SCHEDULER_TICK": "0"}, dotenv=False)

    set_clock(clock_file, local(1, "08:30"))
    rt = build_runtime(custom.replace(database_url=f"sqlite:///{tmp_path / 'x.db'}"))
    try:
        assert isinstance(rt.clock, FileClock)
        assert rt.clock() == local(1, "08:30") and rt.clock().tzinfo == timezone.utc
        set_clock(clock_file, local(2, "09:00"))
        assert rt.clock() == local(2, "09:00")  # read on every call
    finally:
        rt.close()
    clock_file.write_text("2026-06-01T08:30:00")
    with pytest.raises(ValueError, match="UTC offset"):
        FileClock(clock_file)()
