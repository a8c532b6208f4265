"""Each daily tip and quiz reaches each member once a day, whatever the processes do.

Three runtimes (as three processes would: own engine, own client, own sender) share one
database and race through simulated days; a process starts late; real subprocesses do the same.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.db import transaction
from bot.directory import sync_directory
from bot.fake_wecom.seed import USERS
from bot.migrate import upgrade
from bot.models import JobRun, OutboundMessage
from bot.outbox import counts
from bot.runtime import build_runtime
from scheduler.registry import catch_up

SEED = [u[0] for u in USERS]
TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parent.parent


def push_kind(body: dict) -> str | None:
    card = body.get("template_card") or {}
    if str(card.get("task_id", "")).startswith("quizpush-"):
        return "quiz"  # the daily quiz goes out as a card with a 开始答题 button
    text = (body.get("text") or {}).get("content", "")
    if text.startswith("【每日安全提示"):
        return "tip"
    if text.startswith("【每日安全答题】"):
        return "quiz"
    return None


def sends_per_member_per_push(fake) -> Counter:
    """(userid, kind, day of the tip / call order) -> how many message/send calls named them.

    Counted on the API calls, not on what the fake delivered: WeCom's duplicate check would
    hide a second send of the same text, and the point is that there is no second send."""
    seen: Counter = Counter()
    for call in fake.calls_to("message/send"):
        kind = push_kind(call.body)
        if kind is None:
            continue
        tag = call.body["text"]["content"].split("】")[0] if kind == "tip" else "quiz"
        for userid in call.body["touser"].split("|"):
            seen[(userid, kind, tag)] += 1
    return seen


def local(day: int, hhmm: str) -> datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime(2026, 6, day, h, m, tzinfo=TZ).astimezone(timezone.utc)


@pytest.fixture
def three_runtimes(settings, clock, fake):
    runtimes = [
        build_runtime(settings, clock=clock, client_sleep=lambda _s: None) for _ in range(3)
    ]
    upgrade(runtimes[0].engine)
    with transaction(runtimes[0].factory) as s:
        sync_directory(s, runtimes[0].client, clock())
    fake.reset()
    yield runtimes
    for rt in runtimes:
        rt.close()


def test_three_processes_over_simulated_days_send_each_push_once(three_runtimes, clock, fake):
    days = [1, 2, 3]
    rng = random.Random(7)
    for day in days:
        clock.current = local(day, "08:00")
        while clock.current <= local(day, "10:10"):
            # The three race: each catches up and drains at the same moment.
            threads = [
                threading.Thread(target=lambda rt=rt: (catch_up(rt), rt.sender.drain()))
                for rt in three_runtimes
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            clock.advance(minutes=rng.choice([1, 3, 7, 11]))
        fake._dup.clear()  # WeCom's duplicate window is real time; a simulated day has passed
        fake._recent.clear()
    seen = sends_per_member_per_push(fake)
    quiz_calls = [c for c in fake.calls_to("message/send") if push_kind(c.body) == "quiz"]
    assert len(quiz_calls) == len(days)  # one call per day (12 members < 1000)
    tips = {tag for (_, kind, tag) in seen if kind == "tip"}
    assert len(tips) == len(days)
    for userid in SEED:
        for tag in tips:
            assert seen[(userid, "tip", tag)] == 1, (userid, tag)
        assert seen[(userid, "quiz", "quiz")] == len(days), userid
    with three_runtimes[0].factory() as s:
        c = counts(s)
        assert c["enqueued"] == c["sent"] == len(SEED) * 2 * len(days) and c["pending"] == 0
        runs = dict(s.execute(select(JobRun.job_id, func.count()).group_by(JobRun.job_id)).all())
    assert runs["daily_tip"] == runs["daily_quiz"] == len(days)


def test_restart_at_090005_still_sends_the_0900_push(three_runtimes, clock, fake):
    first = three_runtimes[0]
    clock.current = local(5, "08:59")
    catch_up(first)  # the 08:30 tip
    first.sender.drain()
    # 09:00: every process is down. One comes back at 09:00:05 and catches up.
    clock.current = local(5, "09:00") + timedelta(seconds=5)
    assert "daily_quiz" in catch_up(three_runtimes[1])
    three_runtimes[1].sender.drain()
    assert "daily_quiz" not in catch_up(three_runtimes[2])  # the next one finds it done
    seen = sends_per_member_per_push(fake)
    assert all(seen[(u, "quiz", "quiz")] == 1 for u in SEED)


def test_a_process_back_after_more_than_an_hour_does_not_send_stale_pushes(
    three_runtimes, clock, fake
):
    clock.current = local(5, "10:05")
    ran = catch_up(three_runtimes[0])
    # The 08:30 tip and the 09:00 quiz are more than an hour late: neither runs. Jobs due in
    # the last hour (the per-minute ones, the 10:00 overdue reminders) do, and send nothing.
    assert "daily_tip" not in ran and "daily_quiz" not in ran
    assert "warning_followup" in ran and "hazard_overdue" in ran
    three_runtimes[0].sender.drain()
    assert fake.count("message/send") == 0


def test_push_cli_goes_through_the_outbox_once(settings, clock, fake, monkeypatch):
    """`safetybot push tip` twice on one day: queued once (dedup key), sent once."""
    import bot.runtime
    from bot.cli import core as cli

    rt = build_runtime(settings, clock=clock, client_sleep=lambda _s: None)
    upgrade(rt.engine)
    with transaction(rt.factory) as s:
        sync_directory(s, rt.client, clock())
    rt.close()
    fake.reset()
    monkeypatch.setattr(
        bot.runtime,
        "build_runtime",
        lambda s, **kw: build_runtime(settings, clock=clock, client_sleep=lambda _s: None),
    )
    args = type("Args", (), {"settings": settings, "what": "tip", "no_send": False})()
    assert cli.cmd_push(args) == 0 and cli.cmd_push(args) == 0
    seen = sends_per_member_per_push(fake)
    assert len(seen) == len(SEED) and set(seen.values()) == {1}
    probe = _migrated(settings, clock)
    with probe.factory() as s:
        assert s.scalar(select(func.count()).select_from(OutboundMessage)) == 1
    probe.close()


def _migrated(settings, clock):
    rt = build_runtime(settings, clock=clock, client_sleep=lambda _s: None)
    upgrade(rt.engine)
    return rt


# -- real processes -----------------------------------------------------------------------------
# Each worker is a separate Python process with its own runtime on the same database. They share
# one simulated clock (a file the test advances), as real processes share the wall clock: the
# sender's lease assumes the processes' clocks agree to well within the lease (2 minutes).
WORKER = r"""
import json, os, sys, time
from datetime import datetime
from bot.runtime import build_runtime
from bot.settings import Settings
from scheduler.registry import catch_up

