"""The 09:00 burst: the daily quiz pushed to every member, then members answering it, as an
open-loop load (requests arrive at a fixed rate whether or not earlier ones were answered).

    python bench/burst.py [--members 100000] [--rates 100,200,300,400] [--seconds 30]
                          [--database sqlite,postgresql] [--json FILE]

Set-up, per database: the fake WeCom API in its own process with N synthetic members, the same
N members in the database (as sync-directory leaves them), the campaign running today, then
`gunicorn -w 2 bot.wsgi:app` and `safetybot scheduler` started as in production; the scheduler
pushes the daily quiz (its catch-up on start: the quiz time is set a minute back) and the burst
waits until the push has gone out. An echo bot (bench/echo_app.py, `gunicorn -w 2`) runs beside
it as the baseline, and each rate runs on the echo bot and then on safetybot with the same load.

The load, per rate: rate × seconds requests from members who have not answered yet today, each
sending 答题, their three answers (right or wrong, in the question's own form: 对/错 or letters
as that member sees them) and 积分, a few seconds apart (`--think`), members interleaved so that
the arrivals are evenly spaced. Requests are signed and encrypted before the clock starts and
sent by bench/openloop.py (2 processes; latency counted from the scheduled arrival).

Reports per rate and server: p50/p99/max latency, errors, how many took over 5 s (WeCom's
deadline: it would retry them), the generator's own CPU, the load average; then the highest
rate sustained with p99 < 1 s, no error and nothing over 5 s. Goal on the 2-core project
machine: >= 300/s on SQLite, >= 200/s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import openloop  # noqa: E402
from bench.callback import free_port, gunicorn, stop, wait_http  # noqa: E402

PG_DEFAULT = os.environ.get("DATABASE_URL_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
STEPS = 5  # 答题, three answers, 积分
RIGHT_SHARE = 0.7  # share of answers given right
SUSTAINED_P99_MS = 1000


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of `pid` and its direct children (gunicorn's workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after "(comm)": state ppid … utime (11) stime (12), counted from 0
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


# -- the load --------------------------------------------------------------------------------
def arrivals(members: int, rate: float, think_s: float) -> list[tuple[float, int, int]]:
    """(offset s, member, step) for members × STEPS requests evenly spaced at `rate`/s.

    Members go in blocks of rate × think_s: the block's members send step 0 one after the
    other, then step 1 …, so one member's messages are think_s apart and every slot is used."""
    width = max(1, round(rate * think_s))
    out, slot = [], 0
    for first in range(0, members, width):
        block = range(first, min(members, first + width))
        for step in range(STEPS):
            for m in block:
                out.append((slot / rate, m, step))
                slot += 1
    return out


def member_texts(session, userid: str, day, count: int, rng: random.Random) -> list[str]:
    """What one member sends: 答题, an answer to each of today's questions, 积分.

    The questions are the ones the bot will choose (the choice is seeded by member and day, and
    this member has no history yet), so each answer is in the form the question accepts."""
    from bot.models import Question
    from bot.quiz.answers import LETTERS, permutation_for, to_shown
    from bot.quiz.daily import choose_questions

    texts = ["答题"]
    for qid in choose_questions(session, userid, day, count):
        q = session.get(Question, qid)
        right = rng.random() < RIGHT_SHARE
        if q.type == "judge":
            texts.append("对" if (q.answer == "T") == right else "错")
            continue
        perm = permutation_for(f"{userid}:{day.isoformat()}:{qid}", len(q.options), q.type)
        shown = to_shown(q.answer, perm, q.type)
        if not right:
            shown = next(ch for ch in LETTERS[: len(q.options)] if ch != shown)
        texts.append(shown)
    texts.append("积分")
    if len(texts) != STEPS:
        raise SystemExit(f"{userid}: {len(texts) - 2} questions today, the burst expects 3")
    return texts


