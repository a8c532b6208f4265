"""Run the fake WeCom API on its own: `python -m bot.fake_wecom --port 8001 [--seed] [--synthetic N]`."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading

from bot.fake_wecom.seed import seed_directory
from bot.fake_wecom.server import FakeWeCom


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--corp-id", default="wwfakecorp")
    parser.add_argument("--secret", default="fake-secret")
    parser.add_argument("--agent-id", type=int, default=1000002)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every call")
    parser.add_argument("--seed", action="store_true", help="the demo organisation")
    parser.add_argument(
        "--synthetic", type=int, default=0, help="N synthetic members m0000001… in 20 departments"
    )
    args = parser.parse_args()
    fake = FakeWeCom(
        args.corp_id,
        args.secret,
        args.agent_id,
        host=args.host,
        port=args.port,
        latency=args.latency,
        record_bodies=False,
    )
    if args.seed:
        seed_directory(fake)
    if args.synthetic:
        fake.add_department(1, "总部")
        for d in range(2, 22):
            fake.add_department(d, f"部门{d}", 1)
        for i in range(args.synthetic):
            fake.add_user(synthetic_userid(i), f"员工{i}", [2 + i % 20])
    fake.start()
    print(f"fake WeCom API on {fake.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    fake.stop()


def synthetic_userid(i: int) -> str:
    return f"m{i:07d}"


if __name__ == "__main__":
    main()
