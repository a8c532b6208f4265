"""Where a gunicorn worker's CPU goes, per request: bench/callback.py --split serves these.

`echo` wraps the echo bot and `bot` wraps bot.wsgi:app. Each worker adds up, with
time.thread_time() (the CPU of the thread serving the request, nothing else):

- app: inside the WSGI app (Flask, signature check, AES, XML, the reply; for safetybot also
  the message's own work);
- handle: inside `Bot.handle` (safetybot only), the message's own work;

and reports them with its whole process's CPU (gunicorn's accept, parse, send and close,
other threads) at GET /bench/split, which is not counted. Sync workers take one request at
a time, so the bench asks until every worker has answered.
"""

from __future__ import annotations

import json
import os
import threading
import time

_totals = {"requests": 0, "app": 0.0, "handle": 0.0}
_lock = threading.Lock()
SPLIT_PATH = "/bench/split"


def _add(key: str, started: float, requests: int = 0) -> None:
    spent = time.thread_time() - started
    with _lock:
        _totals[key] += spent
        _totals["requests"] += requests


def _report(start_response):
    with _lock:
        body = json.dumps({"pid": os.getpid(), "process": time.process_time(), **_totals})
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body.encode()]


def _timed(inner):
    def app(environ, start_response):
        if environ.get("PATH_INFO") == SPLIT_PATH:
            return _report(start_response)
        started = time.thread_time()
        try:
            # The body is built inside the call for both apps (a list, not a stream).
            return inner(environ, start_response)
        finally:
            _add("app", started, requests=1)

    return app


def _lazy(load):
    """The wrapped app, imported on the first request, in the worker (bench servers are sync
    workers: one request at a time, so no lock)."""
    app = None

    def call(environ, start_response):
        nonlocal app
        if app is None:
            app = load()
        return app(environ, start_response)

    return call


def _load_echo():
    from bench.echo_app import app

    return app


def _load_bot():
    from bot.dispatcher import Bot
    from bot.wsgi import app

    handle = Bot.handle

    def timed_handle(self, msg):
        started = time.thread_time()
        try:
            return handle(self, msg)
        finally:
            _add("handle", started)

    Bot.handle = timed_handle
    return app


echo = _timed(_lazy(_load_echo))
bot = _timed(_lazy(_load_bot))


def read(base: str, workers: int, tries: int = 200) -> dict[int, dict]:
    """{pid: totals} of every worker behind `base` (asks until `workers` distinct pids)."""
    import requests

    seen: dict[int, dict] = {}
    for _ in range(tries):
        # A new connection each time: gunicorn hands it to whichever worker accepts first.
        found = requests.get(base + SPLIT_PATH, timeout=5).json()
        seen[found["pid"]] = found
        if len(seen) >= workers:
            return seen
    raise RuntimeError(f"only {len(seen)} of {workers} workers answered {SPLIT_PATH}")


def per_request(before: dict[int, dict], after: dict[int, dict]) -> dict[str, float]:
    """ms per request between two reads, over all workers."""
    n = sum(after[p]["requests"] - before[p]["requests"] for p in after)
    if n <= 0:
        raise RuntimeError("no request was served between the two reads of /bench/split")

    def ms(key: str) -> float:
        return round(sum(after[p][key] - before[p][key] for p in after) / n * 1000, 3)

    return {"requests": n, "app": ms("app"), "handle": ms("handle"), "process": ms("process")}


def postgres_cpu() -> float:
    """CPU seconds used so far by this machine's PostgreSQL server processes (backends,
    WAL writer, …), from /proc: on this machine they share the cores with the workers."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
        except OSError:  # gone meanwhile
            continue
        name, _, rest = stat.partition(") ")
        if name.endswith("(postgres"):
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick
