"""Writing spreadsheets: one writer for every export, report and console download."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


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
