"""Scale-out on PostgreSQL: bench/callback.py with 1, 2 and 4 gunicorn workers, in one run.

    python bench/scaleout.py [--workers 1,2,4] [--requests 6000] [--concurrency 16]

Each worker count runs bench/callback.py (the echo bot, then safetybot, same workers, same load)
on a fresh PostgreSQL schema (in $DATABASE_URL_PG's database, dropped afterwards), and the load
average is read before each. Prints one table: workers, req/s and p99 of both, the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.burst import loadavg, pg_schema_url  # noqa: E402


def run_callback(workers: int, requests: int, concurrency: int) -> dict:
    url, drop = pg_schema_url()
    try:
        load = loadavg()
        run = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "callback.py"),
                "--mix", "warm",
                "--workers", str(workers),
                "--requests", str(requests),
                "--concurrency", str(concurrency),
                "--database-url", url,
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
        )  # fmt: skip
        if run.returncode != 0:
            raise SystemExit(f"callback.py --workers {workers} failed:\n{run.stderr[-3000:]}")
        out = run.stdout
    finally:
        drop()
    # callback.py prints "warm echo {json}" and "warm safetybot {json}" lines.
    pattern = r"^warm (echo|safetybot) (\{.*\})$"
    rows = {m[1]: json.loads(m[2]) for m in re.finditer(pattern, out, re.M)}
    return {"workers": workers, "load_average": load, **rows}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    results = []
    for workers in (int(w) for w in args.workers.split(",")):
        r = run_callback(workers, args.requests, args.concurrency)
        results.append(r)
        print(json.dumps(r), flush=True)
    print(
        f"\nPostgreSQL, {os.cpu_count()} cores, {args.requests} requests, {args.concurrency} conns"
    )
    print("workers  echo req/s  echo p99  bot req/s  bot p99  bot/echo  load")
    for r in results:
        e, b = r["echo"], r["safetybot"]
        print(
            f"{r['workers']:>7} {e['rps']:>11} {e['p99_ms']:>9} {b['rps']:>10} {b['p99_ms']:>8} "
            f"{b['rps'] / e['rps']:>9.2f}  {r['load_average']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
