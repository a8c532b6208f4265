"""`safetybot learning assign|list`: learning tasks (学习任务, 警示教育) for everyone or some
departments, with a due date; `safetybot export learning` writes who did what."""

from __future__ import annotations

import sys
from datetime import date

from bot.cli.parser import INT_MAX
from bot.db import transaction
from bot.learning.content import load_items
from bot.learning.stats import completion_by_department
from bot.learning.tasks import AssignError, assign, tasks
from bot.runtime import open_runtime


def cmd_assign(args) -> int:
    prog = "safetybot learning assign"
    try:
        due = date.fromisoformat(args.due)
    except ValueError:
        print(f"{prog}: --due {args.due!r} is not a date like 2026-06-20", file=sys.stderr)
        return 2
    departments = []
    for d in args.department or []:
        if not d.isdigit() or int(d) > INT_MAX:
            print(f"{prog}: --department takes a department id, not {d!r}", file=sys.stderr)
            return 2
        departments.append(int(d))
    with open_runtime(args.settings) as rt:
        try:
            with transaction(rt.factory) as s:
                done = assign(
                    s,
                    title=args.title,
                    item_id=args.article,
                    url=args.url,
                    departments=departments,
                    due=due,
                    questions=args.questions,
                    created_by="cli",
                    now=rt.clock(),
                    tz=rt.settings.tz,
                    public_url=rt.settings.public_url,
                )
                task_id, members = done.task.id, done.members
        except AssignError as exc:
            print(f"{prog}: {exc}", file=sys.stderr)
            return 1
        print(f"task {task_id}: {members} members, due {due.isoformat()}; cards queued")
        if not rt.settings.public_url:
            print("note: SAFETYBOT_PUBLIC_URL is not set, so card links are relative")
        if not args.no_send:
            st = rt.sender.drain()
            print(f"sent {st.sent}, deferred {st.deferred}, dead {st.dead}")
    return 0


def cmd_list(args) -> int:
    with open_runtime(args.settings) as rt, rt.factory() as s:
        items = load_items()
        rows = tasks(s)
        if not rows:
            print("no learning tasks yet; items: " + (", ".join(sorted(items)) or "none"))
            return 0
        for t in rows:
            figures = completion_by_department(s, t.id)
            done = sum(d["completed"] for d in figures)
            opened = sum(d["opened"] for d in figures)
            what = t.item_id or t.url
            print(
                f"{t.id}\t{t.due.isoformat()}\t{t.kind}\t{what}\t{t.title}\t"
                f"{done}/{t.members_total} done, {opened} opened"
            )
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("learning", help="学习任务: assign an article, case or link; list tasks")
    group = p.add_subparsers(dest="learning", required=True, metavar="ACTION")
    a = group.add_parser("assign", help="assign a learning task with a due date")
    a.add_argument("title", help="the task's title as staff see it")
    what = a.add_mutually_exclusive_group(required=True)
    what.add_argument("--article", help="id of an article or case in content/learning")
    what.add_argument("--url", help="an http(s) link on the organisation's own site")
    a.add_argument(
        "--department", action="append", help="department id (repeat; default: everyone)"
    )
    a.add_argument("--due", required=True, help="due date, YYYY-MM-DD")
    a.add_argument("--questions", type=int, help="check questions to ask (0-3; default: all)")
    a.add_argument("--no-send", action="store_true", help="only queue; the running sender delivers")
    a.set_defaults(func=cmd_assign)
    ls = group.add_parser("list", help="tasks with how many finished")
    ls.set_defaults(func=cmd_list)
