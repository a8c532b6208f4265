"""积分 and 排行 for members high, middle and low on the board, on a prepared database.

    python bench/rank_members.py --database-url URL [--code DIR] [--runs 7]

bench/reports.py times 积分 for one engaged member; the rank's cost depends on how many people
are above the member (a count over the points index), so this times three: the top scorer, a
median one and one who took part with 0 points, then 排行. Median of `--runs` after a warm-up,
wall and process CPU (on SQLite the database runs in the process, so CPU includes it), ranking
snapshot off. `--code DIR` runs another checkout's code (e.g. `git archive BASE` extracted in
DIR) on the same database, for a before/after one command after the other.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--code", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(args.code).resolve()))

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from bot.context import Context
    from bot.db import make_engine
    from bot.messages import IncomingMessage
    from bot.models import PersonTotals, User
    from bot.settings import Settings
    from handlers import quiz_points

    engine = make_engine(args.database_url)
    settings = Settings(database_url=args.database_url, ranking_cache_seconds=0)
    now = datetime(2026, 6, 30, 20, 0, tzinfo=settings.tz)  # bench/reports.py's evening

    def run(handler, userid: str, text: str) -> tuple[float, float]:
        with Session(engine) as s:
            ctx = Context(
                session=s, settings=settings, now=now, userid=userid, user=s.get(User, userid)
            )
            msg = IncomingMessage(
                msg_type="text", from_user=userid, create_time=int(now.timestamp()), content=text
            )
            wall, cpu = time.perf_counter(), time.process_time()
            handler(msg, ctx, "")
            return time.perf_counter() - wall, time.process_time() - cpu

    def timed(label: str, handler, userid: str, text: str) -> None:
        run(handler, userid, text)
        samples = [run(handler, userid, text) for _ in range(args.runs)]
        wall = [w * 1000 for w, _ in samples]
        cpu = statistics.median(c * 1000 for _, c in samples)
        print(
            f"{label:28s} wall median {statistics.median(wall):6.1f} ms  max {max(wall):6.1f} ms"
            f"  CPU {cpu:5.1f} ms"
        )

    pt = PersonTotals
    with Session(engine) as s:
        points = sorted(s.scalars(select(pt.points).where(pt.answers > 0)))
        median = points[len(points) // 2]
        top = s.scalar(select(pt.userid).order_by(pt.points.desc(), pt.userid).limit(1))
        middle = s.scalar(select(pt.userid).where(pt.points == median).order_by(pt.userid))
        low = s.scalar(
            select(pt.userid)
            .where(pt.points == 0, pt.took_part_on.is_not(None))
            .order_by(pt.userid)
            .limit(1)
        )
    print(f"code: {args.code}; load average {' '.join(map(str, os.getloadavg()))}")
    for label, userid in (
        ("积分, top scorer", top),
        (f"积分, median ({median} points)", middle),
        ("积分, 0 points", low),
    ):
        if userid is not None:
            timed(label, quiz_points.handle_points, userid, "积分")
    timed("排行", quiz_points.handle_ranking, middle, "排行")
    print(f"load average {' '.join(map(str, os.getloadavg()))}")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