class Encryptor:
    def __init__(self, env: dict) -> None:
        from bot.wecom.crypto import CallbackCrypto

        self.env = env
        self.crypto = CallbackCrypto(
            env["WECOM_TOKEN"], env["WECOM_ENCODING_AES_KEY"], env["WECOM_CORP_ID"]
        )

    def request(self, userid: str, text: str, ts: str) -> tuple[str, bytes]:
        from bot.fake_wecom.driver import next_msg_id
        from bot.wecom.inbound import build_message_xml

        xml = build_message_xml(
            {
                "ToUserName": self.env["WECOM_CORP_ID"],
                "FromUserName": userid,
                "CreateTime": int(ts),
                "MsgType": "text",
                "Content": text,
                "MsgId": next_msg_id(),
                "AgentID": int(self.env["WECOM_AGENT_ID"]),
            }
        )
        nonce = secrets.token_hex(5)
        body, sig = self.crypto.encrypt_callback(xml, nonce, ts)
        query = urlencode({"msg_signature": sig, "timestamp": ts, "nonce": nonce})
        return "/wecom/callback?" + query, body


def plan_texts(stack: Stack, userids: list[str], rate: float) -> list[list[str]]:
    """What each of `userids` will send (reads today's questions: before the clock)."""
    rng = random.Random(len(userids) * 1000 + int(rate))
    with stack.rt.factory() as s:
        return [
            member_texts(s, u, stack.today, stack.rt.settings.quiz_per_day, rng) for u in userids
        ]


def encrypt_load(
    stack: Stack, userids: list[str], texts: list[list[str]], rate: float, think_s: float
) -> list[openloop.Item]:
    """The open-loop items, signed and encrypted now, just before the run (fresh MsgIds, and a
    timestamp well inside the bot's 300 s window)."""
    ts = str(int(time.time()))
    items = []
    for offset, m, step in arrivals(len(userids), rate, think_s):
        path, body = stack.enc.request(userids[m], texts[m][step], ts)
        items.append(openloop.Item(offset, m, path, body))
    return items


