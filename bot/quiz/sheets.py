"""Question files as people fill them in: CSV or XLSX, with Chinese or English headers.

A safety officer gets a template (`write_template`: the Chinese headers and one example row),
fills it in Excel or WPS and imports it; `read_rows` gives every row keyed by the canonical
column names (id, theme, type, stem, option_a…option_f, answer, explanation, source), whichever
header language the file used. Validation is the bank's (bot.quiz.bank.clean_question).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from bot.exports import append_row, csv_text

OPTION_COLUMNS = [f"option_{c}" for c in "abcdef"]
COLUMNS = ["id", "theme", "type", "stem", *OPTION_COLUMNS, "answer", "explanation", "source"]
# The headers people read (exports and the template), one per canonical column.
CHINESE = {
    "id": "编号",
    "theme": "主题",
    "type": "题型",
    "stem": "题干",
    **{f"option_{c}": f"选项{c.upper()}" for c in "abcdef"},
    "answer": "答案",
    "explanation": "解析",
    "source": "出处",
}
HEADER = [CHINESE[c] for c in COLUMNS]
# Every header a file may use for a column: the canonical name, the Chinese one, and the
# spellings Excel users type (选项 A, 选项a, 题目, 类型).
ALIASES: dict[str, str] = {
    **{c: c for c in COLUMNS},
    **{zh: c for c, zh in CHINESE.items()},
    **{f"选项 {c.upper()}": f"option_{c}" for c in "abcdef"},
    **{f"选项{c}": f"option_{c}" for c in "abcdef"},
    "题目": "stem",
    "类型": "type",
}
# A file must say these; the others may be left out (no id: the bank makes one from the stem;
# no options: judge questions only; no explanation).
REQUIRED = ["theme", "type", "stem", "answer", "source"]
EXAMPLE = {
    "id": "",
    "theme": "消防安全与生命通道",
    "type": "单选",
    "stem": "发现楼道内的安全出口被杂物堵住，应当怎么做？",
    "option_a": "绕开走，不影响自己就行",
    "option_b": "立即清理或报告，保持疏散通道畅通",
    "option_c": "等下次检查时再说",
    "answer": "B",
    "explanation": "占用、堵塞、封闭疏散通道和安全出口是法律禁止的行为，发现后应及时清理或报告。",
    "source": "《中华人民共和国消防法》第二十八条",
}

# Excel in China saves CSV as GBK; GB18030 is its superset. UTF-8 (BOM or not) comes first:
# a UTF-8 file is almost never valid GB18030 by accident the other way round.
CSV_ENCODINGS = ("utf-8-sig", "gb18030")


class ImportFailed(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class BadFile(ImportFailed):
    """The file as a whole cannot be read (type, encoding, not a workbook, empty, header):
    one line says why."""

    def __init__(self, message: str) -> None:
        super().__init__([message])


def read_rows(path: str | Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, row by canonical column) for each data row of a CSV (UTF-8 with or
    without BOM, or GBK/GB18030) or XLSX file. A file that cannot be read raises BadFile."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise BadFile(f"不支持的文件类型「{suffix}」：请使用 .csv 或 .xlsx")
    if path.stat().st_size == 0:
        raise BadFile("文件是空的")
    rows = _read_csv(path) if suffix == ".csv" else _read_xlsx(path)
    if not rows:
        raise BadFile("文件中没有题目")
    return rows


def canonical_header(header: list[str]) -> list[str]:
    """The file's header in canonical names; BadFile when a required column is missing."""
    names = [ALIASES.get(h.strip(), ALIASES.get(h.strip().lower(), h.strip())) for h in header]
    missing = [CHINESE[c] for c in REQUIRED if c not in names]
    if missing:
        raise BadFile(f"第1行：缺少列 {'、'.join(missing)}（表头见导入模板：{'、'.join(HEADER)}）")
    return names


def _read_csv(path: Path) -> list[tuple[int, dict[str, Any]]]:
    data = path.read_bytes()
    for encoding in CSV_ENCODINGS:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise BadFile("无法识别文件编码：请另存为 UTF-8 或 GBK 编码的 CSV")
    if "\x00" in text:
        raise BadFile("不是 CSV 文本文件")
    rows = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise BadFile("文件是空的")
        names = canonical_header(header)
        start = reader.line_num + 1
        for values in reader:
            row = {n: csv_text(v) for n, v in zip(names, values, strict=False)}
            if any(str(v or "").strip() for v in row.values()):
                rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise BadFile(f"第{reader.line_num}行：CSV 格式错误（{exc}）") from None
    return rows


def _read_xlsx(path: Path) -> list[tuple[int, dict[str, Any]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - zip, XML and openpyxl errors all mean the same
        raise BadFile("不是有效的 .xlsx 文件（请用 Excel 或 WPS 另存为 .xlsx）") from None
    try:
        ws = wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(it, ())]
        if not any(header):
            raise BadFile("文件是空的")
        names = canonical_header(header)
        rows = []
        for number, values in enumerate(it, start=2):
            if values is None or all(v is None or str(v).strip() == "" for v in values):
                continue
            rows.append(
                (number, {h: ("" if v is None else v) for h, v in zip(names, values, strict=False)})
            )
    except BadFile:
        raise
    except Exception:  # noqa: BLE001 - a damaged sheet inside a valid zip
        raise BadFile("不是有效的 .xlsx 文件（请用 Excel 或 WPS 另存为 .xlsx）") from None
    finally:
        wb.close()
    return rows


def write_rows(path: str | Path, rows: list[list[Any]], sheet: str = "题库") -> None:
    """A question file with the Chinese header: .csv (UTF-8 with BOM, so Excel reads the
    Chinese) or .xlsx. Cells go through bot.exports (no formulas)."""
    from bot.exports import csv_field

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(HEADER)
            writer.writerows([csv_field(v) for v in row] for row in rows)
    elif suffix == ".xlsx":
        from openpyxl import Workbook
        from openpyxl.styles import Font

        wb = Workbook()
        ws = wb.active
        ws.title = sheet
        append_row(ws, HEADER)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            append_row(ws, row)
        for column, width in zip(
            "ABCDEFGHIJKLM", (14, 18, 8, 40, *[18] * 6, 8, 40, 30), strict=True
        ):
            ws.column_dimensions[column].width = width
        ws.freeze_panes = "A2"
        wb.save(str(path))
    else:
        raise ValueError(f"unsupported file type {suffix!r}: use .csv or .xlsx")


def write_template(path: str | Path, themes: dict[str, str]) -> None:
    """The import template (.xlsx): the Chinese headers and one example row to copy, and a
    second sheet 主题 with the theme names the 主题 column takes (key → title)."""
    from openpyxl import load_workbook

    write_rows(path, [[EXAMPLE.get(c, "") for c in COLUMNS]], sheet="导入模板")
    wb = load_workbook(path)
    ws = wb.create_sheet("主题")
    append_row(ws, ["主题名称（填入「主题」列）"])
    for title in themes.values():
        append_row(ws, [title])
    ws.column_dimensions["A"].width = 40
    wb.save(str(path))
