"""`safetybot questions sync|import|export|check` and `safetybot contest create|close|results`."""

from __future__ import annotations

import sys
from datetime import timedelta

from bot.content import texts
from bot.db import transaction
from bot.localtime import LocalTimeError, parse_local, stamp
from bot.models import Contest
from bot.quiz import bank
from bot.quiz import contest as contests
from bot.quiz.results import close_contests, contest_results_text
from bot.runtime import open_runtime


def cmd_questions(args) -> int:
    if args.action == "check":
        builtin = bank.load_builtin()
        for problem in builtin.problems:
            print(problem, file=sys.stderr)
        print(f"{len(builtin.questions)} valid builtin questions, {len(builtin.problems)} problems")
        return 1 if builtin.problems else 0
    if args.action == "template":
        if not args.file or not args.file.lower().endswith(".xlsx"):
            print("safetybot questions template: FILE.xlsx is required", file=sys.stderr)
            return 2
        try:
            bank.write_template(args.file)
        except OSError as exc:
            print(f"safetybot questions template: cannot write {args.file}: {exc}", file=sys.stderr)
            return 1
        print(f"wrote the import template to {args.file} (Chinese headers, one example row)")
        return 0
    if args.action in ("import", "export") and not args.file:
        print(
            f"safetybot questions {args.action}: FILE is required (.csv or .xlsx)", file=sys.stderr
        )
        return 2
    with open_runtime(args.settings) as rt:
        now = rt.clock()
        if args.action == "sync":
            with transaction(rt.factory) as s:
                result = bank.sync_builtin(s, now)
            print(
                f"synced {result['questions']} builtin questions "
                f"({result['retired']} retired, {result['problems']} invalid left out)"
            )
            return 0
        if args.action == "import":
            try:
                with transaction(rt.factory) as s:
                    count = bank.import_questions(s, args.file, now)
            except bank.BadFile as exc:
                print(f"nothing imported from {args.file}: {exc.errors[0]}", file=sys.stderr)
                return 1
            except bank.ImportFailed as exc:
                print(
                    f"nothing imported from {args.file}: {len(exc.errors)} problem(s)",
                    file=sys.stderr,
                )
                for line in exc.errors:
                    print(line, file=sys.stderr)
                return 1
            except FileNotFoundError:
                print(f"no such file: {args.file}", file=sys.stderr)
                return 2
            print(f"imported {count} questions from {args.file}")
            return 0
        with rt.factory() as s:
            bank.ensure_bank(s, now)
            s.commit()
            count = bank.export_questions(s, args.file, include_inactive=args.all)
        print(f"exported {count} questions to {args.file}")
        return 0


def _create_contest(args, rt) -> int:
    tz = rt.settings.tz
    now = rt.clock()
    try:
        opens = parse_local(args.opens, tz) if args.opens else now
        closes = parse_local(args.closes, tz) if args.closes else opens + timedelta(days=1)
        with transaction(rt.factory) as s:
            c = contests.create_contest(
                s,
                name=args.name or "",
                count=args.count,
                seconds=args.seconds,
                themes=[t for t in (args.themes or "").replace("，", ",").split(",") if t],
                opens_at=opens,
                closes_at=closes,
                created_by="cli",
                now=now,
            )
            print(
                f"created contest #{c.id} {c.name!r}: {c.question_count} questions, "
                f"{c.seconds}s, themes {','.join(c.themes) or 'all'}, "
                f"{stamp(c.opens_at, tz)} – {stamp(c.closes_at, tz)}"
            )
    except (contests.ContestError, LocalTimeError) as exc:
        print(f"safetybot contest create: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_contest(args) -> int:
    with open_runtime(args.settings) as rt:
        if args.action == "create":
            return _create_contest(args, rt)
        if args.action == "close":
            with transaction(rt.factory) as s:
                print(close_contests(s, rt, rt.clock()))
            rt.sender.drain()
            return 0
        with rt.factory() as s:
            c = s.get(Contest, args.id) if args.id else None
            if c is None:
                print(
                    "safetybot contest results: --id of an existing contest is required",
                    file=sys.stderr,
                )
                return 2
            # An open contest reads 进行中 with its closing time and the standings so far.
            print(contest_results_text(s, texts.get, c, rt.clock(), rt.settings.tz, limit=1000))
        return 0


def add_commands(sub) -> None:
    p = sub.add_parser(
        "questions", help="the quiz question bank: sync, import, export, check, template"
    )
    p.add_argument(
        "action", choices=["sync", "import", "export", "check", "template"], help="what to do"
    )
    p.add_argument("file", nargs="?", help="a .csv or .xlsx file (import / export / template)")
    p.add_argument("--all", action="store_true", help="export: include inactive questions")
    p.set_defaults(func=cmd_questions)

    p = sub.add_parser("contest", help="knowledge contests: create, close due, results")
    p.add_argument("action", choices=["create", "close", "results"], help="what to do")
    p.add_argument("--name", help="the contest's name")
    p.add_argument("--themes", default="", help="theme keys or titles, comma separated (all)")
    p.add_argument("--count", type=int, default=10, help="questions per attempt")
    p.add_argument("--seconds", type=int, default=150, help="time limit per attempt, seconds")
    p.add_argument("--opens", help="local time, e.g. 2026-06-20T09:00 (default now)")
    p.add_argument("--closes", help="local time (default opens + 24 hours)")
    p.add_argument("--id", type=int, help="results: the contest number")
    p.set_defaults(func=cmd_contest)
