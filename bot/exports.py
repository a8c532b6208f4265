"""Writing spreadsheets: one writer for every export, report and console download.

Text that comes from people or the directory (a hazard description, a member's name) may start
with `=`, `+`, `-`, `@`, a tab or a carriage return: a spreadsheet would run it as a formula
(CSV/formula injection). Every writer goes through `set_cell` / `append_row` (XLSX: always a
string cell, never a formula) or `csv_field` (CSV: a leading apostrophe, as OWASP advises).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


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
        append_row(ws, header)
        for row in rows:
            append_row(ws, row)
        ws.freeze_panes = "A2"
    wb.save(str(path))


def append_row(ws: Any, values: Iterable[Any]) -> None:
    """`ws.append` that never writes a formula: every str is a string cell."""
    values = list(values)
    ws.append([_cell(v) for v in values])
    if values:
        # The row just appended. Not ws.max_row: openpyxl computes that over every cell of
        # the sheet, which made writing a sheet quadratic (20 s for the campaign summary).
        row = ws._current_row
        for column, value in enumerate(values, start=1):
            if isinstance(value, str):
                _as_text(ws.cell(row=row, column=column))


def set_cell(ws: Any, row: int, column: int, value: Any) -> Any:
    """`ws.cell(row, column, value)` that never writes a formula; returns the cell."""
    cell = ws.cell(row=row, column=column)
    cell.value = _cell(value)
    if isinstance(value, str):
        _as_text(cell)
    return cell


def csv_field(value: Any) -> Any:
    """A CSV field a spreadsheet will not run: text starting with a formula trigger gets a
    leading apostrophe (`csv_text` takes it off again on import). Text that already is
    apostrophes before a trigger gets one more, so the round trip is exact."""
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def csv_text(value: Any) -> Any:
    """The text `csv_field` wrote: the apostrophe it added before a formula trigger goes."""
    if (
        isinstance(value, str)
        and value.startswith("'")
        and value.lstrip("'").startswith(FORMULA_TRIGGERS)
    ):
        return value[1:]
    return value


def _as_text(cell: Any) -> None:
    # openpyxl binds "=..." as a formula and "#N/A" as an error; a string cell is shown as
    # written. quotePrefix keeps it text when someone edits the cell in Excel.
    cell.data_type = "s"
    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_TRIGGERS):
        cell.quotePrefix = True


def _cell(value: Any) -> Any:
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return value.replace(tzinfo=None)
    return value
