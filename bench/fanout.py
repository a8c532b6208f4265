"""Fan-out benchmark: `push quiz` to N synthetic members through the fake WeCom API.

    python bench/fanout.py [--members 100000] [--latency 0.02] [--database-url URL]

The fake runs in its own process (its memory is not ours) and adds `latency` to every call.
Prints API calls made (floor: ceil(N/1000)), wall time and the peak memory of this process.
Goal: at most 100 calls, under 30 s, under 300 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _rss_mb(field: str) -> float:
    """VmRSS / VmHWM (peak) of this process from /proc, in MB (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _reset_peak_rss() -> None:
    # Linux: writing 5 to clear_refs resets VmHWM to the current RSS.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def insert_members(session, members: int) -> None:
    """The directory as `sync-directory` would leave it for the fake's `--synthetic N` members
    (20 departments under 总部), inserted in bulk: 100,000 members in seconds."""
    from sqlalchemy import insert

    from bot.fake_wecom.__main__ import synthetic_userid
    from bot.models import Department, User

    session.execute(
        insert(Department), [{"id": d, "name": f"部门{d}", "order": d} for d in range(1, 22)]
    )
    for start in range(0, members, 10_000):
        rows = [
            {
                "userid": synthetic_userid(i),
                "name": f"员工{i}",
                "department_id": 2 + i % 20,
                "department_ids": [2 + i % 20],
                "leader_of": [],
                "status": 1,
            }
            for i in range(start, min(members, start + 10_000))
        ]
        session.execute(insert(User), rows)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    import requests

    from bench.callback import free_port, wait_http
    from bot.campaign import from_content
    from bot.db import transaction
    from bot.migrate import upgrade
    from bot.runtime import build_runtime
    from bot.settings import Settings
    from scheduler.jobs import push_daily_quiz

    tmp = Path(tempfile.mkdtemp(prefix="safetybot-fanout-"))
    port = free_port()
    fake = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.fake_wecom",
            "--port",
            str(port),
            "--corp-id",
            "wwfanout",
            "--secret",
            "s",
            "--latency",
            str(args.latency),
            "--synthetic",
            str(args.members),
        ],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/cgi-bin/gettoken", timeout=120)
        db_url = args.database_url or f"sqlite:///{tmp / 'fanout.db'}"
        settings = Settings(
            corp_id="wwfanout",
            agent_id=1000002,
            secret="s",
            token="t",
            encoding_aes_key="a" * 43,
            api_base=f"http://127.0.0.1:{port}",
            database_url=db_url,
            files_dir=str(tmp),
        )
        # The push runs on a campaign day (the quiz is pushed only inside the campaign period,
        # content/campaign.yaml): 09:05 on its first day, whatever today is.
        start = from_content().start
        campaign_day = datetime(start.year, start.month, start.day, 1, 5, tzinfo=timezone.utc)
        rt = build_runtime(settings, clock=lambda: campaign_day)
        upgrade(rt.engine)
        with transaction(rt.factory) as s:
            insert_members(s, args.members)
        rss_before = _rss_mb("VmRSS")
        _reset_peak_rss()  # so the peak below is the push's own, not the set-up's

        t0 = time.perf_counter()
        with transaction(rt.factory) as s:
            detail = push_daily_quiz(s, rt, rt.clock())
        t_enqueue = time.perf_counter() - t0
        stats = rt.sender.drain()
        wall = time.perf_counter() - t0
        peak = _rss_mb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rt.close()
        counted = requests.get(f"http://127.0.0.1:{port}/cgi-bin/gettoken", timeout=5)  # alive
        assert counted.status_code == 200
    finally:
        os.killpg(fake.pid, signal.SIGTERM)
        fake.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)

    floor = math.ceil(args.members / 1000)
    print(
        f"machine: {os.cpu_count()} cores; database: {db_url.split(':')[0]}; "
        f"{args.members} members; fake API latency {args.latency * 1000:.0f} ms per call"
    )
    print(f"{detail}; enqueue {t_enqueue:.2f} s")
    print(f"message/send calls: {stats.api_calls} (floor {floor}; goal <= 100)")
    print(
        f"sent {stats.sent}, dead {stats.dead}, retried {stats.retried}, deferred {stats.deferred}"
    )
    print(f"wall time: {wall:.2f} s (goal < 30 s)")
    print(f"peak memory: {peak:.0f} MB (RSS before the push: {rss_before:.0f} MB; goal < 300 MB)")
    return 0 if stats.sent == args.members else 1


if __name__ == "__main__":
    sys.exit(main())