# -- the processes ---------------------------------------------------------------------------
class Stack:
    """The fake WeCom API, safetybot (gunicorn -w 2 + scheduler) and the echo bot, on one database."""

    def __init__(self, database_url: str, members: int, tmp: Path, workers: int = 2) -> None:
        self.database_url = database_url
        self.members = members
        self.tmp = tmp
        self.workers = workers
        self.procs: dict[str, subprocess.Popen] = {}
        self.ports: dict[str, int] = {}
        self.next_member = 0
        self.rt = None

    def _spawn(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        # A file, not a pipe: a full pipe would block the process. Popen keeps its own copy.
        with open(self.tmp / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs[name] = proc
        return proc

    def logs(self) -> str:
        return "\n".join(
            f"== {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in self.tmp.glob("*.log")
        )

    def start(self) -> None:
        from bench.fanout import insert_members
        from bot import campaign
        from bot.db import transaction
        from bot.migrate import upgrade
        from bot.quiz.bank import ensure_bank
        from bot.runtime import build_runtime
        from bot.settings import Settings

        port = free_port()
        self._spawn(
            "fake",
            [sys.executable, "-m", "bot.fake_wecom", "--port", str(port), "--corp-id",
             "wwburst", "--secret", "s", "--latency", "0.02", "--synthetic", str(self.members)],
            dict(os.environ),
        )  # fmt: skip
        wait_http(f"http://127.0.0.1:{port}/cgi-bin/gettoken", timeout=180)
        tz_now = datetime.now(timezone(timedelta(hours=8)))  # Asia/Shanghai, the default
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "SAFETYBOT_"))},
            "PYTHONPATH": str(ROOT),
            "WECOM_CORP_ID": "wwburst",
            "WECOM_AGENT_ID": "1000002",
            "WECOM_SECRET": "s",
            "WECOM_TOKEN": "bursttoken",
            "WECOM_ENCODING_AES_KEY": base64.b64encode(secrets.token_bytes(32))
            .decode()
            .rstrip("="),
            "WECOM_API_BASE": f"http://127.0.0.1:{port}",
            "DATABASE_URL": self.database_url,
            "SAFETYBOT_LOG_LEVEL": "WARNING",
            "SAFETYBOT_FILES_DIR": str(self.tmp / "files"),
            "SAFETYBOT_SCHEDULER_ELSEWHERE": "1",
            # A minute back: the scheduler's catch-up on start pushes today's quiz at once.
            "SAFETYBOT_QUIZ_TIME": (tz_now - timedelta(minutes=1)).strftime("%H:%M"),
        }
        self.enc = Encryptor(self.env)
        settings = Settings.from_env(self.env, dotenv=False)
        self.rt = build_runtime(settings)
        upgrade(self.rt.engine)
        now = self.rt.clock()
        self.today = now.astimezone(settings.tz).date()
        with transaction(self.rt.factory) as s:
            ensure_bank(s, now)  # the question bank, as the first 答题 would load it
            insert_members(s, self.members)
            period = campaign.current(s)
            if self.today < period.start:  # an extension can only move the end
                raise SystemExit(f"burst: today is before the campaign starts ({period.start})")
            if not period.running_on(self.today):
                campaign.extend(s, "bench", self.today, now, self.today)
        self.started = time.monotonic()
        self._spawn("scheduler", [sys.executable, "-m", "bot.cli", "scheduler"], self.env)
        for name, app in (("safetybot", "bot.wsgi:app"), ("echo", "bench.echo_app:app")):
            self.ports[name] = free_port()
            self.procs[name] = gunicorn(app, self.ports[name], self.env, ROOT, self.workers)
        for name in ("safetybot", "echo"):
            wait_http(self.url(name) + "/wecom/callback")
        self.push_seconds = self._wait_for_push()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def _wait_for_push(self, timeout: float = 600) -> float:
        """Seconds from the scheduler's start until the quiz push has been sent to everyone."""
        from sqlalchemy import select

        from bot.models import JobRun
        from bot.outbox import counts

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited ({proc.returncode})\n{self.logs()}")
            with self.rt.factory() as s:
                status = s.scalar(select(JobRun.status).where(JobRun.job_id == "daily_quiz"))
                left = counts(s)
            if status == "done" and left["pending"] == 0 and left["sent"] > 0:
                return time.monotonic() - self.started
            time.sleep(0.5)
        raise RuntimeError(f"the quiz push did not go out in {timeout} s\n{self.logs()}")

    def take_members(self, n: int) -> list[str]:
        """n members who have not sent anything yet (each opens today's quiz afresh)."""
        from bot.fake_wecom.__main__ import synthetic_userid

        if self.next_member + n > self.members:
            raise SystemExit(f"not enough members: {n} more after {self.next_member}")
        out = [synthetic_userid(i) for i in range(self.next_member, self.next_member + n)]
        self.next_member += n
        return out

    def answers_recorded(self, userids: list[str]) -> int:
        from sqlalchemy import func, select

        from bot.models import QuizAnswer

        with self.rt.factory() as s:
            return s.scalar(
                select(func.count())
                .select_from(QuizAnswer)
                .where(QuizAnswer.userid.in_(userids[:30_000]))
            )

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                stop(proc)
        if self.rt is not None:
            self.rt.close()


def run_rate(
    stack: Stack,
    rate: float,
    seconds: float,
    think_s: float,
    connections: int,
    label: str = "",
    servers: tuple[str, ...] = ("echo", "safetybot"),
):
    members = max(1, math.ceil(rate * seconds / STEPS))
    userids = stack.take_members(members)
    texts = plan_texts(stack, userids, rate)
    rows = {}
    for name in servers:
        items = encrypt_load(stack, userids, texts, rate, think_s)
        time.sleep(1)  # let the previous run's tail settle
        load = loadavg()
        pid = stack.procs[name].pid
        cpu0 = process_cpu(pid)
        figures = openloop.run(stack.url(name), items, connections=connections)
        used = process_cpu(pid) - cpu0
        figures["server_cores"] = round(used / figures["seconds"], 2)
        # The server's CPU per request: unlike latency, hardly moved by the neighbours' load.
        figures["server_cpu_ms"] = round(used * 1000 / max(1, figures["requests"]), 1)
        figures["load_average"] = load
        rows[name] = figures
    if "safetybot" in rows:  # the load did what it claims: every member's answers were scored
        rows["safetybot"]["answers_recorded"] = stack.answers_recorded(userids)
        rows["safetybot"]["answers_expected"] = 3 * members
    for name in servers:
        print(f"  {label}{rate:>5}/s {name:10} {json.dumps(rows[name])}", flush=True)
    return rows


