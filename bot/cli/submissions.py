"""`safetybot submissions open|list`: the safety essay and photo contest (安全征文 / 随手拍);
`safetybot export submissions` writes the entries and the results."""

from __future__ import annotations

import sys
from datetime import date

from bot.db import transaction
from bot.runtime import open_runtime
from bot.submissions.contests import KINDS, ContestError, contests, open_contest, phase
from bot.submissions.export import contest_summary

PROG = "safetybot submissions"


def _date(prog: str, option: str, value: str | None) -> date | None | bool:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        print(f"{prog}: {option} {value!r} is not a date like 2026-06-20", file=sys.stderr)
        return False


def cmd_open(args) -> int:
    prog = f"{PROG} open"
    until = _date(prog, "--until", args.until)
    vote_until = _date(prog, "--vote-until", args.vote_until)
    if until is False or vote_until is False:
        return 2
    with open_runtime(args.settings) as rt:
        try:
            with transaction(rt.factory) as s:
                contest, staff = open_contest(
                    s,
                    theme=args.theme,
                    kind=args.kind,
                    submit_until=until,
                    vote_until=vote_until,
                    created_by="cli",
                    now=rt.clock(),
                    tz=rt.settings.tz,
                )
                cid, vote_day = contest.id, contest.vote_until
        except ContestError as exc:
            print(f"{prog}: {exc}", file=sys.stderr)
            return 1
        print(
            f"contest {cid}: {args.kind}, entries until {until.isoformat()}, "
            f"votes until {vote_day.isoformat()}; {staff} members told"
        )
        if not args.no_send:
            st = rt.sender.drain()
            print(f"sent {st.sent}, deferred {st.deferred}, dead {st.dead}")
    return 0


def cmd_list(args) -> int:
    with open_runtime(args.settings) as rt, rt.factory() as s:
        if not contests(s):
            print("no submission contests yet")
            return 0
        now = rt.clock()
        for row in contest_summary(s, rt.settings.tz):
            c = row["contest"]
            print(
                f"{c.id}\t{c.kind}\t{c.submit_until.isoformat()}\t{c.vote_until.isoformat()}\t"
                f"{phase(c, now, rt.settings.tz)}\t{c.theme}\t"
                f"{row['entries']} entries, {row['accepted']} accepted, {row['votes']} votes"
            )
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("submissions", help="安全征文 / 随手拍: open a contest; list contests")
    group = p.add_subparsers(dest="submissions", required=True, metavar="ACTION")
    o = group.add_parser("open", help="open an essay / photo contest and tell everyone")
    o.add_argument("theme", help="the contest's theme as staff see it")
    o.add_argument("--kind", required=True, choices=KINDS, help="essay, photo or both")
    o.add_argument("--until", required=True, help="last day for entries, YYYY-MM-DD")
    o.add_argument("--vote-until", help="last day of voting, YYYY-MM-DD (default: 3 days later)")
    o.add_argument("--no-send", action="store_true", help="only queue; the running sender delivers")
    o.set_defaults(func=cmd_open)
    ls = group.add_parser("list", help="contests with entries and votes")
    ls.set_defaults(func=cmd_list)
