"""`safetybot export <name> …`: one sub-command group shared by every feature.

A feature module registers its export when it is imported (handlers modules are imported
before the parser is built):

    register_export("pledges", "责任书签署情况 (xlsx)", add_args, run)

`add_args(parser)` adds the export's own arguments; `run(args) -> int` does the work with
`args.settings` available, like any other sub-command.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AddArgs = Callable[[argparse.ArgumentParser], None]
RunExport = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class ExportSpec:
    name: str
    help: str
    add_args: AddArgs
    run: RunExport


EXPORTS: dict[str, ExportSpec] = {}


def register_export(name: str, help: str, add_args: AddArgs, run: RunExport) -> None:
    """Register `safetybot export <name>`. Registering the same name again replaces it
    (a module imported twice must not fail)."""
    EXPORTS[name] = ExportSpec(name, help, add_args, run)


def add_export_parser(subparsers: Any) -> None:
    """Add the `export` group with one sub-command per registered export."""
    import handlers

    for module in handlers.FEATURES:  # features register their exports on import
        importlib.import_module(module)
    parser = subparsers.add_parser("export", help="export campaign records to a file")
    group = parser.add_subparsers(dest="export", required=True, metavar="WHAT")
    for spec in sorted(EXPORTS.values(), key=lambda s: s.name):
        p = group.add_parser(spec.name, help=spec.help)
        spec.add_args(p)
        p.set_defaults(func=spec.run)


def write_xlsx(
    path: str | Path, sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]
) -> None:
    """Write sheets of (title, header row, rows) to an .xlsx file with openpyxl.

    Aware datetimes are written as naive local times (Excel has no time zones); callers
    convert to Asia/Shanghai first.
    """
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for title, header, rows in sheets:
        ws = wb.create_sheet(title=title[:31])  # Excel limits sheet titles to 31 characters
        ws.append(list(header))
        for row in rows:
            ws.append([_cell(v) for v in row])
        ws.freeze_panes = "A2"
    wb.save(str(path))


def _cell(value: Any) -> Any:
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return value.replace(tzinfo=None)
    return value
