"""`safetybot export <what> FILE`: every export, listed once here.

Each export's rows are built in its feature (bot/<feature>/export.py); this module only parses
the command line and writes the file.
"""

from __future__ import annotations

import sys
from datetime import date

from bot.audit import audit_sheets
from bot.checkin.events import find_event
from bot.checkin.export import absentee_sheets, attendance_sheets
from bot.drills.supplies import export_sheets as supply_sheets
from bot.exports import write_xlsx
from bot.hazard.export import export_hazards
from bot.hazard.queries import LedgerFilter
from bot.hazard.states import STATUSES
from bot.inspection.export import rounds_sheet
from bot.knowledge.export import asked_sheets
from bot.learning.export import export_sheets
from bot.models import LearningTask, PledgeRound
from bot.pledge.export import PLEDGE_SHEET_HEADER, SUMMARY_HEADER, export_rows
from bot.quiz.export import points_sheets
from bot.runtime import open_runtime
from bot.stats import point_sources
from bot.submissions.contests import get as get_submission_contest
from bot.submissions.export import export_sheets as submission_sheets
from bot.suggestion import EXPORT_HEADER as SUGGESTION_HEADER
from bot.suggestion import export_rows as suggestion_rows


def export_pledges(args) -> int:
    with open_runtime(args.settings) as rt, rt.factory() as s:
        if args.round is not None and s.get(PledgeRound, args.round) is None:
            print(f"safetybot export pledges: no signing round {args.round}", file=sys.stderr)
            return 1
        rows, summary = export_rows(s, rt.settings.tz, args.round)
    write_xlsx(
        args.file,
        [("签署明细", PLEDGE_SHEET_HEADER, rows), ("部门汇总", SUMMARY_HEADER, summary)],
    )
    print(f"wrote {len(rows)} members to {args.file}")
    return 0


def _export_event(args, which: str, noun: str, build) -> int:
    """An event's sheets (attendance or absentees), the event named by id or code."""
    with open_runtime(args.settings) as rt, rt.factory() as s:
        event = find_event(s, args.event)
        if event is None:
            print(
                f"safetybot export {which}: no event {args.event!r} "
                "(use its id or code; `safetybot event list`)",
                file=sys.stderr,
            )
            return 1
        sheets = build(s, event, rt.settings.tz)
    write_xlsx(args.file, sheets)
    print(f"wrote {len(sheets[0][2])} {noun} of {event.title} to {args.file}")
    return 0


def export_attendance(args) -> int:
    return _export_event(args, "attendance", "attendees", attendance_sheets)


def export_absentees(args) -> int:
    return _export_event(args, "absentees", "absentees", absentee_sheets)


def export_hazard_ledger(args) -> int:
    days = {}
    for name in ("since", "until"):
        value = getattr(args, name, None)
        try:
            days[name] = date.fromisoformat(value) if value else None
        except ValueError:
            print(f"safetybot export hazards: --{name} takes YYYY-MM-DD", file=sys.stderr)
            return 1
    status = getattr(args, "status", None)
    if status and status not in STATUSES:
        print(
            f"safetybot export hazards: --status is one of {', '.join(STATUSES)}", file=sys.stderr
        )
        return 1
    f = LedgerFilter(
        search=getattr(args, "search", None) or "",
        department_id=getattr(args, "department", None),
        status=status,
        **days,
    )
    with open_runtime(args.settings) as rt, rt.factory() as s:
        n = export_hazards(s, rt.settings, args.file, *f.clauses(rt.settings.tz))
    print(f"exported {n} hazards to {args.file}")
    return 0


def export_learning(args) -> int:
    with open_runtime(args.settings) as rt, rt.factory() as s:
        if args.task is not None and s.get(LearningTask, args.task) is None:
            print(f"safetybot export learning: no learning task {args.task}", file=sys.stderr)
            return 1
        sheets = export_sheets(s, rt.settings.tz, args.task)
    write_xlsx(args.file, sheets)
    print(f"wrote {len(sheets[0][2])} rows to {args.file}")
    return 0


def export_supplies(args) -> int:
    return _write(args, "items", lambda s, st: supply_sheets(s, st.tz))


