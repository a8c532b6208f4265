"""`safetybot inspection templates|start|export`: checklists, inspection rounds, 检查记录表."""

from __future__ import annotations

import sys
from datetime import date

from bot.db import transaction
from bot.inspection.export import write_round
from bot.inspection.rounds import RoundRefused, start_round
from bot.inspection.schedule import REPEATS, create_schedule
from bot.inspection.templates import templates
from bot.models import InspectionRound
from bot.runtime import open_runtime

PROG = "safetybot inspection"


def cmd_templates(args) -> int:
    found = templates()
    if not found:
        print(f"{PROG} templates: no checklist in content/checklists", file=sys.stderr)
        return 1
    for t in found.values():
        print(f"{t.id}\t{t.title}\t{len(t.items)} 项")
    return 0


def cmd_start(args) -> int:
    departments, inspectors = args.department or [], args.inspector or []
    if not departments or len(departments) != len(inspectors):
        print(
            f"{PROG} start: give one --inspector for each --department "
            f"({len(departments)} departments, {len(inspectors)} inspectors)",
            file=sys.stderr,
        )
        return 2
    try:
        due = date.fromisoformat(args.due)
    except ValueError:
        print(f"{PROG} start: --due {args.due!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
        return 2
    pairs = list(zip(departments, inspectors, strict=True))
    with open_runtime(args.settings) as rt:
        now = rt.clock()
        today = now.astimezone(rt.settings.tz).date()
        try:
            with transaction(rt.factory) as s:
                rnd = start_round(
                    s,
                    template_id=args.template,
                    assignments=pairs,
                    due=due,
                    actor="cli",
                    now=now,
                    today=today,
                )
                round_id = rnd.id if rnd else None
                if args.repeat:
                    schedule = create_schedule(
                        s,
                        template_id=args.template,
                        repeat=args.repeat,
                        assignments=pairs,
                        actor="cli",
                        now=now,
                        due_days=max(1, (due - today).days),
                    )
                    print(f"schedule {schedule.id}: {args.repeat}")
        except RoundRefused as exc:
            # The reason as the officer reads it in chat (one line).
            print(f"{PROG} start: {exc.key}: {exc.text()}", file=sys.stderr)
            return 1
        print(f"round {round_id}: {args.template}, {len(pairs)} department(s), due {due}")
        if not args.no_send:
            st = rt.sender.drain()
            print(f"sent {st.sent}, deferred {st.deferred}, dead {st.dead}")
    return 0


def cmd_export(args) -> int:
    with open_runtime(args.settings) as rt, rt.factory() as s:
        if s.get(InspectionRound, args.round) is None:
            print(f"{PROG} export: no round {args.round}", file=sys.stderr)
            return 1
        n = write_round(s, rt.settings, args.round, args.file)
    print(f"wrote round {args.round} ({n} department sheet(s)) to {args.file}")
    return 0


def add_commands(sub) -> None:
    parser = sub.add_parser("inspection", help="隐患排查: checklists and inspection rounds")
    group = parser.add_subparsers(dest="inspection", required=True, metavar="ACTION")

    p = group.add_parser("templates", help="list the checklist templates (id, title)")
    p.set_defaults(func=cmd_templates)

    p = group.add_parser("start", help="start an inspection round and tell the inspectors")
    p.add_argument("template", metavar="TEMPLATE_ID", help="a checklist id (see templates)")
    p.add_argument(
        "--department", type=int, action="append", required=True, help="department id (repeat)"
    )
    p.add_argument("--inspector", action="append", required=True, help="inspector userid (repeat)")
    p.add_argument("--due", required=True, help="due date, YYYY-MM-DD")
    p.add_argument("--repeat", choices=REPEATS, help="also repeat it: weekly, monthly, holiday")
    p.add_argument("--no-send", action="store_true", help="only queue; the running sender delivers")
    p.set_defaults(func=cmd_start)

    p = group.add_parser("export", help="a round's 检查记录表 (xlsx, one sheet per department)")
    p.add_argument("round", type=int, help="round id")
    p.add_argument("file", help="output .xlsx file")
    p.set_defaults(func=cmd_export)
