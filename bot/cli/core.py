"""`safetybot serve|scheduler|init-db|sync-directory|stats|push|outbox|roles|demo`."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import sys
from pathlib import Path

from bot.cli.parser import check_port
from bot.db import transaction
from bot.directory import ROLES
from bot.runtime import open_runtime
from bot.serving import serve_until_signal

log = logging.getLogger("bot.cli")

# How often `safetybot scheduler --heartbeat FILE` touches FILE (seconds); a health check
# calls the scheduler dead when the file is older than a few of these (compose.yaml).
HEARTBEAT_SECONDS = 30


def announce(message: str, *args) -> None:
    """A long-running process's start-up line, in the log format, at any SAFETYBOT_LOG_LEVEL:
    whoever reads the logs sees that it is up (and with what), even at WARNING."""
    log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, message, args, None))


def cmd_init_db(args) -> int:
    with open_runtime(args.settings) as rt:
        print(f"database ready: {rt.engine.url.render_as_string(hide_password=True)}")
    return 0


def cmd_serve(args) -> int:
    missing = args.settings.missing_wecom_settings()
    if missing:
        print(
            "safetybot serve: missing settings: "
            + ", ".join(missing)
            + " (set them in the environment or in .env, see .env.example)",
            file=sys.stderr,
        )
        return 2
    from waitress import create_server

    from bot.app import create_app
    from scheduler.registry import build_scheduler

    check_port(args.host, args.port)  # before migrating and starting threads
    with open_runtime(args.settings) as rt:
        rt.start_sender()
        sched = None
        if not args.no_scheduler:
            sched = build_scheduler(rt)
            sched.start()
        app = create_app(runtime=rt)
        from bot.knowledge.index import warm

        warm()
        try:
            server = create_server(app, host=args.host, port=args.port, threads=args.threads)
        except OSError:  # the port was taken after all (between the check and now)
            if sched is not None:
                sched.shutdown(wait=False)
            raise
        announce(
            "safetybot serving on http://%s:%s (scheduler %s)",
            args.host,
            server.effective_port,
            "off: daily pushes need a `safetybot scheduler`" if args.no_scheduler else "on",
        )
        serve_until_signal(server)
        if sched:
            sched.shutdown(wait=False)
    return 0


def cmd_scheduler(args) -> int:
    from scheduler.registry import build_scheduler

    with open_runtime(args.settings) as rt:
        rt.start_sender()
        sched = build_scheduler(rt, blocking=True)
        if args.heartbeat:
            beat = Path(args.heartbeat)
            beat.touch()
            sched.add_job(
                beat.touch, "interval", seconds=HEARTBEAT_SECONDS, id="heartbeat", coalesce=True
            )
        announce("safetybot scheduler running (%d jobs)", len(sched.get_jobs()))
        signal.signal(signal.SIGTERM, lambda *_: sched.shutdown(wait=False))
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            sched.start()
    return 0


def cmd_sync_directory(args) -> int:
    from bot.directory import sync_directory

    with open_runtime(args.settings) as rt, transaction(rt.factory) as s:
        result = sync_directory(s, rt.client, rt.clock())
    print(f"synced {result['departments']} departments, {result['users']} members")
    return 0


def cmd_stats(args) -> int:
    from bot.stats import compute_stats

    with open_runtime(args.settings) as rt, rt.factory() as s:
        stats = compute_stats(s, rt.clock().astimezone(args.settings.tz))
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2, default=str))
    else:
        for key, value in stats.items():
            if not isinstance(value, dict | list):
                print(f"{key}: {value}")
    return 0


def cmd_push(args) -> int:
    from scheduler import jobs

    with open_runtime(args.settings) as rt:
        now = rt.clock()
        fn = jobs.push_daily_tip if args.what == "tip" else jobs.push_daily_quiz
        with transaction(rt.factory) as s:
            detail = fn(s, rt, now)
        print(detail)
        if not args.no_send:
            stats = rt.sender.drain()
            print(
                f"sent {stats.sent}, retrying {stats.retried}, dead {stats.dead}, "
                f"deferred {stats.deferred}, API calls {stats.api_calls}"
            )
    return 0


def cmd_outbox(args) -> int:
    from bot.outbox import counts

    with open_runtime(args.settings) as rt, rt.factory() as s:
        c = counts(s)
    if args.json:
        print(json.dumps(c))
        return 0
    print(
        f"enqueued {c['enqueued']} = sent {c['sent']} + pending {c['pending']} + dead {c['dead']}"
        f" ({c['messages']} messages)"
    )
    if c["robot_unknown"]:
        print(
            f"{c['robot_unknown']} group-robot posts timed out: they may not have reached their "
            "group and were not re-posted (robots have no duplicate check)"
        )
    return 0


def cmd_roles(args) -> int:
    from bot.directory import GrantRefused, grant

    try:
        with open_runtime(args.settings) as rt, transaction(rt.factory) as s:
            added = grant(s, args.userid, args.role, args.department)
    except GrantRefused as exc:
        print(f"safetybot roles grant: {exc}; nothing granted", file=sys.stderr)
        return 1
    print(("granted" if added else "already had") + f" {args.role} to {args.userid}")
    return 0


def cmd_demo(args) -> int:
    from bot.demo.run import run_demo

    check_port(args.host, args.port)  # before the fake WeCom API and the scheduler start
    return run_demo(
        host=args.host, port=args.port, database_url=args.database_url, reset=args.reset
    )


def add_commands(sub) -> None:
    p = sub.add_parser("serve", help="run the bot (WSGI server + scheduler)")
    p.add_argument("--host", default="0.0.0.0", help="address to listen on")
    p.add_argument("--port", type=int, default=8000, help="port to listen on")
    p.add_argument("--threads", type=int, default=8, help="worker threads")
    p.add_argument(
        "--no-scheduler",
        action="store_true",
        help="leave scheduled jobs to a separate `safetybot scheduler`",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("scheduler", help="run the scheduled jobs and the outbox sender only")
    p.add_argument(
        "--heartbeat",
        metavar="FILE",
        help=f"touch FILE every {HEARTBEAT_SECONDS} s while the scheduler runs (health checks)",
    )
    p.set_defaults(func=cmd_scheduler)
    sub.add_parser("init-db", help="create or upgrade the database schema").set_defaults(
        func=cmd_init_db
    )
    sub.add_parser("sync-directory", help="pull departments and members from WeCom").set_defaults(
        func=cmd_sync_directory
    )

    p = sub.add_parser("stats", help="campaign figures")
    p.add_argument("--json", action="store_true", help="every figure as JSON")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("push", help="send today's tip or quiz to every member now")
    p.add_argument("what", choices=["tip", "quiz"], help="which push")
    p.add_argument("--no-send", action="store_true", help="only queue; the running sender delivers")
    p.set_defaults(func=cmd_push)

    p = sub.add_parser("outbox", help="outbox counts")
    p.add_argument("--json", action="store_true", help="counts as JSON")
    p.set_defaults(func=cmd_outbox)

    p = sub.add_parser("roles", help="grant a role: admin, safety_officer, department_head")
    p.add_argument("action", choices=["grant"], help="what to do")
    p.add_argument("userid", help="the member's WeCom userid")
    p.add_argument("role", choices=ROLES, help="the role")
    p.add_argument("--department", type=int, help="for department_head: the department id")
    p.set_defaults(func=cmd_roles)

    p = sub.add_parser("demo", help="everything on one machine, no WeCom account needed")
    p.add_argument("--host", default="127.0.0.1", help="address of the demo page")
    p.add_argument("--port", type=int, default=8000, help="port of the demo page")
    p.add_argument("--database-url", default=None, help="default: the SQLite file instance/demo.db")
    p.add_argument(
        "--reset",
        action="store_true",
        help="start fresh: delete the demo's SQLite database and files first",
    )
    p.set_defaults(func=cmd_demo)