cfg = json.loads(sys.argv[1])
values = cfg["settings"]
values["admins"] = frozenset(values["admins"])
values["robot_keys"] = tuple(values["robot_keys"])
values["cap_areas"] = tuple(values["cap_areas"])

def clock():
    with open(cfg["clock_file"]) as fh:
        return datetime.fromisoformat(fh.read().strip())

rt = build_runtime(Settings(**values), clock=clock, client_sleep=lambda s: None)
ran = []
while True:
    stop = os.path.exists(cfg["stop_file"])
    seen = clock()
    ran += catch_up(rt, seen)
    rt.sender.drain()
    # Tell the test which simulated time this process has caught up to.
    with open(cfg["seen_file"] + ".tmp", "w") as fh:
        fh.write(seen.isoformat())
    os.replace(cfg["seen_file"] + ".tmp", cfg["seen_file"])
    if stop:
        break
    time.sleep(0.03)
rt.close()
print(json.dumps(ran))
"""


def _set_clock(path: Path, value: datetime) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(value.isoformat())
    os.replace(tmp, path)  # atomic: a worker never reads half a timestamp


def _wait_until_seen(seen_files: list[Path], value: datetime, timeout: float = 60) -> None:
    """Advance simulated time only once every worker has run catch_up at `value`: a loaded
    machine makes the workers slow, and a step they never saw would be a missed occurrence
    that real time (which waits for nobody either, but lasts an hour) would not cause."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(f.exists() and f.read_text() == value.isoformat() for f in seen_files):
            return
        time.sleep(0.02)
    raise AssertionError(f"workers did not reach {value} within {timeout} s")


@pytest.mark.slow
def test_three_real_processes_send_each_push_once(settings, clock, fake, tmp_path):
    import dataclasses

    rt = build_runtime(settings, clock=clock, client_sleep=lambda _s: None)
    upgrade(rt.engine)
    with transaction(rt.factory) as s:
        sync_directory(s, rt.client, clock())
    rt.close()
    fake.reset()
    values = dataclasses.asdict(settings)
    for key in ("admins", "robot_keys", "cap_areas"):
        values[key] = sorted(values[key])
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    clock_file, stop_file = tmp_path / "clock.txt", tmp_path / "stop"
    _set_clock(clock_file, local(5, "08:20"))
    seen_files = [tmp_path / f"seen-{i}.txt" for i in range(3)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                json.dumps(
                    {
                        "settings": values,
                        "clock_file": str(clock_file),
                        "stop_file": str(stop_file),
                        "seen_file": str(seen_files[i]),
                    }
                ),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    try:
        steps = [
            "08:20",
            "08:29",
            "08:30",
            "08:31",
            "08:45",
            "08:59",
            "09:00",
            "09:00",
            "09:01",
            "09:20",
            "09:40",
        ]
        for day in (5, 6):
            for hhmm in steps:
                _set_clock(clock_file, local(day, hhmm))
                _wait_until_seen(seen_files, local(day, hhmm))
            fake._recent.clear()  # WeCom's per-minute window is real time; a day has passed
        stop_file.touch()
        ran = []
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err[-3000:]
            ran += json.loads(out.strip().splitlines()[-1])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    # Each occurrence ran in exactly one of the processes.
    assert Counter(r for r in ran if r.startswith("daily_")) == {"daily_tip": 2, "daily_quiz": 2}
    seen = sends_per_member_per_push(fake)
    tips = {tag for (_, kind, tag) in seen if kind == "tip"}
    assert len(tips) == 2
    for userid in SEED:
        assert seen[(userid, "quiz", "quiz")] == 2
        for tag in tips:
            assert seen[(userid, "tip", tag)] == 1
    probe = build_runtime(settings, clock=clock)
    with probe.factory() as s:
        c = counts(s)
    probe.close()
    assert c["enqueued"] == c["sent"] == len(SEED) * 4 and c["pending"] == c["dead"] == 0
