"""`safetybot campaign [show] | campaign extend YYYY-MM-DD`: the campaign's period.

The period comes from content/campaign.yaml; an extension is stored (audited) in the database,
and daily tips and quiz pushes follow it from the next push on.
"""

from __future__ import annotations

import sys
from datetime import date

from bot import campaign
from bot.db import transaction
from bot.runtime import open_runtime


def cmd_campaign(args) -> int:
    with open_runtime(args.settings) as rt:
        now = rt.clock()
        today = now.astimezone(rt.settings.tz).date()
        with transaction(rt.factory) as s:
            if args.action == "extend":
                try:
                    new_end = date.fromisoformat(args.end or "")
                except ValueError:
                    print("usage: safetybot campaign extend YYYY-MM-DD", file=sys.stderr)
                    return 2
                try:
                    period = campaign.extend(s, "cli", new_end, now, today)
                except campaign.ExtendRefused as exc:
                    print(f"safetybot campaign extend: {exc}", file=sys.stderr)
                    return 1
                print(f"campaign extended: {period.start} to {period.end}")
                return 0
            period = campaign.current(s)
        state = "running" if period.running_on(today) else "not running"
        print(
            f"campaign {period.year} (no. {period.number}): {period.start} to {period.end}, {state}"
        )
        return 0


def add_commands(sub) -> None:
    p = sub.add_parser("campaign", help="the campaign's period: show it, extend its end")
    p.add_argument(
        "action", nargs="?", choices=["show", "extend"], default="show", help="what to do"
    )
    p.add_argument("end", nargs="?", help="for extend: the new last day, YYYY-MM-DD")
    p.set_defaults(func=cmd_campaign)
