"""Callback-path benchmark: safetybot (`gunicorn -w 2 bot.wsgi:app`) against a minimal
wechatpy + Flask echo bot under the same server and the same load.

    python bench/callback.py [--requests 6000] [--concurrency 16] [--database-url URL]

Load: signed, encrypted callbacks with unique MsgIds from 2,000 users, a mix of 打卡, 答题,
answers (A/B/对) and 帮助, generated before the clock starts and sent by 2 client processes.
Prints requests/s, p50, p99 and errors for each, and the ratio bot/echo.
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

MIX = [("打卡", 3), ("答题", 3), ("A", 2), ("B", 1), ("对", 1), ("帮助", 2)]


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


def build_requests(env: dict, n: int, users: list[str]) -> list[tuple[str, bytes]]:
    from urllib.parse import urlencode

    from bot.fake_wecom.driver import next_msg_id
    from bot.wecom.crypto import CallbackCrypto
    from bot.wecom.inbound import build_message_xml

    crypto = CallbackCrypto(env["WECOM_TOKEN"], env["WECOM_ENCODING_AES_KEY"], env["WECOM_CORP_ID"])
    words = [w for w, weight in MIX for _ in range(weight)]
    rng = random.Random(7)
    out = []
    ts = str(int(time.time()) + 30)
    for _ in range(n):
        user = rng.choice(users)
        xml = build_message_xml(
            {
                "ToUserName": env["WECOM_CORP_ID"],
                "FromUserName": user,
                "CreateTime": int(ts),
                "MsgType": "text",
                "Content": rng.choice(words),
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
    base, reqs, concurrency, queue = args
    import threading

    import requests

    latencies, errors = [], 0
    lock = threading.Lock()
    it = iter(reqs)

    def worker():
        nonlocal errors
        session = requests.Session()
        while True:
            with lock:
                item = next(it, None)
            if item is None:
                return
            path, body = item
            t0 = time.perf_counter()
            try:
                res = session.post(
                    base + path, data=body, timeout=10, headers={"Content-Type": "text/xml"}
                )
                ok = res.status_code == 200
            except requests.RequestException:
                ok = False
            dt = time.perf_counter() - t0
            with lock:
                latencies.append(dt)
                if not ok:
                    errors += 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put((latencies, errors))


def run_load(base: str, reqs, concurrency: int, procs: int = 2) -> dict:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    shards = [reqs[i::procs] for i in range(procs)]
    workers = [
        ctx.Process(target=_client, args=((base, shard, concurrency // procs, queue),))
        for shard in shards
    ]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    results = [queue.get() for _ in workers]
    for w in workers:
        w.join()
    wall = time.perf_counter() - t0
    lat = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)

    def pct(p):
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000

    return {
        "requests": len(lat),
        "seconds": round(wall, 2),
        "rps": round(len(lat) / wall, 1),
        "p50_ms": round(pct(0.50), 1),
        "p99_ms": round(pct(0.99), 1),
        "errors": errors,
    }


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
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (both servers)")
    args = parser.parse_args()

    from bot.db import transaction
    from bot.directory import sync_directory
    from bot.fake_wecom import FakeWeCom
    from bot.migrate import upgrade
    from bot.runtime import build_runtime
    from bot.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="safetybot-bench-"))
    fake = FakeWeCom(corp_id="wwbench000000001", secret="bench-secret", record_bodies=False).start()
    fake.add_department(1, "总部")
    for d in range(2, 22):
        fake.add_department(d, f"部门{d}", 1)
    users = [f"user{i:05d}" for i in range(args.users)]
    for i, u in enumerate(users):
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

    results = {}
    for name, app in (("echo", "bench.echo_app:app"), ("safetybot", "bot.wsgi:app")):
        port = free_port()
        proc = gunicorn(app, port, env, ROOT, args.workers)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(base + "/wecom/callback")
            run_load(base, build_requests(env, args.warmup, users), args.concurrency)
            reqs = build_requests(env, args.requests, users)
            results[name] = run_load(base, reqs, args.concurrency)
        finally:
            stop(proc)
        print(name, json.dumps(results[name]), flush=True)
    fake.stop()
    ratio = results["safetybot"]["rps"] / results["echo"]["rps"]
    print(
        f"\nmachine: {os.cpu_count()} cores; database: {db_url.split(':')[0]}; "
        f"{args.requests} requests, concurrency {args.concurrency}, {args.users} users"
    )
    print(f"{'':10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, r in results.items():
        print(f"{name:10} {r['rps']:>8} {r['p50_ms']:>8} {r['p99_ms']:>8} {r['errors']:>7}")
    print(
        f"ratio safetybot/echo throughput: {ratio:.2f} (goal >= 0.6); "
        f"safetybot p99 {results['safetybot']['p99_ms']} ms (goal < 100)"
    )
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
