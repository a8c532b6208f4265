"""The knowledge base: `safetybot knowledge check` on good and bad folders (file and line in
every message), the loader's refusals, and retrieval quality on the tuning set."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.knowledge import loader

DATA = Path(__file__).parent / "data"
GOOD, BAD = DATA / "knowledge_sample", DATA / "knowledge_bad"


def run(argv, capsys) -> tuple[int, list[str]]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, [line for line in (out + err).splitlines() if line.strip()]


def test_check_passes_on_a_good_folder(capsys):
    status, lines = run(["knowledge", "check", "--dir", str(GOOD)], capsys)
    assert status == 0 and lines == ["知识库检查通过：10 条"]


def test_check_lists_every_problem_with_file_and_line(capsys):
    status, lines = run(["knowledge", "check", "--dir", str(BAD)], capsys)
    assert status == 1
    expected = [
        "fire.yaml:9: 缺少字段「source」",
        "fire.yaml:13: 编号「fire-extinguisher-use」重复（第一次在 fire.yaml:4）",
        "fire.yaml:21: 未知字段「answr」",
        "fire.yaml:27: 答案里的 {campaign_month} 不认识",
        "fire.yaml:31: 问法「灭火器使用方法」重复（已在 fire.yaml:6（fire-extinguisher-use））",
        "traffic.yaml:1: theme「交通」应是小写英文单词",
        "traffic.yaml:4: 编号「road-belt」应以「traffic-」开头",
        "traffic.yaml:6: alternatives 应有 3 至 6 种问法",
    ]
    for start in expected:
        assert any(line.startswith(start) for line in lines), (start, lines)
    assert len(lines) == len(expected), lines
    assert "Traceback" not in "\n".join(lines)


def test_broken_yaml_is_one_line_with_its_line(tmp_path, capsys):
    (tmp_path / "fire.yaml").write_text("theme: fire\ntitle: 消防\nentries:\n  - id: [\n", "utf-8")
    status, lines = run(["knowledge", "check", "--dir", str(tmp_path)], capsys)
    assert status == 1 and len(lines) == 1 and lines[0].startswith("fire.yaml:5: YAML 格式错误")


def test_the_loader_keeps_the_valid_entries_of_a_bad_folder():
    kb = loader.load(BAD, secondary=False)
    assert sorted(d.id for d in kb.entries) == ["fire-extinguisher-use"]
    assert kb.titles["fire"] == "消防安全"


def test_the_content_vocabulary_is_valid():
    problems: list[str] = []
    vocab = loader.load_vocabulary(
        loader.content.content_dir() / "knowledge" / "synonyms.yaml", problems
    )
    assert problems == [] and len(vocab.synonyms) >= 40


def test_secondary_documents_are_searchable_with_their_source(monkeypatch):
    monkeypatch.setenv("SAFETYBOT_KNOWLEDGE_DIR", str(GOOD))
    from bot.knowledge.index import get_index

    index = get_index()
    quiz = [d for d in index.docs if d.kind == "quiz"]
    tips = [d for d in index.docs if d.kind == "tip"]
    assert quiz and tips and all(d.source for d in quiz)
    hit = index.search(quiz[0].question)[0]
    assert hit.doc.id == quiz[0].id


@pytest.mark.parametrize("question", ["灭火筒怎么用", "被电到了", "电梯里出不来了", "CPR"])
def test_synonyms_reach_the_entry(monkeypatch, question):
    monkeypatch.setenv("SAFETYBOT_KNOWLEDGE_DIR", str(GOOD))
    from bot.knowledge.answers import ANSWERED, decide

    decision = decide(question)
    assert decision.outcome == ANSWERED and decision.best.doc.kind == "entry", decision
