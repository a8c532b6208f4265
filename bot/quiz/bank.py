"""The question bank: the builtin YAML files in content/questions, CSV/XLSX import and export.

The database table `questions` is what the quiz draws from. Builtin questions are synced from
the YAML files (on first use in a process and by `safetybot questions sync`); an import adds or
replaces questions with origin "import", which a later builtin sync leaves alone.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from bot import content
from bot.db import upsert_insert
from bot.exports import append_row, csv_field, csv_text
from bot.models import Question
from bot.quiz.answers import LETTERS, parse_judge_value
from bot.text import normalize

TYPES = ("single", "multiple", "judge")
TYPE_ALIASES = {
    "single": "single",
    "单选": "single",
    "单选题": "single",
    "multiple": "multiple",
    "多选": "multiple",
    "多选题": "multiple",
    "judge": "judge",
    "判断": "judge",
    "判断题": "judge",
}
OPTION_COLUMNS = [f"option_{c}" for c in "abcdef"]
COLUMNS = ["id", "theme", "type", "stem", *OPTION_COLUMNS, "answer", "explanation", "source"]
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_THEME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def stem_key(stem: str) -> str:
    """Two stems that differ only in spacing or punctuation width are the same question."""

    return re.sub(r"\s+", "", normalize(stem))


def clean_question(raw: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """Validate one question (from YAML or an import row): (canonical values, problems)."""
    problems: list[str] = []
    qid = str(raw.get("id") or "").strip()
    theme = str(raw.get("theme") or "").strip()
    qtype = TYPE_ALIASES.get(str(raw.get("type") or "").strip().lower(), "")
    stem = str(raw.get("stem") or "").strip()
    options = [str(o).strip() for o in (raw.get("options") or []) if str(o).strip() != ""]
    explanation = str(raw.get("explanation") or "").strip()
    source = str(raw.get("source") or "").strip()
    answer_raw = raw.get("answer")
    if not _ID.match(qid):
        problems.append("id 为空或含有字母、数字、- _ . 以外的字符")
    if not _THEME.match(theme):
        problems.append("theme 应为小写英文主题键，如 fire")
    if not qtype:
        problems.append(f"type「{raw.get('type')}」无效，应为 single / multiple / judge")
    if not stem:
        problems.append("stem（题干）为空")
    if not source:
        problems.append("source（出处）为空")
    answer = ""
    if qtype == "judge":
        if options:
            problems.append("判断题不应有选项")
        answer = parse_judge_value(answer_raw) or ""
        if not answer:
            problems.append(f"判断题答案「{answer_raw}」无效，应为 对/错 或 true/false")
    elif qtype:
        if len(options) < 2:
            problems.append("选择题至少需要 2 个选项")
        if len(options) > 6:
            problems.append("选项最多 6 个")
        if len({o for o in options}) != len(options):
            problems.append("选项有重复")
        text = re.sub(r"[\s,，、]+", "", str(answer_raw if answer_raw is not None else "")).upper()
        allowed = LETTERS[: len(options)]
        if (
            not text
            or not text.isascii()
            or not text.isalpha()
            or any(c not in allowed for c in text)
        ):
            problems.append(f"答案「{answer_raw}」不在选项 {allowed or '（无）'} 之中")
        else:
            answer = "".join(sorted(set(text)))
            if qtype == "single" and len(answer) != 1:
                problems.append("单选题只能有一个答案")
            if qtype == "multiple" and len(answer) < 2:
                problems.append("多选题至少要有两个正确选项")
    if problems:
        return None, problems
    return {
        "id": qid,
        "theme": theme,
        "type": qtype,
        "stem": stem,
        "options": options if qtype != "judge" else [],
        "answer": answer,
        "explanation": explanation,
        "source": source,
    }, []


# -- the builtin bank ----------------------------------------------------------------------
@dataclass
class Bank:
    questions: list[dict[str, Any]] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)  # theme -> title
    problems: list[str] = field(default_factory=list)  # "file: id: problem"
    fingerprint: str = ""


def load_builtin() -> Bank:
    """Every content/questions/*.yaml, validated. Bad questions are left out and listed.

    Cached until a file changes (it runs on every quiz message through ensure_bank)."""
    folder = content.content_dir() / "questions"
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.yaml")))
    return _load_builtin(str(folder), stamp)


@lru_cache(maxsize=4)
def _load_builtin(folder: str, stamp: tuple) -> Bank:
    bank = Bank()
    digest = hashlib.sha256()
    for stem, data in content.load_dir("questions"):
        if not isinstance(data, dict):
            bank.problems.append(f"{stem}.yaml: 不是有效的题库文件")
            continue
        theme = str(data.get("theme") or stem)
        bank.titles[theme] = str(data.get("title") or theme)
        for i, raw in enumerate(data.get("questions") or [], start=1):
            if not isinstance(raw, dict):
                bank.problems.append(f"{stem}.yaml: 第{i}题不是映射")
                continue
            values, problems = clean_question({**raw, "theme": raw.get("theme", theme)})
            if problems:
                bank.problems.append(f"{stem}.yaml: {raw.get('id') or i}: {'；'.join(problems)}")
                continue
            bank.questions.append(values)
    digest.update(
        json.dumps([bank.questions, bank.titles], sort_keys=True, ensure_ascii=False).encode()
    )
    bank.fingerprint = digest.hexdigest()
    return bank


def theme_titles() -> dict[str, str]:
    return load_builtin().titles


QUESTION_CONTENT = ("theme", "type", "stem", "options", "answer", "explanation", "source")
# Rows per execute(): one multi-row VALUES of a whole import would pass SQLite's 32,766 bound
# parameters and PostgreSQL's 65,535; executemany in batches stays far below, however large.
UPSERT_BATCH = 1000


def upsert_questions(
    session: Session,
    rows: list[dict[str, Any]],
    *,
    extra_columns: tuple[str, ...] = (),
    where: Any = None,
) -> None:
    """Insert questions by id or overwrite their content (and `extra_columns`), for the rows
    `where` allows: the builtin sync leaves imported rows alone; an import takes any row.
    Written in batches of UPSERT_BATCH rows, all in the caller's transaction."""
    columns = (*QUESTION_CONTENT, *extra_columns, "updated_at")
    for start in range(0, len(rows), UPSERT_BATCH):
        stmt = upsert_insert(session, Question)
        stmt = stmt.on_conflict_do_update(
            index_elements=[Question.id],
            set_={c: getattr(stmt.excluded, c) for c in columns},
            where=where,
        )
        # executemany (insertmanyvalues): compiled once, not once per row as .values(rows) is.
        session.execute(stmt, rows[start : start + UPSERT_BATCH])


def sync_builtin(session: Session, now: datetime, bank: Bank | None = None) -> dict[str, int]:
    """Upsert the builtin questions; builtin rows no longer in the files become inactive.

    Rows an import replaced (origin "import") are left as the import made them.
    """
    bank = bank or load_builtin()
    ids = [q["id"] for q in bank.questions]
    if ids:
        upsert_questions(
            session,
            [{**q, "active": True, "origin": "builtin", "updated_at": now} for q in bank.questions],
            where=Question.origin == "builtin",
        )
    retired = session.execute(
        update(Question)
        .where(
            Question.origin == "builtin", Question.active.is_(True), Question.id.not_in(ids or [""])
        )
        .values(active=False, updated_at=now)
    ).rowcount
    return {"questions": len(ids), "retired": retired or 0, "problems": len(bank.problems)}


_synced: set[tuple[str, str]] = set()
_sync_lock = threading.Lock()


def ensure_bank(session: Session, now: datetime) -> None:
    """Sync the builtin bank once per process and content version (cheap after the first)."""
    bank = load_builtin()
    key = (str(session.get_bind().url), bank.fingerprint)
    if key in _synced:
        return
    with _sync_lock:
        if key in _synced:
            return
        sync_builtin(session, now, bank)
    # Remember it only once committed: until then another thread of this process (gunicorn
    # --threads) would skip the sync yet not see the rows, and answer "no questions".
    event.listen(session, "after_commit", lambda _s: _synced.add(key), once=True)


# -- import / export --------------------------------------------------------------------------
class ImportFailed(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class BadFile(ImportFailed):
    """The file as a whole cannot be read (type, encoding, not a workbook, empty, header):
    one line says why."""

    def __init__(self, message: str) -> None:
        super().__init__([message])


# Excel in China saves CSV as GBK; GB18030 is its superset. UTF-8 (BOM or not) comes first:
# a UTF-8 file is almost never valid GB18030 by accident the other way round.
CSV_ENCODINGS = ("utf-8-sig", "gb18030")


def read_rows(path: str | Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, row) for each data row of a CSV (UTF-8 with or without BOM, or
    GBK/GB18030) or XLSX file. A file that cannot be read raises BadFile."""
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
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if not reader.fieldnames:
            raise BadFile("文件是空的")
        _check_header([h.strip() for h in reader.fieldnames])
        start = reader.line_num + 1
        for row in reader:
            values = {(k.strip() if isinstance(k, str) else k): csv_text(v) for k, v in row.items()}
            if any(str(v or "").strip() for v in values.values()):
                rows.append((start, values))
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
        _check_header(header)
        rows = []
        for number, values in enumerate(it, start=2):
            if values is None or all(v is None or str(v).strip() == "" for v in values):
                continue
            rows.append(
                (
                    number,
                    {h: ("" if v is None else v) for h, v in zip(header, values, strict=False)},
                )
            )
    except BadFile:
        raise
    except Exception:  # noqa: BLE001 - a damaged sheet inside a valid zip
        raise BadFile("不是有效的 .xlsx 文件（请用 Excel 或 WPS 另存为 .xlsx）") from None
    finally:
        wb.close()
    return rows


def _check_header(header: list[str]) -> None:
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise BadFile(f"第1行：缺少列 {', '.join(missing)}（需要 {', '.join(COLUMNS)}）")


def row_to_question(row: dict[str, Any]) -> dict[str, Any]:
    values = {
        k: row.get(k) for k in ("id", "theme", "type", "stem", "answer", "explanation", "source")
    }
    values["options"] = [row.get(c) for c in OPTION_COLUMNS if str(row.get(c) or "").strip()]
    return values


def import_questions(session: Session, path: str | Path, now: datetime) -> int:
    """Import every row or none: any bad row raises ImportFailed with "第N行：reason" lines."""
    rows = read_rows(path)
    errors: list[str] = []
    cleaned: list[dict[str, Any]] = []
    seen_ids: dict[str, int] = {}
    seen_stems: dict[str, int] = {}
    for line, row in rows:
        values, problems = clean_question(row_to_question(row))
        if values is not None:
            if values["id"] in seen_ids:
                problems.append(f"id {values['id']} 与第{seen_ids[values['id']]}行重复")
            key = stem_key(values["stem"])
            if key in seen_stems:
                problems.append(f"题干与第{seen_stems[key]}行重复")
            seen_ids.setdefault(values["id"], line)
            seen_stems.setdefault(key, line)
        if problems:
            errors.append(f"第{line}行：{'；'.join(problems)}")
        elif values is not None:
            cleaned.append({**values, "_line": line})
    # A stem that already exists under another id would be a duplicate question.
    existing = {
        stem_key(stem): qid
        for qid, stem in session.execute(
            select(Question.id, Question.stem).where(Question.active.is_(True))
        )
    }
    for values in cleaned:
        other = existing.get(stem_key(values["stem"]))
        if other is not None and other != values["id"]:
            errors.append(f"第{values['_line']}行：题干与题库中的 {other} 重复")
    if errors:
        raise ImportFailed(errors)
    if cleaned:
        upsert_questions(
            session,
            [
                {
                    **{k: v for k, v in q.items() if k != "_line"},
                    "active": True,
                    "origin": "import",
                    "updated_at": now,
                }
                for q in cleaned
            ],
            extra_columns=("active", "origin"),
        )
    return len(cleaned)


def question_row(q: Question) -> list[Any]:
    options = list(q.options or []) + [""] * (len(OPTION_COLUMNS) - len(q.options or []))
    answer = ("对" if q.answer == "T" else "错") if q.type == "judge" else q.answer
    return [
        q.id,
        q.theme,
        q.type,
        q.stem,
        *options[: len(OPTION_COLUMNS)],
        answer,
        q.explanation,
        q.source,
    ]


def export_questions(session: Session, path: str | Path, *, include_inactive: bool = False) -> int:
    path = Path(path)
    stmt = select(Question).order_by(Question.theme, Question.id)
    if not include_inactive:
        stmt = stmt.where(Question.active.is_(True))
    questions = list(session.scalars(stmt))
    suffix = path.suffix.lower()
    if suffix == ".csv":
        # utf-8-sig so Excel opens the Chinese text correctly.
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            writer.writerows([csv_field(v) for v in question_row(q)] for q in questions)
    elif suffix == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = "questions"
        append_row(ws, COLUMNS)
        for q in questions:
            append_row(ws, question_row(q))
        wb.save(path)
    else:
        raise ValueError(f"unsupported file type {suffix!r}: use .csv or .xlsx")
    return len(questions)


def resolve_theme(name: str) -> tuple[str | None, bool]:
    """练习 <主题>: (theme key or None for all, found); a key or one title containing `name`."""
    name = name.strip()
    if not name or name in ("全部", "所有", "全部主题"):
        return None, True
    titles = theme_titles()
    if name.lower() in titles:
        return name.lower(), True
    matches = [k for k, title in titles.items() if name in title]
    if len(matches) == 1:
        return matches[0], True
    return None, False
