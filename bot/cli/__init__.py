"""The `safetybot` command: one module per area, each adding its sub-commands.

Every sub-command is listed here through its area's `add_commands(subparsers)`, in the order
`safetybot --help` shows them; a sub-command sets `func(args) -> int` and reads
`args.settings`. Areas run their work through `bot.runtime.open_runtime`.
"""

from __future__ import annotations

import logging
import sys

from bot.cli import (
    campaign,
    checkin,
    console,
    core,
    counters,
    drill,
    export,
    inspection,
    knowledge,
    learning,
    menu,
    pledge,
    quiz,
    submissions,
    warning,
)
from bot.cli.parser import ArgumentParser
from bot.logging_setup import configure as configure_logging
from bot.settings import Settings

# Every area of the command, in the order of `safetybot --help`.
AREAS = (
    core,
    campaign,
    quiz,
    pledge,
    learning,
    submissions,
    checkin,
    inspection,
    drill,
    warning,
    console,
    menu,
    export,
    knowledge,
    counters,
)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="safetybot", description="安全生产月助手 (WeCom bot)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for area in AREAS:
        area.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = None
    if args.command != "demo":
        try:
            settings = args.settings = Settings.from_env()
        except ValueError as exc:
            print(f"safetybot: {exc}", file=sys.stderr)
            return 2
    # One format (SAFETYBOT_LOG_FORMAT), secrets masked; -v: everything, alembic included.
    level = logging.DEBUG if args.verbose else (settings.log_level if settings else logging.INFO)
    configure_logging(level, settings)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