def sustained(rows: dict[float, dict], name: str) -> float | None:
    ok = [
        rate
        for rate, r in rows.items()
        if name in r
        and r[name]["p99_ms"] < SUSTAINED_P99_MS
        and r[name]["over_5s"] == 0
        and r[name]["errors"] == 0
    ]
    return max(ok) if ok else None


def print_table(db: str, rows: dict[float, dict]) -> None:
    print(
        f"\n{db}: rate/s  server      p50 ms   p99 ms    max ms  >5s  errors  cpu ms/req"
        "  gen cores  load"
    )
    for rate, pair in rows.items():
        for name, r in pair.items():
            print(
                f"{'':{len(db)}}  {rate:>6}  {name:10} {r['p50_ms']:>7} {r['p99_ms']:>8} "
                f"{r['max_ms']:>9} {r['over_5s']:>4} {r['errors']:>7} {r['server_cpu_ms']:>11}"
                f"{r['generator_cores']:>11}  {r['load_average']}"
            )
    for name in ("echo", "safetybot"):
        best = sustained(rows, name)
        print(f"{db}: highest rate sustained by {name} (p99 < 1 s, none > 5 s, no error): {best}")


def pg_schema_url() -> tuple[str, callable]:
    from sqlalchemy import create_engine, text

    schema = "bench_burst_" + uuid.uuid4().hex[:8]
    admin = create_engine(PG_DEFAULT)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_DEFAULT else "?"

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{PG_DEFAULT}{sep}options=-csearch_path%3D{schema}", drop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--rates", default="100,200,300,400", help="arrivals per second")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=5, help="seconds at the lowest rate")
    parser.add_argument("--think", type=float, default=2.0, help="seconds between a member's")
    parser.add_argument("--connections", type=int, default=128, help="client connections")
    parser.add_argument("--database", default="sqlite,postgresql")
    parser.add_argument(
        "--all-rates", action="store_true", help="run every rate even past one over capacity"
    )
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    rates = [float(r) if "." in r else int(r) for r in args.rates.split(",")]

    report: dict = {"cores": os.cpu_count(), "members": args.members, "databases": {}}
    for db in args.database.split(","):
        tmp = Path(tempfile.mkdtemp(prefix="safetybot-burst-"))
        drop = None
        if db == "sqlite":
            url = f"sqlite:///{tmp / 'burst.db'}"
        elif db == "postgresql":
            url, drop = pg_schema_url()
        else:
            parser.error(f"--database: sqlite or postgresql, not {db!r}")
        stack = Stack(url, args.members, tmp)
        rows: dict[float, dict] = {}
        try:
            t0 = time.monotonic()
            stack.start()
            print(
                f"{db}: {args.members} members set up and the quiz pushed in "
                f"{time.monotonic() - t0:.1f} s (push sent {stack.push_seconds:.1f} s after "
                f"the scheduler started); load {loadavg()}",
                flush=True,
            )
            # Warm-up (not counted): each worker builds its runtime and caches on first use.
            run_rate(stack, min(rates), args.warmup, args.think, args.connections, "warm-up ")
            servers = ("echo", "safetybot")
            for rate in rates:
                rows[rate] = run_rate(
                    stack, rate, args.seconds, args.think, args.connections, servers=servers
                )
                bot = rows[rate].get("safetybot")
                if bot and bot["over_5s"] > 0.05 * bot["requests"] and not args.all_rates:
                    # Higher rates would only pile up a longer backlog; the baseline goes on.
                    print(f"{db}: safetybot over capacity at {rate}/s: echo bot only now")
                    servers = ("echo",)
        finally:
            stack.stop()
            if drop is not None:
                drop()
            shutil.rmtree(tmp, ignore_errors=True)
        print_table(db, rows)
        report["databases"][db] = {
            "rates": {str(rate): pair for rate, pair in rows.items()},
            "sustained": {name: sustained(rows, name) for name in ("echo", "safetybot")},
            "push_seconds": round(stack.push_seconds, 1),
        }
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
