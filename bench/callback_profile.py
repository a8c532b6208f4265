"""Where a callback's time goes, in one process: SQL statements per message and a cProfile.

    python bench/callback_profile.py [--mix cold|warm] [--requests 3000] [--database-url URL]
                                     [--profile 25]

Drives `Bot.handle` directly (no HTTP, no crypto: those cost the same as in the echo bot) with
the same plans as bench/callback.py, counts the statements each kind of message executes (an
SQLAlchemy `before_cursor_execute` listener) and prints the top functions by cumulative time.
--foreign-writes adds what a second gunicorn worker costs each message on SQLite: the page
cache SQLite drops when another connection has committed.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402
from bench.callback import cold_plan, warm_plan  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mix", choices=("warm", "cold"), default="cold")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--statements", action="store_true", help="print the SQL of one message of each kind"
    )
    parser.add_argument(
        "--profile", type=int, default=25, help="functions to show (0: no cProfile, plain timings)"
    )
    parser.add_argument(
        "--sort", default="cumulative", help="cProfile order: cumulative (default) or tottime"
    )
    parser.add_argument(
        "--callers", default="", help="also show who calls the functions matching this regex"
    )
    parser.add_argument(
        "--foreign-writes",
        action="store_true",
        help="SQLite: another connection commits one row before each message, as the other "
        "gunicorn worker does (SQLite then drops this connection's page cache)",
    )
    args = parser.parse_args()

    from sqlalchemy import event

    from bot import prepared
    from bot.db import transaction
    from bot.directory import sync_directory
    from bot.fake_wecom import FakeWeCom
    from bot.fake_wecom.driver import next_msg_id
    from bot.knowledge.index import get_index
    from bot.messages import IncomingMessage
    from bot.migrate import upgrade
    from bot.runtime import build_runtime
    from bot.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="safetybot-prof-"))
    fake = FakeWeCom(corp_id="wwbench000000001", secret="bench-secret", record_bodies=False).start()
    fake.add_department(1, "总部")
    for d in range(2, 22):
        fake.add_department(d, f"部门{d}", 1)
    n_users = args.users if args.mix == "warm" else args.requests + 300
    users = [f"user{i:05d}" for i in range(n_users)]
    for i, u in enumerate(users):
        fake.add_user(u, f"员工{i}", [2 + i % 20])
    env = {
        "WECOM_CORP_ID": fake.state.corp_id,
        "WECOM_AGENT_ID": str(fake.state.agent_id),
        "WECOM_SECRET": fake.state.secret,
        "WECOM_TOKEN": "benchtoken",
        "WECOM_ENCODING_AES_KEY": "a" * 43,
        "WECOM_API_BASE": fake.url,
        "DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'prof.db'}",
        "SAFETYBOT_LOG_LEVEL": "WARNING",
        "SAFETYBOT_FILES_DIR": str(tmp / "files"),
    }
    rt = build_runtime(Settings.from_env(env, dotenv=False))
    upgrade(rt.engine)
    with transaction(rt.factory) as s:
        sync_directory(s, rt.client, rt.clock())

    def plan(n: int, seed: int, pool: list[str]):
        if args.mix == "warm":
            return warm_plan(n, users, seed), 0
        return cold_plan(n, pool, seed)

    warm, used = plan(300, 1, users)
    measured, _ = plan(args.requests, 2, users[used:])

    def message(user: str, text: str) -> IncomingMessage:
        return IncomingMessage(
            msg_type="text",
            from_user=user,
            to_user=env["WECOM_CORP_ID"],
            create_time=int(time.time()),
            content=text,
            msg_id=next_msg_id(),
            agent_id=env["WECOM_AGENT_ID"],
        )

    get_index()  # as a web process does at start (bot.wsgi: knowledge.index.warm)
    for user, text in warm:
        rt.bot.handle(message(user, text))

    statements: Counter[str] = Counter()
    current = [""]

    shown: dict[str, list[str]] = defaultdict(list)

    def count(_conn, _cursor, statement, *_a) -> None:
        count_sql(statement)

    def count_sql(statement: str) -> None:
        statements[current[0]] += 1
        if args.statements and len(per_kind[current[0]]) == 1:
            shown[current[0]].append(" ".join(statement.split())[:150])

    event.listen(rt.engine, "before_cursor_execute", count)
    # Statements bot.prepared runs on the driver do not pass SQLAlchemy's events.
    prepared.statement_hooks.append(count_sql)
    holds = _spy_on_write_lock() if env["DATABASE_URL"].startswith("sqlite") else None
    per_kind: dict[str, list[float]] = defaultdict(list)
    first_seen: set[str] = set()
    poke = _foreign_writer(env["DATABASE_URL"]) if args.foreign_writes else None
    poked = 0.0  # CPU the foreign commits took, left out of the per-message figures
    started = machine.mark()
    profiler = cProfile.Profile()
    t0, c0 = time.perf_counter(), time.process_time()
    if args.profile:
        profiler.enable()
    for user, text in measured:
        if poke is not None:
            # Outside the profile too: the foreign commit is not the message's work.
            profiler.disable()
            c = time.process_time()
            poke()
            poked += time.process_time() - c
            if args.profile:
                profiler.enable()
        kind = text if text in ("答题", "打卡", "帮助") else "answer"
        if kind in ("答题", "打卡"):
            kind += " (first today)" if user not in first_seen else ""
            first_seen.add(user)
        current[0] = kind
        t = time.perf_counter()
        rt.bot.handle(message(user, text))
        per_kind[kind].append(time.perf_counter() - t)
    profiler.disable()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0 - poked
    stolen = machine.percent(machine.shares_since(started).stolen)
    event.remove(rt.engine, "before_cursor_execute", count)
    prepared.statement_hooks.remove(count_sql)

    print(f"{args.mix} mix, {len(measured)} messages, {env['DATABASE_URL'].split(':')[0]}")
    if poke is not None:
        print(
            f"a foreign commit before each message ({poked / len(measured) * 1000:.3f} ms CPU "
            "each, left out below; its wall time is not)"
        )
    print(
        f"one process: {len(measured) / wall:.0f} messages/s ({wall / len(measured) * 1000:.2f} ms "
        f"each, of which CPU {cpu / len(measured) * 1000:.2f} ms); load average "
        f"{os.getloadavg()[0]:.2f}, CPU stolen by the hypervisor {stolen}"
    )
    if holds:
        held = sorted(holds)
        n = len(held)
        print(
            f"SQLite write lock: held {sum(held) / len(measured) * 1000:.3f} ms per message; "
            f"per hold p50 {held[n // 2] * 1000:.3f} ms, p99 {held[int(n * 0.99)] * 1000:.3f} "
            f"ms, max {held[-1] * 1000:.2f} ms; {sum(h > 0.002 for h in held)} holds over 2 ms"
        )
    print(f"{'message':22} {'count':>6} {'stmts/msg':>10} {'ms/msg':>8}")
    for kind, times in sorted(per_kind.items()):
        print(
            f"{kind:22} {len(times):>6} {statements[kind] / len(times):>10.1f} "
            f"{sum(times) / len(times) * 1000:>8.2f}"
        )
    for kind, sqls in shown.items():
        print(f"-- {kind}")
        for sql in sqls:
            print("   ", sql)
    if args.profile:
        stats = pstats.Stats(profiler).sort_stats(args.sort)
        stats.print_stats(args.profile)
        if args.callers:
            stats.print_callers(args.callers)
    rt.close()
    fake.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _foreign_writer(url: str):
    """A second SQLite connection that commits a row when called: in WAL mode the bot's
    connection then finds the database changed at its next BEGIN and starts with an empty
    page cache, as it does in each gunicorn worker after the other's commits."""
    import sqlite3

    if not url.startswith("sqlite:///"):
        raise SystemExit("--foreign-writes is for SQLite")
    other = sqlite3.connect(url[len("sqlite:///") :], isolation_level=None)
    other.execute("PRAGMA synchronous=NORMAL")  # as bot.db's connections: no fsync per commit
    other.execute("PRAGMA wal_autocheckpoint=0")
    other.execute("CREATE TABLE IF NOT EXISTS bench_foreign_writes (at REAL)")
    return lambda: other.execute("INSERT INTO bench_foreign_writes VALUES (?)", (time.time(),))


def _spy_on_write_lock() -> list[float]:
    """How long each hold of the SQLite write lock (bot.db._WriteLock) lasted: with several
    processes, the lock's time per message bounds the throughput."""
    from bot import db

    holds: list[float] = []
    acquire, release = db._WriteLock.acquire, db._WriteLock.release

    def timed_acquire(self, wait=None) -> None:
        fresh = not self._held
        acquire(self, wait)
        if fresh and self._held:
            self.taken_at = time.perf_counter()

    def timed_release(self) -> None:
        if self._held:
            holds.append(time.perf_counter() - self.taken_at)
        release(self)

    db._WriteLock.acquire, db._WriteLock.release = timed_acquire, timed_release
    return holds


if __name__ == "__main__":
    sys.exit(main())
