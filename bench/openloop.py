"""An open-loop HTTP load generator: request i is due at t0 + offset_i whatever the server does.

A closed-loop client (N threads, each sending its next request when the last one is answered)
slows down with the server and so hides a backlog ("coordinated omission"). Here every request
has a scheduled arrival; a request that starts late because every connection is busy counts its
latency from that scheduled time, as WeCom's callbacks would wait in the server's queue.

Per-sender order: a sender's (a member's) next request is never sent before its previous one is
answered — a person answers the question the bot has just shown. Its latency then counts from
max(its scheduled time, the previous answer), the moment that person would really send it.

The load is split across `procs` forked processes by sender (so each sender's order stays in one
process), each with `connections` threads on plain http.client (cheaper per request than
requests, so that the generator, which shares the machine's cores, stays light). Each process
reports the CPU it used (time.process_time over all its threads).
"""

from __future__ import annotations

import http.client
import multiprocessing as mp
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

DEADLINE_S = 5.0  # WeCom waits this long for an answer, then retries
LATE_START_S = 0.1  # a request that starts this late was held back by busy connections
# A request not yet sent this long after its arrival is given up (counted over 5 s, not sent):
# WeCom would long since have retried it, and an overloaded server would otherwise take
# minutes to work off a backlog nobody is waiting for.
GIVE_UP_S = 10.0


@dataclass(frozen=True)
class Item:
    offset: float  # seconds after t0
    sender: int  # requests of one sender go out in list order, one at a time
    path: str
    body: bytes


def _send_all(host: str, port: int, items: list[Item], t0: float, connections: int, queue):
    cpu0 = time.process_time()
    # (latency s, ok, start lateness s, sent); not sent: given up, latency is a lower bound
    results: list[tuple[float, bool, float, bool]] = []
    lock = threading.Lock()
    position = 0
    # The previous request of each sender: an Event set when it is answered, and when.
    previous: dict[int, tuple[threading.Event, list[float]]] = {}
    waits: list[tuple[threading.Event | None, list[float] | None, threading.Event, list[float]]]
    waits = []
    for item in items:
        done, when = threading.Event(), [0.0]
        prev = previous.get(item.sender)
        waits.append((prev[0] if prev else None, prev[1] if prev else None, done, when))
        previous[item.sender] = (done, when)

    def worker() -> None:
        nonlocal position
        conn = http.client.HTTPConnection(host, port, timeout=60)
        while True:
            with lock:
                i = position
                position += 1
            if i >= len(items):
                conn.close()
                return
            item = items[i]
            prev_done, prev_when, done, when = waits[i]
            if prev_done is not None:
                prev_done.wait()
            due = max(t0 + item.offset, prev_when[0] if prev_when else 0.0)
            now = time.monotonic()
            if now < due:
                time.sleep(due - now)
            started = time.monotonic()
            if started - due > GIVE_UP_S:
                when[0] = started
                done.set()
                with lock:
                    results.append((started - due, False, started - due, False))
                continue
            ok = False
            try:
                conn.request("POST", item.path, item.body, {"Content-Type": "text/xml"})
                res = conn.getresponse()
                res.read()
                ok = res.status == 200
                if res.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=60)
            finished = time.monotonic()
            when[0] = finished
            done.set()
            with lock:
                results.append((finished - due, ok, started - due, True))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put((results, time.process_time() - cpu0, time.monotonic()))


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


def run(base: str, items: list[Item], connections: int = 128, procs: int = 2) -> dict:
    """Send `items` open-loop against `base`; return the figures of the run."""
    url = urlsplit(base)
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    shards = [[it for it in items if it.sender % procs == p] for p in range(procs)]
    # time.monotonic is one clock for every process on the machine (CLOCK_MONOTONIC).
    t0 = time.monotonic() + 0.5
    workers = [
        ctx.Process(
            target=_send_all,
            args=(url.hostname, url.port, shard, t0, max(1, connections // procs), queue),
        )
        for shard in shards
    ]
    for w in workers:
        w.start()
    outcomes = [queue.get() for _ in workers]
    for w in workers:
        w.join()
    wall = max(o[2] for o in outcomes) - t0
    rows = [r for o in outcomes for r in o[0]]
    lat = sorted(r[0] for r in rows)
    span = max((it.offset for it in items), default=0.0)
    generator_cpu = sum(o[1] for o in outcomes)
    return {
        "requests": len(rows),
        "offered_rps": round(len(items) / span, 1) if span else None,
        "completed_rps": round(len(rows) / wall, 1) if wall > 0 else None,
        "seconds": round(wall, 2),
        "p50_ms": round(percentile(lat, 0.50) * 1000, 1),
        "p99_ms": round(percentile(lat, 0.99) * 1000, 1),
        "max_ms": round((lat[-1] if lat else 0.0) * 1000, 1),
        "over_5s": sum(1 for x in lat if x > DEADLINE_S),
        "errors": sum(1 for r in rows if r[3] and not r[1]),
        # Given up unsent (> GIVE_UP_S late): over 5 s; then p99/max are lower bounds.
        "given_up": sum(1 for r in rows if not r[3]),
        "late_starts": sum(1 for r in rows if r[2] > LATE_START_S),
        # Cores the generator itself kept busy (it shares the machine with the server).
        "generator_cores": round(generator_cpu / wall, 2) if wall > 0 else None,
    }
