"""The question bank: the builtin YAML files, CSV/XLSX import (all or nothing) and export."""

from __future__ import annotations

import csv
from collections import Counter

import pytest
from sqlalchemy import func, select

from bot import content
from bot.db import transaction
from bot.models import Question
from bot.quiz import bank
from bot.quiz.answers import LETTERS

THEMES = (
    "law",
    "fire",
    "electrical",
    "food",
    "elevator",
    "emergency",
    "firstaid",
    "traffic",
    "chemicals",
    "disaster",
)


def test_builtin_bank_is_complete_and_valid():
    """Every builtin question is well-formed; ≥20 per theme, ≥300 in all; no duplicate stems."""
    files = dict(content.load_dir("questions"))
    built = bank.load_builtin()
    assert built.problems == [], "\n".join(built.problems)
    raw_count = sum(len(data.get("questions") or []) for data in files.values())
    assert len(built.questions) == raw_count
    ids = Counter(q["id"] for q in built.questions)
    assert [i for i, n in ids.items() if n > 1] == []
    stems = Counter(bank.stem_key(q["stem"]) for q in built.questions)
    assert [s for s, n in stems.items() if n > 1] == []
    for q in built.questions:
        assert q["source"] and q["explanation"], q["id"]
        assert q["id"].startswith(q["theme"] + "-"), q["id"]
        if q["type"] == "judge":
            assert q["answer"] in ("T", "F")
        else:
            assert set(q["answer"]) <= set(LETTERS[: len(q["options"])]), q["id"]
    for stem, data in files.items():
        assert data["theme"] == stem and data.get("title"), stem
    per_theme = Counter(q["theme"] for q in built.questions)
    missing = [t for t in THEMES if per_theme.get(t, 0) < 20]
    assert missing == [], f"themes with fewer than 20 questions: {missing} ({dict(per_theme)})"
    assert len(built.questions) >= 300


def _count(runtime, **where):
    with runtime.factory() as s:
        stmt = select(func.count()).select_from(Question)
        for k, v in where.items():
            stmt = stmt.where(getattr(Question, k) == v)
        return s.scalar(stmt)


def _sync(runtime):
    with transaction(runtime.factory) as s:
        return bank.sync_builtin(s, runtime.clock())


def _write_csv(path, rows):
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(bank.COLUMNS)
        writer.writerows(rows)


def _row(qid, stem, qtype="single", options=("甲", "乙", "丙", "丁"), answer="A"):
    opts = list(options) + [""] * (6 - len(options))
    return [qid, "fire", qtype, stem, *opts, answer, "解析", "《消防法》"]


def test_sync_is_idempotent_and_keeps_imports(runtime, tmp_path):
    first = _sync(runtime)
    total = _count(runtime)
    assert total == first["questions"] > 0
    assert _sync(runtime)["questions"] == total and _count(runtime) == total
    assert _count(runtime, origin="builtin", active=True) == total


def test_import_with_one_bad_row_imports_nothing(runtime, tmp_path):
    _sync(runtime)
    before = _count(runtime)
    path = tmp_path / "q.csv"
    _write_csv(
        path,
        [
            _row("imp-001", "导入题一？"),
            _row("imp-002", "导入题二？", answer="E"),  # line 3: E is not an option
            _row("imp-003", "导入题三？", qtype="judge", options=(), answer="对"),
        ],
    )
    with transaction(runtime.factory) as s, pytest.raises(bank.ImportFailed) as err:
        bank.import_questions(s, path, runtime.clock())
    assert len(err.value.errors) == 1 and err.value.errors[0].startswith("第3行：")
    assert "不在选项" in err.value.errors[0]
    assert _count(runtime) == before
    # Fixed, the same file imports completely.
    _write_csv(
        path,
        [
            _row("imp-001", "导入题一？"),
            _row("imp-002", "导入题二？", answer="B"),
            _row("imp-003", "导入题三？", qtype="judge", options=(), answer="对"),
        ],
    )
    with transaction(runtime.factory) as s:
        assert bank.import_questions(s, path, runtime.clock()) == 3
    assert _count(runtime) == before + 3 and _count(runtime, origin="import") == 3
    with runtime.factory() as s:
        assert s.get(Question, "imp-003").answer == "T"


def test_import_reports_duplicates_and_missing_columns(runtime, tmp_path):
    _sync(runtime)
    with runtime.factory() as s:
        existing = s.scalar(select(Question).limit(1))
    path = tmp_path / "dup.csv"
    _write_csv(
        path, [_row("imp-1", "同一题？"), _row("imp-2", "同一题？"), _row("imp-3", existing.stem)]
    )
    with transaction(runtime.factory) as s, pytest.raises(bank.ImportFailed) as err:
        bank.import_questions(s, path, runtime.clock())
    text = "\n".join(err.value.errors)
    assert "第3行：题干与第2行重复" in text and f"第4行：题干与题库中的 {existing.id} 重复" in text
    bad = tmp_path / "bad.csv"
    bad.write_text("id,stem\nx,y\n", encoding="utf-8")
    with transaction(runtime.factory) as s, pytest.raises(bank.ImportFailed) as err:
        bank.import_questions(s, bad, runtime.clock())
    assert err.value.errors[0].startswith("第1行：缺少列")


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_export_then_reimport_round_trip(runtime, tmp_path, suffix):
    _sync(runtime)
    path = tmp_path / f"bank.{suffix}"
    with runtime.factory() as s:
        exported = bank.export_questions(s, path)
        before = {
            q.id: (q.theme, q.type, q.stem, q.options, q.answer, q.explanation, q.source)
            for q in s.scalars(select(Question))
        }
    assert exported == len(before)
    rows = bank.read_rows(path)
    assert len(rows) == exported and rows[0][0] == 2
    with transaction(runtime.factory) as s:
        assert bank.import_questions(s, path, runtime.clock()) == exported
    with runtime.factory() as s:
        after = {
            q.id: (q.theme, q.type, q.stem, q.options, q.answer, q.explanation, q.source)
            for q in s.scalars(select(Question))
        }
    assert after == before


def test_cli_questions_import_reports_line(runtime, settings, tmp_path, capsys):
    from bot.cli import build_parser

    path = tmp_path / "q.csv"
    _write_csv(path, [_row("imp-001", "题一？"), _row("imp-002", "", answer="A")])
    args = build_parser().parse_args(["questions", "import", str(path)])
    args.settings = settings
    assert args.func(args) == 1
    err = capsys.readouterr().err
    assert "nothing imported" in err and "第3行：" in err and "题干" in err
    args = build_parser().parse_args(["questions", "sync"])
    args.settings = settings
    assert args.func(args) == 0
    assert "synced" in capsys.readouterr().out
