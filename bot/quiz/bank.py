"""The question bank: the builtin YAML files in content/questions, CSV/XLSX import and export.

The database table `questions` is what the quiz draws from. Builtin questions are synced from
the YAML files (on first use in a process and by `safetybot questions sync`); an import adds or
replaces questions with origin "import", which a later builtin sync leaves alone.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import bank_cache, content
from bot.db import on_commit, upsert_insert
from bot.models import Question
from bot.quiz.answers import LETTERS, parse_judge_value
from bot.quiz.sheets import (  # noqa: F401 - BadFile, read_rows: the bank's file API
    COLUMNS,
    OPTION_COLUMNS,
    BadFile,
    ImportFailed,
    read_rows,
    write_rows,
)
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
        problems.append("编号为空或含有字母、数字、- _ . 以外的字符")
    if not _THEME.match(theme):
        # No list here: the builtin bank is validated while it loads (see the template's
        # 主题 sheet, or the console's theme menu, for the names).
        problems.append(f"主题「{raw.get('theme') or ''}」不存在，请填写导入模板「主题」表中的名称")
    if not qtype:
        problems.append(f"题型「{raw.get('type') or ''}」无效，应为 单选、多选 或 判断")
    if not stem:
        problems.append("题干为空")
    if not source:
        problems.append("出处为空")
    answer = ""
    if qtype == "judge":
        if options:
            problems.append("判断题不应有选项")
        answer = parse_judge_value(answer_raw) or ""
        if not answer:
            problems.append(f"判断题答案「{answer_raw}」无效，应为 对 或 错")
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


# How long a process trusts its last look at the question files' modification times.
STAMP_SECONDS = 1.0
_stamps: dict[str, tuple[float, tuple]] = {}


def load_builtin() -> Bank:
    """Every content/questions/*.yaml, validated. Bad questions are left out and listed.

    Cached until a file changes (it runs on every first 答题 through ensure_bank). The files'
    modification times are looked at once a second at most: listing and stat-ing them cost
    more than the rest of a first 答题's Python, and a deployed file is seen a second later."""
    folder = str(content.content_dir() / "questions")
    now = time.monotonic()
    seen = _stamps.get(folder)
    if seen is None or now - seen[0] >= STAMP_SECONDS:
        files = sorted(Path(folder).glob("*.yaml"))
        seen = _stamps[folder] = (now, tuple((p.name, p.stat().st_mtime_ns) for p in files))
    return _load_builtin(folder, seen[1])


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
    bank_cache.forget(session)  # this transaction's own reads must see these rows
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
    bank_cache.forget(session)  # this transaction's own reads must see the synced rows
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
    on_commit(session, lambda: _synced.add(key))


# -- import / export --------------------------------------------------------------------------
def row_to_question(row: dict[str, Any]) -> dict[str, Any]:
    values = {
        k: row.get(k) for k in ("id", "theme", "type", "stem", "answer", "explanation", "source")
    }
    values["options"] = [row.get(c) for c in OPTION_COLUMNS if str(row.get(c) or "").strip()]
    values["theme"] = theme_key(str(values["theme"] or ""))
    if not str(values["id"] or "").strip() and values["stem"]:
        # A bad theme is reported as such, not as a missing id as well.
        prefix = values["theme"] if _THEME.match(values["theme"]) else "q"
        values["id"] = stem_id(prefix, str(values["stem"]))
    return values


def stem_id(theme: str, stem: str) -> str:
    """The id of an imported question that came without one: the same stem gets the same id,
    so importing a corrected file again replaces the question instead of adding it twice."""
    return f"{theme}-{hashlib.sha256(stem_key(stem).encode()).hexdigest()[:8]}"


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


TYPE_NAMES = {"single": "单选", "multiple": "多选", "judge": "判断"}


def question_row(q: Question, titles: dict[str, str] | None = None) -> list[Any]:
    """A question as a file row: the theme by its title and the type in words, as people
    fill in the template (the import reads both back)."""
    titles = theme_titles() if titles is None else titles
    options = list(q.options or []) + [""] * (len(OPTION_COLUMNS) - len(q.options or []))
    answer = ("对" if q.answer == "T" else "错") if q.type == "judge" else q.answer
    return [
        q.id,
        titles.get(q.theme, q.theme),
        TYPE_NAMES.get(q.type, q.type),
        q.stem,
        *options[: len(OPTION_COLUMNS)],
        answer,
        q.explanation,
        q.source,
    ]


def export_questions(session: Session, path: str | Path, *, include_inactive: bool = False) -> int:
    stmt = select(Question).order_by(Question.theme, Question.id)
    if not include_inactive:
        stmt = stmt.where(Question.active.is_(True))
    questions = list(session.scalars(stmt))
    titles = theme_titles()
    write_rows(path, [question_row(q, titles) for q in questions])
    return len(questions)


def write_template(path: str | Path) -> None:
    """`safetybot questions template FILE.xlsx` and the console's 下载导入模板."""
    from bot.quiz.sheets import write_template as write

    write(path, theme_titles())


def next_id(session: Session, theme: str) -> str:
    """fire-101 after fire-100: the id of a question an officer adds in the console."""
    taken = session.scalars(select(Question.id).where(Question.id.like(f"{theme}-%")))
    numbers = [int(m.group(1)) for i in taken if (m := re.fullmatch(rf"{theme}-(\d+)", i))]
    return f"{theme}-{max(numbers, default=0) + 1:03d}"


def save_question(
    session: Session, raw: dict[str, Any], now: datetime, question: Question | None = None
) -> tuple[Question | None, list[str]]:
    """Add a question (`question` None: it gets the theme's next id) or change one, after the
    same checks as an import (answer letters among the options, one answer for 单选 …) and
    that no other active question has the same stem. (the saved row, problems in Chinese)"""
    raw = {**raw, "theme": theme_key(str(raw.get("theme") or ""))}
    if question is None:
        raw["id"] = next_id(session, raw["theme"]) if _THEME.match(raw["theme"]) else "x"
    values, problems = clean_question(raw)
    if values is None:
        return None, problems
    key = stem_key(values["stem"])
    for qid, stem in session.execute(
        select(Question.id, Question.stem).where(Question.active.is_(True))
    ):
        if qid != values["id"] and stem_key(stem) == key:
            return None, [f"题干与题库中的 {qid} 重复"]
    if question is None:
        question = Question(id=values["id"], active=True)
        session.add(question)
    for name, value in values.items():
        setattr(question, name, value)
    question.origin = "import"  # a later builtin sync must not undo the officer's change
    question.updated_at = now
    session.flush()
    bank_cache.forget(session)
    return question, []


def theme_key(name: str) -> str:
    """A theme as a file or form names it: its key (fire), its title (消防安全与生命通道) or a
    part of one title (消防). Anything else comes back as typed (validation refuses it)."""
    name = (name or "").strip()
    titles = theme_titles()
    if name.lower() in titles:
        return name.lower()
    exact = [k for k, title in titles.items() if title == name]
    matches = exact or [k for k, title in titles.items() if name and name in title]
    return matches[0] if len(matches) == 1 else name


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
