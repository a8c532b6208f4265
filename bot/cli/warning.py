"""`safetybot cap-poll`: poll the CAP alert feed once now."""

from __future__ import annotations

from bot.db import transaction
from bot.runtime import open_runtime
from bot.warnings.jobs import fetch_cap_feed, process_cap_feed


def cmd_cap_poll(args) -> int:
    if not args.settings.cap_url:
        print("SAFETYBOT_CAP_URL is not set")
        return 2
    with open_runtime(args.settings) as rt:
        now = rt.clock()
        fetched = fetch_cap_feed(rt, now)
        with transaction(rt.factory) as s:
            print(process_cap_feed(s, rt, now, fetched))
        for error in fetched.errors:
            print("skipped:", error)
        if not args.no_send:
            rt.sender.drain()
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("cap-poll", help="poll the CAP feed (SAFETYBOT_CAP_URL) once now")
    p.add_argument("--no-send", action="store_true", help="only queue; the running sender delivers")
    p.set_defaults(func=cmd_cap_poll)
