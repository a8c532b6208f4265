"""Callback-path benchmark: safetybot (`gunicorn -w 2 bot.wsgi:app`) against a minimal
wechatpy + Flask echo bot under the same server and the same load.

    python bench/callback.py [--mix warm|cold|both] [--requests 6000] [--concurrency 16]
                             [--database-url URL]

Load: signed, encrypted callbacks with unique MsgIds, generated before the clock starts and
sent by 2 client processes.

- warm mix: 2,000 members, ~3 requests each, a mix of 打卡, 答题, answers (A/B/对) and 帮助.
- cold mix: most requests are a member's first message of the day: each member (fresh ones
  for every phase) opens with 答题 (creating the day's quiz set) or 打卡 (the first check-in),
  and about a third of those who opened the quiz then answer its first question.

For each mix: the echo bot and safetybot closed-loop (as fast as 16 connections go), both
servers up at once and the load sent in alternating slices (echo, safetybot, safetybot, echo
…; --slices), so that the machine's drift from minute to minute slows both alike; then
safetybot open-loop at half the echo bot's rate (requests arrive on a fixed schedule whether
or not earlier ones were answered; latency counts from the scheduled arrival, so queueing
shows). Prints requests/s, p50, p99 and errors, the ratio bot/echo (with the spread of the slice
pairs' ratios) and the open-loop p99; with --split, also where the workers' CPU went per
request (bench/split_app.py).
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing as mp
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine, split_app  # noqa: E402

MIX = [("打卡", 3), ("答题", 3), ("A", 2), ("B", 1), ("对", 1), ("帮助", 2)]
# Goals (issue 20): throughput ratio to the echo bot per mix, p99 at half the echo bot's rate.
RATIO_GOAL = {"warm": 0.6, "cold": 0.5}
OPEN_P99_GOAL_MS = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    import requests

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def warm_plan(n: int, users: list[str], seed: int = 7) -> list[tuple[str, str]]:
    """n (user, text) pairs drawn from MIX for random users (most have written before)."""
    words = [w for w, weight in MIX for _ in range(weight)]
    rng = random.Random(seed)
    return [(rng.choice(users), rng.choice(words)) for _ in range(n)]


def cold_plan(n: int, users: list[str], seed: int = 7) -> tuple[list[tuple[str, str]], int]:
    """n (user, text) pairs where ~3/4 are a fresh member's first message of the day (答题 or
    打卡, 2:1), the rest answers to the first question by members who opened the quiz.

    An answer comes at least ~n/4 requests after its member's 答题, so with 16 connections
    the 答题 has long been answered. Returns the plan and how many members it used."""
    rng = random.Random(seed)
    firsts = (3 * n) // 4
    if firsts > len(users):
        raise SystemExit(f"cold mix needs {firsts} fresh members, only {len(users)} left")
    opening = [(users[i], "答题" if i % 3 else "打卡") for i in range(firsts)]
    quizzers = [u for u, w in opening if w == "答题"]
    answers = [(u, rng.choice(["A", "B", "对"])) for u in rng.sample(quizzers, n - firsts)]
    # Answers interleaved into the second half, each at least firsts/8 openings after its 答题.
    position = {u: i for i, (u, _) in enumerate(opening)}
    answers.sort(key=lambda a: position[a[0]])
    gap = max(1, firsts // 8)
    plan: list[tuple[str, str]] = []
    ai = 0
    for placed, item in enumerate(opening, start=1):
        plan.append(item)
        if placed < firsts // 2:
            continue
        while ai < len(answers) and position[answers[ai][0]] < placed - gap:
            plan.append(answers[ai])
            ai += 1
    plan.extend(answers[ai:])
    return plan, firsts


def build_requests(env: dict, plan: list[tuple[str, str]]) -> list[tuple[str, bytes]]:
    from urllib.parse import urlencode

    from bot.fake_wecom.driver import next_msg_id
    from bot.wecom.crypto import CallbackCrypto
    from bot.wecom.inbound import build_message_xml

    crypto = CallbackCrypto(env["WECOM_TOKEN"], env["WECOM_ENCODING_AES_KEY"], env["WECOM_CORP_ID"])
    out = []
    ts = str(int(time.time()) + 30)
    for user, word in plan:
        xml = build_message_xml(
            {
                "ToUserName": env["WECOM_CORP_ID"],
                "FromUserName": user,
                "CreateTime": int(ts),
                "MsgType": "text",
                "Content": word,
                "MsgId": next_msg_id(),
                "AgentID": int(env["WECOM_AGENT_ID"]),
            }
        )
        nonce = secrets.token_hex(5)
        body, sig = crypto.encrypt_callback(xml, nonce, ts)
        out.append(
            (
                "/wecom/callback?"
                + urlencode({"msg_signature": sig, "timestamp": ts, "nonce": nonce}),
                body,
            )
        )
    return out


def _client(args):
    """Send `reqs` from `threads_n` connections. Closed loop (`interval` None): each thread
    sends its next request when the last is answered. Open loop: request i is due at
    start + i * interval (this shard's share of the schedule); a free thread sends it at that
    time and its latency counts from then, so a server that falls behind shows it as queueing
    delay instead of silently slowing the load down."""
    base, reqs, threads_n, queue, start, interval = args
    import threading

    import requests

    latencies, errors = [], 0
    span = [float("inf"), 0.0]  # first send, last answer (time.time(): shared by processes)
    lock = threading.Lock()
    it = iter(enumerate(reqs))

    def worker():
        nonlocal errors
        session = requests.Session()
        while True:
            with lock:
                item = next(it, None)
            if item is None:
                return
            i, (path, body) = item
            if interval is None:
                due = time.perf_counter()
            else:
                due_wall = start + i * interval
                delay = due_wall - time.time()
                if delay > 0:
                    time.sleep(delay)
                # Latency from the scheduled time (a late start is the server's queueing).
                due = time.perf_counter() + min(0.0, delay)
            sent = time.time()
            try:
                res = session.post(
                    base + path, data=body, timeout=10, headers={"Content-Type": "text/xml"}
                )
                ok = res.status_code == 200
            except requests.RequestException:
                ok = False
            dt = time.perf_counter() - due
            with lock:
                latencies.append(dt)
                span[0], span[1] = min(span[0], sent), max(span[1], time.time())
                if not ok:
                    errors += 1

    threads = [threading.Thread(target=worker) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put((latencies, errors, span))


def send(base: str, reqs, concurrency: int, procs: int = 2, rate: float | None = None):
    """Closed loop with `concurrency` connections, or open loop at `rate` requests/s.
    Returns (latencies in s, errors, seconds from the first request sent to the last answer:
    forking the client processes is not the server's time)."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    shards = [reqs[i::procs] for i in range(procs)]
    if rate is None:
        workers = [
            ctx.Process(target=_client, args=((base, shard, concurrency // procs, queue, 0, None),))
            for shard in shards
        ]
    else:
        start = time.time() + 0.5
        # Shard k sends the global requests k, k+procs, …: offset k/rate, spacing procs/rate.
        workers = [
            ctx.Process(
                target=_client,
                args=((base, shard, 32, queue, start + k / rate, procs / rate),),
            )
            for k, shard in enumerate(shards)
        ]
    for w in workers:
        w.start()
    results = [queue.get() for _ in workers]
    for w in workers:
        w.join()
    latencies = [x for r in results for x in r[0]]
    span = min(r[2][0] for r in results), max(r[2][1] for r in results)
    return latencies, sum(r[1] for r in results), max(span[1] - span[0], 1e-9)


def summary(latencies: list[float], errors: int, seconds: float) -> dict:
    lat = sorted(latencies)

    def pct(p):
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000

    return {
        "requests": len(lat),
        "seconds": round(seconds, 2),
        "rps": round(len(lat) / seconds, 1),
        "p50_ms": round(pct(0.50), 1),
        "p99_ms": round(pct(0.99), 1),
        "max_ms": round(lat[-1] * 1000, 1),
        "errors": errors,
    }


def run_load(base: str, reqs, concurrency: int, procs: int = 2, rate: float | None = None) -> dict:
    """One load run, summarised (requests/s, p50/p99/max latency, errors)."""
    return summary(*send(base, reqs, concurrency, procs, rate))


def alternate(bases: dict[str, str], reqs: dict[str, list], concurrency: int, slices: int):
    """Closed-loop runs of both servers in alternating slices (A B B A A B …), so that a
    machine whose speed drifts within a minute (it does, here: see docs/PERFORMANCE.md)
    slows both alike. Returns {server: summary with its idle/stolen shares} and the ratio
    of each pair of slices, second server to first."""
    names = list(bases)
    # Contiguous slices: the cold mix's answers must come after their member's 答题.
    parts = {
        n: [
            reqs[n][len(reqs[n]) * i // slices : len(reqs[n]) * (i + 1) // slices]
            for i in range(slices)
        ]
        for n in names
    }
    latencies = {n: [] for n in names}
    errors = dict.fromkeys(names, 0)
    seconds = dict.fromkeys(names, 0.0)
    shares = {n: [] for n in names}  # (seconds, machine.Shares) per slice
    pairs = []
    for k in range(slices):
        rates = {}
        for name in names if k % 2 == 0 else reversed(names):
            mark = machine.mark()
            lat, err, spent = send(bases[name], parts[name][k], concurrency)
            shares[name].append((spent, machine.shares_since(mark)))
            latencies[name].extend(lat)
            errors[name] += err
            seconds[name] += spent
            rates[name] = len(lat) / spent
        pairs.append(rates[names[1]] / rates[names[0]])
    out = {}
    for name in names:
        out[name] = summary(latencies[name], errors[name], seconds[name])
        out[name]["machine"] = machine.Shares(
            *(_weighted(shares[name], field) for field in machine.Shares._fields)
        )
    return out, pairs


def _weighted(parts: list[tuple[float, machine.Shares]], field: str) -> float | None:
    """The time-weighted mean of one share over the slices (None if any is unknown)."""
    values = [(spent, getattr(share, field)) for spent, share in parts]
    if any(v is None for _, v in values):
        return None
    return sum(spent * v for spent, v in values) / sum(spent for spent, _ in values)


def gunicorn(app: str, port: int, env: dict, cwd: Path, workers: int = 2) -> subprocess.Popen:
    exe = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or "gunicorn"
    return subprocess.Popen(
        [exe, "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning", app],
        env=env,
        cwd=cwd,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mix", choices=("warm", "cold", "both"), default="warm")
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--users", type=int, default=2000, help="members of the warm mix")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument(
        "--open-seconds", type=float, default=8, help="length of the open-loop run at half rate"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (both servers)")
    parser.add_argument(
        "--slices", type=int, default=6, help="closed-loop slices per server, run alternately"
    )
    parser.add_argument(
        "--split",
        action="store_true",
        help="also print the workers' CPU per request: gunicorn, the app, Bot.handle "
        "(both servers wrapped by bench/split_app.py)",
    )
    args = parser.parse_args()
    mixes = ("warm", "cold") if args.mix == "both" else (args.mix,)

    from bot.db import transaction
    from bot.directory import sync_directory
    from bot.fake_wecom import FakeWeCom
    from bot.migrate import upgrade
    from bot.runtime import build_runtime
    from bot.settings import Settings

    # The cold mix takes fresh members for its warm-up, its closed-loop and its open-loop
    # runs (the open loop at up to ~1,000 req/s for --open-seconds).
    cold_members = 0
    if "cold" in mixes:
        cold_members = args.warmup + args.requests + int(args.open_seconds * 1000)
    tmp = Path(tempfile.mkdtemp(prefix="safetybot-bench-"))
    fake = FakeWeCom(corp_id="wwbench000000001", secret="bench-secret", record_bodies=False).start()
    fake.add_department(1, "总部")
    for d in range(2, 22):
        fake.add_department(d, f"部门{d}", 1)
    users = [f"user{i:05d}" for i in range(args.users)]
    cold_users = [f"cold{i:06d}" for i in range(cold_members)]
    for i, u in enumerate(users + cold_users):
        fake.add_user(u, f"员工{i}", [2 + i % 20])
    db_url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    env = {
        **os.environ,
        "WECOM_CORP_ID": fake.state.corp_id,
        "WECOM_AGENT_ID": str(fake.state.agent_id),
        "WECOM_SECRET": fake.state.secret,
        "WECOM_TOKEN": "benchtoken",
        "WECOM_ENCODING_AES_KEY": base64.b64encode(secrets.token_bytes(32)).decode().rstrip("="),
        "WECOM_API_BASE": fake.url,
        "DATABASE_URL": db_url,
        "SAFETYBOT_LOG_LEVEL": "WARNING",
        "SAFETYBOT_FILES_DIR": str(tmp / "files"),
    }
    settings = Settings.from_env(env, dotenv=False)
    rt = build_runtime(settings)
    upgrade(rt.engine)
    with transaction(rt.factory) as s:
        sync_directory(s, rt.client, rt.clock())
    rt.close()

    fresh = iter(cold_users)

    def take(mix: str, n: int, seed: int) -> list[tuple[str, bytes]]:
        nonlocal fresh
        if mix == "warm":
            return build_requests(env, warm_plan(n, users, seed))
        remaining = list(fresh)
        out, used = cold_plan(n, remaining, seed)
        fresh = iter(remaining[used:])
        return build_requests(env, out)

    results: dict[tuple[str, str], dict] = {}
    spread: dict[str, list[float]] = {}
    servers = (("echo", "bench.echo_app:app"), ("safetybot", "bot.wsgi:app"))
    if args.split:
        servers = (("echo", "bench.split_app:echo"), ("safetybot", "bench.split_app:bot"))
    splits: dict[tuple[str, str], dict] = {}
    for mix in mixes:
        procs, bases, loads = {}, {}, {}
        try:
            for name, app in servers:
                port = free_port()
                procs[name] = gunicorn(app, port, env, ROOT, args.workers)
                bases[name] = f"http://127.0.0.1:{port}"
            for name, _ in servers:
                wait_http(bases[name] + "/wecom/callback")
                run_load(bases[name], take(mix, args.warmup, 1), args.concurrency)
                loads[name] = take(mix, args.requests, 2)
            if args.split:
                before = {n: split_app.read(bases[n], args.workers) for n, _ in servers}
                database_cpu = split_app.postgres_cpu()
            measured, spread[mix] = alternate(bases, loads, args.concurrency, args.slices)
            if args.split:
                database_cpu = split_app.postgres_cpu() - database_cpu
                for name, _ in servers:
                    after = split_app.read(bases[name], args.workers)
                    splits[(mix, name)] = split_app.per_request(before[name], after)
                # Only safetybot's slices use the database.
                if db_url.startswith("postgresql"):
                    n = splits[(mix, "safetybot")]["requests"]
                    splits[(mix, "safetybot")]["database"] = round(database_cpu / n * 1000, 3)
                for name, _ in servers:
                    print(mix, name, "split", json.dumps(splits[(mix, name)]), flush=True)
            for name, _ in servers:
                results[(mix, name)] = measured[name]
                print(mix, name, json.dumps(results[(mix, name)]), flush=True)
            # The open loop alone: the echo bot idles meanwhile (its sender-less workers sleep).
            rate = results[(mix, "echo")]["rps"] / 2
            reqs = take(mix, int(rate * args.open_seconds), 3)
            mark = machine.mark()
            results[(mix, "open")] = run_load(bases["safetybot"], reqs, args.concurrency, rate=rate)
            results[(mix, "open")]["machine"] = machine.shares_since(mark)
            results[(mix, "open")]["rate"] = round(rate, 1)
            print(mix, "open", json.dumps(results[(mix, "open")]), flush=True)
        finally:
            for proc in procs.values():
                stop(proc)
    fake.stop()
    print(
        f"\nmachine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
        f"database: {db_url.split(':')[0]}; {args.requests} requests, concurrency "
        f"{args.concurrency}; open loop {args.open_seconds:g} s at half the echo bot's rate"
    )
    print(
        f"{'mix':5} {'server':16} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'err':>5} {'idle':>5} {'stolen':>7}"
    )
    for (mix, name), r in results.items():
        label = f"open @{r['rate']}/s" if name == "open" else name
        print(
            f"{mix:5} {label:16} {r['rps']:>8} {r['p50_ms']:>8} {r['p99_ms']:>8} "
            f"{r['max_ms']:>8} {r['errors']:>5} "
            f"{machine.percent(r['machine'].idle):>5} {machine.percent(r['machine'].stolen):>7}"
        )
    for mix in mixes:
        ratio = results[(mix, "safetybot")]["rps"] / results[(mix, "echo")]["rps"]
        print(
            f"{mix}: ratio safetybot/echo {ratio:.2f} (goal >= {RATIO_GOAL[mix]}; "
            f"slice pairs {min(spread[mix]):.2f}–{max(spread[mix]):.2f}); "
            f"p99 at half the echo rate {results[(mix, 'open')]['p99_ms']} ms "
            f"(goal < {OPEN_P99_GOAL_MS})"
        )
    if splits:
        print("\nCPU per request (ms) over the closed-loop slices: the workers' outside the app")
        print("(gunicorn), inside it, of that inside Bot.handle; PostgreSQL's server processes")
        print(
            f"{'mix':5} {'server':10} {'outside app':>12} {'app':>7} {'handle':>7} {'database':>9}"
        )
        for (mix, name), r in splits.items():
            handle = f"{r['handle']:.3f}" if name == "safetybot" else "-"
            database = f"{r['database']:.3f}" if "database" in r else "-"
            print(
                f"{mix:5} {name:10} {r['process'] - r['app']:>12.3f} {r['app']:>7.3f} "
                f"{handle:>7} {database:>9}"
            )
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