def export_submissions(args) -> int:
    with open_runtime(args.settings) as rt, rt.factory() as s:
        if args.contest is not None and get_submission_contest(s, args.contest) is None:
            print(f"safetybot export submissions: no contest {args.contest}", file=sys.stderr)
            return 1
        sheets = submission_sheets(s, rt.settings.tz, args.contest)
    write_xlsx(args.file, sheets)
    print(f"wrote {len(sheets[0][2])} entries to {args.file}")
    return 0


def _write(args, what: str, build) -> int:
    """Build the sheets inside the runtime's session and write them to args.file."""
    with open_runtime(args.settings) as rt, rt.factory() as s:
        sheets = build(s, rt.settings)
    write_xlsx(args.file, sheets)
    print(f"wrote {len(sheets[0][2])} {what} to {args.file}")
    return 0


def export_suggestions(args) -> int:
    return _write(
        args,
        "suggestions",
        lambda s, st: [("安全建议", SUGGESTION_HEADER, suggestion_rows(s, st.tz, limit=None))],
    )


def export_inspections(args) -> int:
    return _write(args, "rounds × departments", lambda s, st: [rounds_sheet(s)])


def export_audit(args) -> int:
    return _write(args, "audit entries", lambda s, st: audit_sheets(s, st.tz))


def export_points(args) -> int:
    return _write(args, "people", lambda s, st: points_sheets(s, point_sources(s)))


def export_asked(args) -> int:
    return _write(args, "tickets", lambda s, st: asked_sheets(s, st.tz, limit=None))


def add_commands(sub) -> None:
    parser = sub.add_parser("export", help="export campaign records to a file")
    group = parser.add_subparsers(dest="export", required=True, metavar="WHAT")

    p = group.add_parser(
        "attendance", help="活动签到名单 (xlsx: attendees, per department, survey)"
    )
    p.add_argument("event", help="event id or its 6-digit code")
    p.add_argument("file", help="output .xlsx file")
    p.set_defaults(func=export_attendance)

    p = group.add_parser(
        "absentees", help="活动未到名单 (xlsx: invited members who did not sign in)"
    )
    p.add_argument("event", help="event id or its 6-digit code")
    p.add_argument("file", help="output .xlsx file")
    p.set_defaults(func=export_absentees)

    p = group.add_parser("hazards", help="隐患台账 (xlsx)")
    p.add_argument("file", help="output .xlsx file")
    p.add_argument("--search", help="only tickets or descriptions containing this text")
    p.add_argument("--department", type=int, help="only this department id")
    p.add_argument("--status", help="only this status (reported, accepted, …)")
    p.add_argument("--since", help="reported on or after this local day (YYYY-MM-DD)")
    p.add_argument("--until", help="reported on or before this local day (YYYY-MM-DD)")
    p.set_defaults(func=export_hazard_ledger)

    p = group.add_parser("pledges", help="责任书签署情况 (xlsx: each member + department summary)")
    p.add_argument("file", help="output .xlsx file")
    p.add_argument("--round", type=int, help="only the members of this signing round")
    p.set_defaults(func=export_pledges)

    p = group.add_parser(
        "learning", help="学习任务 (xlsx: each person and task + department summary)"
    )
    p.add_argument("file", help="output .xlsx file")
    p.add_argument("--task", type=int, help="only this learning task")
    p.set_defaults(func=export_learning)

    p = group.add_parser("supplies", help="应急物资 (xlsx: every item, its keeper and state)")
    p.add_argument("file", help="output .xlsx file")
    p.set_defaults(func=export_supplies)
    p = group.add_parser("submissions", help="征文和随手拍 (xlsx: every entry + results)")
    p.add_argument("file", help="output .xlsx file")
    p.add_argument("--contest", type=int, help="only this contest")
    p.set_defaults(func=export_submissions)
    for name, func, what in (
        ("suggestions", export_suggestions, "安全建议 (xlsx: each suggestion and its replies)"),
        ("inspections", export_inspections, "隐患排查 (xlsx: each round and department)"),
        ("audit", export_audit, "操作日志 (xlsx: the whole audit log, in words)"),
        ("points", export_points, "积分排行 (xlsx: each person's points + department ranking)"),
        ("asked", export_asked, "员工提问 (xlsx: 转人工 tickets + unanswered questions)"),
    ):
        p = group.add_parser(name, help=what)
        p.add_argument("file", help="output .xlsx file")
        p.set_defaults(func=func)
