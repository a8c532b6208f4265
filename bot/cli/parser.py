"""argparse, with every option's default shown in its help, mistakes answered in one line, and
every sub-command guarded so that what goes wrong around it (an unreachable database, a file
that cannot be written, the WeCom API out of reach) is one line too, never a traceback."""

from __future__ import annotations

import argparse
import functools
import logging
import sys

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


def _first_line(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    return (str(inner).strip().splitlines() or [type(inner).__name__])[0]


def guarded(func, prog: str):
    """`func(args) -> int`, with the failures a user can cause or fix answered in one line."""

    @functools.wraps(func)
    def run(args) -> int:
        try:
            return func(args)
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
        log.debug("%s failed", prog, exc_info=True)
        print(f"{prog}: {message}", file=sys.stderr)
        return 1

    return run


class ArgumentParser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
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
