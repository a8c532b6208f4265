"""Running a `safetybot` subcommand inside a test, on the test's runtime."""

from __future__ import annotations

from bot.cli import build_parser


def run_cli(runtime, cli_runtime, *argv) -> int:
    """Parse `argv` as the command line would and run it on `runtime` (the `cli_runtime`
    fixture makes the command use it); returns the exit status."""
    args = build_parser().parse_args(list(argv))
    args.settings = runtime.settings
    cli_runtime(runtime)
    return args.func(args)
