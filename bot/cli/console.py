"""`safetybot admin create USER` (console accounts) and `safetybot report FILE` (summary)."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

from bot.console.auth import AccountError, create_account
from bot.console.report import write_report
from bot.db import transaction
from bot.runtime import open_runtime


def _departments(text: str | None) -> list[int]:
    if not text:
        return []
    return [int(part) for part in text.replace("，", ",").split(",") if part.strip()]


def cmd_admin(args) -> int:
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
    try:
        with open_runtime(args.settings) as rt, transaction(rt.factory) as s:
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
    return 0


def cmd_report(args) -> int:
    if not args.file.lower().endswith((".xlsx", ".html", ".htm", ".docx")):
        print("safetybot report: FILE must end in .xlsx, .html or .docx", file=sys.stderr)
        return 2
    folder = Path(args.file).resolve().parent
    if not folder.is_dir():
        print(f"safetybot report: folder {folder} does not exist", file=sys.stderr)
        return 2
    try:
        with open_runtime(args.settings) as rt, rt.factory() as s:
            path = write_report(s, rt.settings, rt.clock(), args.file)
    except OSError as exc:
        print(f"safetybot report: cannot write {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"campaign summary written to {path}")
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("admin", help="console accounts: admin create USER")
    p.add_argument("action", choices=["create"], help="what to do")
    p.add_argument("username", help="the console login name")
    p.add_argument(
        "--role",
        choices=["admin", "safety_officer", "department_head"],
        default="admin",
        help="what the account may see",
    )
    p.add_argument("--departments", help="department ids a department head sees, e.g. 3,4")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin",
    )
    p.set_defaults(func=cmd_admin)

    p = sub.add_parser(
        "report", help="campaign summary: FILE.xlsx (workbook), FILE.html or FILE.docx (Word)"
    )
    p.add_argument("file", help="FILE.xlsx, FILE.html or FILE.docx")
    p.set_defaults(func=cmd_report)
