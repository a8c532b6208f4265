"""Writing spreadsheets: one writer for every export, report and console download.

Text that comes from people or the directory (a hazard description, a member's name) may start
with `=`, `+`, `-`, `@`, a tab or a carriage return: a spreadsheet would run it as a formula
(CSV/formula injection). Every writer goes through `write_xlsx`, `set_cell` / `append_row`
(XLSX: always a string cell, never a formula) or `csv_field` (CSV: a leading apostrophe, as
OWASP advises).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PERCENT = "0.0%"
# Column widths of a formatted sheet: its longest text times this, within these bounds.
_WIDTH_PER_CHARACTER, _MIN_WIDTH, _MAX_WIDTH = 1.6, 8, 60


@dataclass(frozen=True)
class Styled:
    """A value and the number format a spreadsheet shows it in (a rate as a percentage)."""

    value: Any
    number_format: str


def percent(value: float) -> Styled:
    return Styled(value, PERCENT)


def write_xlsx(
    path: str | Path,
    sheets: Iterable[tuple[str, Sequence[Any], Iterable[Sequence[Any]]]],
    *,
    formatted: bool = False,
) -> None:
    """Write sheets of (title, header row, rows) to an .xlsx file, the header frozen.

    Streamed (openpyxl's write-only mode): each row goes to the file as it is appended and
    only the cells that need a style become cell objects, instead of a grid of cells kept
    and walked again at save (the campaign summary's 50,000 cells took seconds that way).
    `formatted` also makes the header bold, each column as wide as its longest text and text
    with line breaks wrap (the rows are read twice then). A value may be `Styled`. Aware
    datetimes are written as naive local times (Excel has no time zones); callers convert
    to Asia/Shanghai first.
    """
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    for title, header, rows in sheets:
        ws = wb.create_sheet(title=title[:31])  # Excel limits sheet titles to 31 characters
        cells = _StreamedCells(ws, formatted)
        if formatted:
            rows = [list(row) for row in rows]
            _size_columns(ws, [header, *rows])
        ws.freeze_panes = "A2"
        ws.append(cells.row(header, header=True))
        for row in rows:
            ws.append(cells.row(row))
    wb.save(str(path))


class _StreamedCells:
    """Values for a write-only sheet's `append`: plain values as they are (openpyxl types
    them), a cell object only where a style or the formula guard is needed."""

    def __init__(self, ws: Any, formatted: bool) -> None:
        from openpyxl.styles import Alignment, Font

        self.ws, self.formatted = ws, formatted
        self.bold = Font(bold=True)
        self.wrap = Alignment(wrap_text=True, vertical="top")

    def row(self, values: Iterable[Any], header: bool = False) -> list[Any]:
        return [self.value(v, header and self.formatted) for v in values]

    def value(self, value: Any, bold: bool = False) -> Any:
        if not bold and (value is None or type(value) in _PLAIN):
            return value  # most cells: nothing to decide
        number_format = None
        if isinstance(value, Styled):
            value, number_format = value.value, value.number_format
        value = _cell(value)
        text = isinstance(value, str)
        wrap = text and self.formatted and "\n" in value
        if not (number_format or bold or wrap or (text and _needs_guard(value))):
            return value
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(self.ws, value=value)
        if text:
            _as_text(cell)
        if number_format:
            cell.number_format = number_format
        if bold:
            cell.font = self.bold
        if wrap:
            cell.alignment = self.wrap
        return cell


# Values openpyxl writes as they are, with no style and nothing to guard.
_PLAIN = frozenset((int, float))
# Texts openpyxl types as error values (openpyxl.cell.cell.ERROR_CODES).
_ERROR_CODES = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))


def _needs_guard(text: str) -> bool:
    """Would openpyxl type this text as anything but a string (a formula, an error code), or
    may a spreadsheet run it when edited?"""
    return text.startswith(FORMULA_TRIGGERS) or text in _ERROR_CODES


def _size_columns(ws: Any, rows: Sequence[Sequence[Any]]) -> None:
    """Each column as wide as its longest value as text (write-only sheets take widths
    before their rows)."""
    from openpyxl.utils import get_column_letter

    longest: dict[int, int] = {}
    for row in rows:
        for column, value in enumerate(row, start=1):
            if isinstance(value, Styled):
                value = value.value
            if value is not None:
                size = len(str(_cell(value)))
                longest[column] = max(longest.get(column, 0), size)
            else:
                longest.setdefault(column, 0)
    for column, size in longest.items():
        width = min(_MAX_WIDTH, max(_MIN_WIDTH, (size or 4) * _WIDTH_PER_CHARACTER))
        ws.column_dimensions[get_column_letter(column)].width = width


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
