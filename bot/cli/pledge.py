"""`safetybot pledge launch|sign`: signing rounds of the 安全生产责任书, paper signatures."""

from __future__ import annotations

import re
import sys

from bot.cli.parser import INT_MAX as MAX_ID
from bot.db import transaction
from bot.models import Department
from bot.pledge.rounds import launch
from bot.pledge.signing import sign_on_paper
from bot.runtime import open_runtime


def _department_exists(session, department_id: int) -> bool:
    return department_id <= MAX_ID and session.get(Department, department_id) is not None


def cmd_pledge(args) -> int:
    if args.action == "sign" and not args.userid:
        print("safetybot pledge sign: USERID is required", file=sys.stderr)
        return 2
    try:
        departments = [int(d) for d in re.split(r"[,，\s]+", args.departments or "") if d]
    except ValueError:
        print("safetybot pledge: --departments takes department ids, e.g. 3,4", file=sys.stderr)
        return 2
    with open_runtime(args.settings) as rt:
        now = rt.clock()
        if args.action == "launch":
            with transaction(rt.factory) as s:
                unknown = [d for d in departments if not _department_exists(s, d)]
                if unknown:
                    print(
                        "safetybot pledge launch: unknown department(s) "
                        + ", ".join(map(str, unknown))
                        + "; nothing launched",
                        file=sys.stderr,
                    )
                    return 1
                round_id, total, pending = launch(
                    s, "cli", now, departments or None, rt.settings.tz
                )
            print(f"round {round_id}: {total} members in scope, {pending} to sign; texts queued")
            if not args.no_send:
                st = rt.sender.drain()
                print(f"sent {st.sent}, deferred {st.deferred}, dead {st.dead}")
            return 0
        with transaction(rt.factory) as s:
            signed = sign_on_paper(s, args.userid, now)
        if signed is None:
            print(f"safetybot pledge sign: unknown member {args.userid}", file=sys.stderr)
            return 1
        result, t = signed
        print(
            ("signed" if result.created else "already signed")
            + f" {t.key} {t.version} {t.short_hash} for {args.userid}"
        )
        return 0


def add_commands(sub) -> None:
    p = sub.add_parser("pledge", help="安全生产责任书: launch a signing round, record a signature")
    p.add_argument("action", choices=["launch", "sign"], help="what to do")
    p.add_argument("userid", nargs="?", help="for sign: the member who signed on paper")
    p.add_argument("--departments", help="comma-separated department ids (with sub-departments)")
    p.add_argument("--no-send", action="store_true", help="only queue; the running sender delivers")
    p.set_defaults(func=cmd_pledge)
