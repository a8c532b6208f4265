"""argparse, with every option's default shown in its help, mistakes answered in one line, and
every sub-command guarded so that what goes wrong around it (an unreachable database, a file
that cannot be written, the WeCom API out of reach, a port in use) is one line too, never a
traceback. A command that only reads does not create a SQLite database that is not there."""

from __future__ import annotations

import argparse
import errno
import functools
import logging
import socket
import sys
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DataError, InterfaceError, OperationalError

from bot.drills.scenarios import ScenarioError
from bot.inspection.templates import TemplateError
from bot.learning.content import LearningContentError
from bot.wecom.client import WeComAPIError

log = logging.getLogger("bot.cli")

# Integer columns are 32-bit on PostgreSQL; a larger number is a typing mistake, and passing it
# on would overflow in the database driver.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def bounded_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not INT_MIN <= value <= INT_MAX:
        raise argparse.ArgumentTypeError(f"{text} is out of range")
    return value


# Sub-commands (their prog, and the action when the command has several) that only read: on a
# SQLite database that does not exist they say so instead of creating an empty one.
READ_ONLY: dict[str, frozenset[str] | None] = {
    "safetybot stats": None,
    "safetybot outbox": None,
    "safetybot report": None,
    "safetybot export": None,  # every `export WHAT`
    "safetybot campaign": frozenset({"show"}),
    "safetybot event": frozenset({"list"}),
    "safetybot contest": frozenset({"results"}),
    "safetybot learning list": None,
    "safetybot inspection export": None,
    "safetybot counters": None,  # check; with --repair there is nothing to repair either
}


def reads_only(prog: str, args) -> bool:
    for name, actions in READ_ONLY.items():
        if prog == name or prog.startswith(name + " "):
            return actions is None or getattr(args, "action", None) in actions
    return False


def missing_sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite DATABASE_URL when it does not exist (None: it exists, it is in
    memory, or the database is not SQLite)."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None  # the command reports it
    name = url.database or ""
    if (
        not url.drivername.startswith("sqlite")
        or name in ("", ":memory:")
        or name.startswith("file:")
    ):
        return None
    path = Path(name)
    return None if path.exists() else path.resolve()


class PortInUse(Exception):
    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.port = port

    def __str__(self) -> str:
        # The operator's one line (wording of the issue that asked for it).
        return f"端口 {self.port} 已被占用，可用 --port 换一个"


def check_port(host: str, port: int) -> None:
    """Raise PortInUse when something listens on host:port already (port 0: any free one).

    SO_REUSEADDR as the servers (waitress, gunicorn) set it, so a port left in TIME_WAIT by
    the last run counts as free, as it is for them."""
    if not port:
        return
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror:
        return  # an unknown host name: the server's own error says so
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(port) from None
            raise


def _first_line(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    return (str(inner).strip().splitlines() or [type(inner).__name__])[0]


def guarded(func, prog: str):
    """`func(args) -> int`, with the failures a user can cause or fix answered in one line."""

    @functools.wraps(func)
    def run(args) -> int:
        settings = getattr(args, "settings", None)
        if settings is not None and reads_only(prog, args):
            missing = missing_sqlite_file(settings.database_url)
            if missing is not None:
                print(
                    f"{prog}: no database at {missing}: nothing to show "
                    "(check DATABASE_URL, or create it with `safetybot init-db`)",
                    file=sys.stderr,
                )
                return 1
        try:
            return func(args)
        except PortInUse as exc:
            message = str(exc)
        except (OperationalError, InterfaceError) as exc:
            message = f"database unavailable: {_first_line(exc)}"
        except ArgumentError as exc:
            message = f"DATABASE_URL is not valid: {_first_line(exc)}"
        except (DataError, OverflowError) as exc:
            message = f"a number is out of range: {_first_line(exc)}"
        except WeComAPIError as exc:
            message = f"WeCom API error: {_first_line(exc)}"
        except TemplateError as exc:  # content/checklists: file and line of the problem
            message = f"checklist refused: {exc}"
        except ScenarioError as exc:  # content/drills: file and line of the problem
            message = f"scenario refused: {exc}"
        except LearningContentError as exc:  # refused at start-up: the first bad file and line
            more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
            message = f"{exc.problems[0]}{more}"
        except OSError as exc:  # files, and requests' connection errors
            where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
            message = f"{exc.strerror or _first_line(exc)}{where}"
            if exc.errno == errno.EADDRINUSE and isinstance(getattr(args, "port", None), int):
                message = str(PortInUse(args.port))  # taken between the check and the bind
        log.debug("%s failed", prog, exc_info=True)
        print(f"{prog}: {message}", file=sys.stderr)
        return 1

    return run


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Each option's help ends with its default, except where there is nothing to show: a
    flag (off unless given), or None or "" (the help says what happens without it)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default == "" or action.nargs == 0:
            return action.help
        return super()._get_help_string(action)


class ArgumentParser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        if kwargs.get("type") is int:
            kwargs["type"] = bounded_int
        return super().add_argument(*args, **kwargs)

    def set_defaults(self, **kwargs) -> None:
        if "func" in kwargs:
            kwargs["func"] = guarded(kwargs["func"], self.prog)
        super().set_defaults(**kwargs)

    def error(self, message: str):
        """One line (argparse prints the whole usage first): what is wrong, where to look."""
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")
