"""`safetybot admin create USER` (console accounts) and `safetybot report FILE` (summary).

The console is a web page, not a chat feature: `register` adds nothing to the router.
"""

from __future__ import annotations

import getpass
import sys

from bot.db import transaction
from bot.router import Router


def register(router: Router) -> None:
    """No chat commands: the console lives at /admin."""


def _departments(text: str | None) -> list[int]:
    if not text:
        return []
    return [int(part) for part in text.replace("，", ",").split(",") if part.strip()]


def cmd_admin(args) -> int:
    from bot.cli import _runtime
    from bot.console.auth import AccountError, create_account

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password for {args.username}: ")
        if password != getpass.getpass("again: "):
            print("passwords differ; nothing changed", file=sys.stderr)
            return 1
    try:
        departments = _departments(args.departments)
    except ValueError:
        print("--departments takes department ids, e.g. 3,4", file=sys.stderr)
        return 2
    rt = _runtime(args)
    try:
        with transaction(rt.factory) as s:
            account = create_account(
                s, args.username, password, role=args.role, departments=departments, now=rt.clock()
            )
            print(
                f"console account {account.username} ({account.role}"
                + (f", departments {account.departments}" if account.departments else "")
                + ") saved"
            )
    except AccountError as exc:
        print(f"safetybot admin create: {exc}", file=sys.stderr)
        return 2
    finally:
        rt.close()
    return 0


def cmd_report(args) -> int:
    from bot.cli import _runtime
    from bot.console.report import write_report

    if not args.file.lower().endswith((".xlsx", ".html", ".htm")):
        print("safetybot report: FILE must end in .xlsx or .html", file=sys.stderr)
        return 2
    rt = _runtime(args)
    try:
        with rt.factory() as s:
            path = write_report(s, rt.settings, rt.clock(), args.file)
    finally:
        rt.close()
    print(f"campaign summary written to {path}")
    return 0


def register_cli(sub) -> None:
    p = sub.add_parser("admin", help="console accounts: admin create USER")
    p.add_argument("action", choices=["create"])
    p.add_argument("username")
    p.add_argument(
        "--role", choices=["admin", "safety_officer", "department_head"], default="admin"
    )
    p.add_argument("--departments", help="department ids a department head sees, e.g. 3,4")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin",
    )
    p.set_defaults(func=cmd_admin)

    p = sub.add_parser("report", help="campaign summary: FILE.xlsx (workbook) or FILE.html")
    p.add_argument("file")
    p.set_defaults(func=cmd_report)
