"""The `safetybot` command.

Feature modules in handlers.FEATURES may define `register_cli(subparsers)`; each sub-command
sets `func(args) -> int` with `args.settings` available.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import signal
import sys

from bot.settings import Settings

log = logging.getLogger("safetybot")


def _runtime(args, **kwargs):
    from bot.migrate import upgrade
    from bot.runtime import build_runtime

    rt = build_runtime(args.settings, **kwargs)
    upgrade(rt.engine)
    return rt


def cmd_init_db(args) -> int:
    rt = _runtime(args)
    print(f"database ready: {rt.engine.url.render_as_string(hide_password=True)}")
    rt.close()
    return 0


def cmd_serve(args) -> int:
    missing = args.settings.missing_wecom_settings()
    if missing:
        print("safetybot serve: missing settings: " + ", ".join(missing), file=sys.stderr)
        print("Set them in the environment or in .env (see .env.example).", file=sys.stderr)
        return 2
    from waitress import create_server

    from bot.app import create_app

    rt = _runtime(args)
    rt.start_sender()
    sched = None
    if not args.no_scheduler:
        from scheduler.registry import build_scheduler

        sched = build_scheduler(rt)
        sched.start()
    app = create_app(runtime=rt)
    server = create_server(app, host=args.host, port=args.port, threads=args.threads)
    print(
        f"safetybot serving on http://{args.host}:{server.effective_port} "
        f"(scheduler {'off' if args.no_scheduler else 'on'})",
        flush=True,
    )
    _serve_until_signal(server)
    if sched:
        sched.shutdown(wait=False)
    rt.close()
    return 0


def _serve_until_signal(server) -> None:
    """Run the WSGI server until Ctrl+C or SIGTERM (docker stop, systemd, gunicorn-style)."""

    def stop(*_):
        # Signal handlers run in the main thread, which is inside server.run(): unwind it.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    except (KeyboardInterrupt, OSError):
        pass
    finally:
        server.close()


def cmd_scheduler(args) -> int:
    from scheduler.registry import build_scheduler

    rt = _runtime(args)
    rt.start_sender()
    sched = build_scheduler(rt, blocking=True)
    print("safetybot scheduler running", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sched.shutdown(wait=False))
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        sched.start()
    rt.close()
    return 0


def cmd_sync_directory(args) -> int:
    from bot.db import transaction
    from bot.directory import sync_directory

    rt = _runtime(args)
    with transaction(rt.factory) as s:
        result = sync_directory(s, rt.client, rt.clock())
    print(f"synced {result['departments']} departments, {result['users']} members")
    rt.close()
    return 0


def cmd_stats(args) -> int:
    from bot.stats import compute_stats

    rt = _runtime(args)
    with rt.factory() as s:
        stats = compute_stats(s, rt.clock().astimezone(args.settings.tz))
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2, default=str))
    else:
        for key, value in stats.items():
            if not isinstance(value, dict | list):
                print(f"{key}: {value}")
    rt.close()
    return 0


def cmd_push(args) -> int:
    from bot.db import transaction
    from scheduler import jobs

    rt = _runtime(args)
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
    rt.close()
    return 0


def cmd_outbox(args) -> int:
    from bot.outbox import counts

    rt = _runtime(args)
    with rt.factory() as s:
        c = counts(s)
    print(
        json.dumps(c)
        if args.json
        else f"enqueued {c['enqueued']} = sent {c['sent']} + pending {c['pending']} + dead {c['dead']}"
        f" ({c['messages']} messages)"
    )
    rt.close()
    return 0


def cmd_roles(args) -> int:
    from bot.db import transaction
    from bot.directory import grant

    rt = _runtime(args)
    with transaction(rt.factory) as s:
        added = grant(s, args.userid, args.role, args.department)
    print(("granted" if added else "already had") + f" {args.role} to {args.userid}")
    rt.close()
    return 0


def cmd_demo(args) -> int:
    from bot.demo.run import run_demo

    return run_demo(host=args.host, port=args.port, database_url=args.database_url)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="safetybot", description="安全生产月助手 (WeCom bot)")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the bot (WSGI server + scheduler)")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument(
        "--no-scheduler",
        action="store_true",
        help="leave scheduled jobs to a separate `safetybot scheduler`",
    )
    p.set_defaults(func=cmd_serve)

    sub.add_parser(
        "scheduler", help="run the scheduled jobs and the outbox sender only"
    ).set_defaults(func=cmd_scheduler)
    sub.add_parser("init-db", help="create or upgrade the database schema").set_defaults(
        func=cmd_init_db
    )
    sub.add_parser("sync-directory", help="pull departments and members from WeCom").set_defaults(
        func=cmd_sync_directory
    )

    p = sub.add_parser("stats", help="campaign figures")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("push", help="send today's tip or quiz to every member now")
    p.add_argument("what", choices=["tip", "quiz"])
    p.add_argument("--no-send", action="store_true", help="only queue; the running sender delivers")
    p.set_defaults(func=cmd_push)

    p = sub.add_parser("outbox", help="outbox counts")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_outbox)

    p = sub.add_parser("roles", help="grant a role: admin, safety_officer, department_head")
    p.add_argument("action", choices=["grant"])
    p.add_argument("userid")
    p.add_argument("role")
    p.add_argument("--department", type=int)
    p.set_defaults(func=cmd_roles)

    p = sub.add_parser("demo", help="everything on one machine, no WeCom account needed")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--database-url", default=None)
    p.set_defaults(func=cmd_demo)

    import handlers

    for name in handlers.FEATURES:
        module = importlib.import_module(name)
        if hasattr(module, "register_cli"):
            module.register_cli(sub)
    from bot.exports import add_export_parser

    add_export_parser(sub)  # `safetybot export <name>`: features register exports on import
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # APScheduler logs two INFO lines per job run, i.e. several a minute: keep them quiet.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if args.command != "demo":
        try:
            args.settings = Settings.from_env()
        except ValueError as exc:
            print(f"safetybot: {exc}", file=sys.stderr)
            return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
