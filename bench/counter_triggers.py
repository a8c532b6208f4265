"""What department_totals' triggers add to a right answer: the same counters.count_answer
transactions with the triggers on and off, in alternating blocks, on one database.

    python bench/counter_triggers.py --database-url URL [--blocks 6] [--per-block 1000]

Use a scratch database (it is migrated, 2,000 members are added, and the person_totals
triggers are switched off and on: SQLite drops and recreates them, PostgreSQL disables them
with ALTER TABLE). On PostgreSQL add `options=-csynchronous_commit%3Doff` to the URL, or the
commit's fsync hides the difference. Prints the median (and minimum) wall time per transaction
and the process CPU (on SQLite the database's work is in the process).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument("--per-block", type=int, default=1000)
    args = parser.parse_args()

    from sqlalchemy import func, select, text

    from bot import counters
    from bot.db import is_postgres, make_engine, make_session_factory, transaction
    from bot.migrate import upgrade
    from bot.models import User

    engine = make_engine(args.database_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    members = [f"ab{i:05d}" for i in range(2000)]
    with transaction(factory) as s:
        if not s.scalar(select(func.count()).where(User.userid.in_(members[:1]))):
            s.execute(
                User.__table__.insert(),
                [
                    {"userid": u, "name": "", "department_id": 2 + i % 200, "department_ids": []}
                    for i, u in enumerate(members)
                ],
            )
    pg = is_postgres(engine)
    with engine.connect() as conn:
        sqlite_triggers = (
            []
            if pg
            else conn.execute(
                text(
                    "SELECT name, sql FROM sqlite_master"
                    " WHERE type = 'trigger' AND tbl_name = 'person_totals'"
                )
            ).all()
        )

    def switch(on: bool) -> None:
        with engine.begin() as conn:
            if pg:
                state = "ENABLE" if on else "DISABLE"
                conn.exec_driver_sql(f"ALTER TABLE person_totals {state} TRIGGER USER")
                return
            for name, sql in sqlite_triggers:
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
                if on:
                    conn.exec_driver_sql(sql)

    rng = random.Random(1)

    def block(on: bool) -> tuple[float, float]:
        switch(on)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.per_block):
            with transaction(factory) as s:
                userid = rng.choice(members)
                counters.count_answer(s, userid, 2, date(2026, 6, 5), True, 10, "q1")
        n = args.per_block
        return (time.perf_counter() - wall) / n * 1e6, (time.process_time() - cpu) / n * 1e6

    print(f"load average {' '.join(map(str, os.getloadavg()))}")
    results: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    try:
        block(True)  # warm-up
        for b in range(args.blocks):
            for on in (False, True) if b % 2 else (True, False):
                results[on].append(block(on))
    finally:
        switch(True)
    for on in (False, True):
        wall = [w for w, _ in results[on]]
        cpu = [c for _, c in results[on]]
        print(
            f"triggers {'on ' if on else 'off'}: wall median {statistics.median(wall):7.1f} µs"
            f" (min {min(wall):7.1f}) per transaction, CPU {statistics.median(cpu):6.1f} µs"
        )
    print(f"load average {' '.join(map(str, os.getloadavg()))}")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
