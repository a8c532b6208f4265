"""content/learning/<id>.yaml: one article or accident case per file, validated at start-up.

A file that does not follow the agreed schema (an unknown field, a missing source, a check
question id that is not in the quiz bank …) is refused with its file and line, so a mistake
in the content never reaches a person as a half-shown item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot import content

KINDS = ("article", "case")
COMMON = {"id", "kind", "title", "summary", "sources", "question_ids", "questions"}
FIELDS = {
    "article": COMMON | {"body"},
    "case": COMMON
    | {"happened", "place", "what_happened", "causes", "lessons", "laws_broken", "report"},
}
REQUIRED = {
    "article": ("title", "summary", "body", "sources"),
    "case": ("title", "summary", "happened", "place", "what_happened", "causes", "lessons",
             "sources"),
}  # fmt: skip
QUESTION_FIELDS = {"id", "type", "stem", "options", "answer", "explanation", "source", "theme"}
SUMMARY_MAX = 60
BODY_MAX = 1500
MAX_QUESTIONS = 3
LETTERS = "ABCDEF"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_TRUE = {"true", "对", "正确", "t", "√"}
_FALSE = {"false", "错", "错误", "f", "×"}


class LearningContentError(ValueError):
    """Bad files in content/learning: one "file:line: problem" per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class CheckQuestion:
    id: str
    type: str  # single | multiple | judge
    stem: str
    options: tuple[str, ...]
    answer: str  # stored letters ("AC") or "T"/"F"
    explanation: str = ""
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "stem": self.stem,
            "options": list(self.options),
            "answer": self.answer,
            "explanation": self.explanation,
            "source": self.source,
        }


@dataclass(frozen=True)
class LearningItem:
    id: str
    kind: str
    title: str
    summary: str
    sources: tuple[str, ...]
    body: str = ""
    happened: date | None = None
    place: str = ""
    what_happened: str = ""
    causes: tuple[str, ...] = ()
    lessons: tuple[str, ...] = ()
    laws_broken: tuple[str, ...] = ()
    report: str = ""
    questions: tuple[CheckQuestion, ...] = field(default=())


def learning_dir() -> Path:
    return content.content_dir() / "learning"


def load_items(folder: Path | None = None) -> dict[str, LearningItem]:
    """Every item by id; raises LearningContentError listing every bad file and line.
    Cached until a file (or the quiz bank it refers to) changes."""
    folder = folder or learning_dir()
    bank = content.content_dir() / "questions"
    stamp = tuple(
        (str(p), p.stat().st_mtime_ns)
        for d in (folder, bank)
        if d.is_dir()
        for p in sorted(d.glob("*.yaml"))
    )
    return _load(str(folder), str(bank), stamp)


@lru_cache(maxsize=8)
def _load(folder: str, bank: str, stamp: tuple) -> dict[str, LearningItem]:
    known = bank_questions(Path(bank))
    items: dict[str, LearningItem] = {}
    problems: list[str] = []
    for path in sorted(Path(folder).glob("*.yaml")):
        item, found = parse_file(path, known)
        problems += found
        if item is not None:
            items[item.id] = item
    if problems:
        raise LearningContentError(problems)
    return items


def bank_questions(folder: Path) -> dict[str, dict[str, Any]]:
    """The quiz bank's questions by id, read from its YAML files (not through bot.quiz:
    features do not import each other)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for q in data.get("questions") or [] if isinstance(data, dict) else []:
            if isinstance(q, dict) and q.get("id"):
                out[str(q["id"])] = q
    return out


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def parse_file(
    path: Path, known: dict[str, dict[str, Any]]
) -> tuple[LearningItem | None, list[str]]:
    """(the item or None, ["file:line: problem"])."""
    name = f"content/learning/{path.name}"
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        return None, [f"{name}:{line}: YAML 格式错误（{getattr(exc, 'problem', exc)}）"]
    if not isinstance(root, yaml.MappingNode):
        return None, [f"{name}:1: 应为一个条目（键: 值 的映射）"]
    problems: list[str] = []
    lines: dict[str, int] = {}
    values: dict[str, Any] = {}
    for key_node, value_node in root.value:
        key = str(key_node.value)
        lines[key] = _line(key_node)
        values[key] = yaml.safe_load(yaml.serialize(value_node))
        values[f"_node_{key}"] = value_node

    def problem(key: str | None, text: str, line: int | None = None) -> None:
        problems.append(f"{name}:{line or lines.get(key or '', 1)}: {text}")

    kind = values.get("kind")
    if kind not in KINDS:
        problem("kind", f"kind 应为 article 或 case，而不是「{kind}」")
        return None, problems
    for key in lines:
        if key not in FIELDS[kind]:
            problem(key, f"未知字段「{key}」（{kind} 可用：{'、'.join(sorted(FIELDS[kind]))}）")
    item_id = str(values.get("id") or "")
    if item_id != path.stem:
        problem("id", f"id「{item_id}」应与文件名「{path.stem}」相同")
    elif not _ID.match(item_id):
        problem("id", "id 只能用小写字母、数字和 -")
    for key in REQUIRED[kind]:
        if values.get(key) in (None, "", []):
            problem(key if key in lines else None, f"缺少「{key}」")
    summary = str(values.get("summary") or "")
    if len(summary) > SUMMARY_MAX:
        problem("summary", f"summary 超过 {SUMMARY_MAX} 字（{len(summary)} 字）")
    body = str(values.get("body") or "")
    if len(body) > BODY_MAX:
        problem("body", f"body 超过 {BODY_MAX} 字（{len(body)} 字）")
    for key in ("sources", "causes", "lessons", "laws_broken"):
        value = values.get(key)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            problem(key, f"{key} 应为非空文字的列表")
    happened = values.get("happened")
    if kind == "case" and happened is not None and not isinstance(happened, date):
        problem("happened", "happened 应为日期，如 2023-04-18")
    questions = _questions(values, lines, known, problem)
    if problems:
        return None, problems
    return LearningItem(
        id=item_id,
        kind=kind,
        title=str(values["title"]).strip(),
        summary=summary.strip(),
        sources=tuple(values.get("sources") or ()),
        body=body.strip(),
        happened=happened if isinstance(happened, date) else None,
        place=str(values.get("place") or ""),
        what_happened=str(values.get("what_happened") or "").strip(),
        causes=tuple(values.get("causes") or ()),
        lessons=tuple(values.get("lessons") or ()),
        laws_broken=tuple(values.get("laws_broken") or ()),
        report=str(values.get("report") or ""),
        questions=tuple(questions),
    ), []


def _questions(values, lines, known, problem) -> list[CheckQuestion]:
    out: list[CheckQuestion] = []
    ids = values.get("question_ids") or []
    id_nodes = values.get("_node_question_ids")
    if not isinstance(ids, list):
        problem("question_ids", "question_ids 应为题号列表")
        ids = []
    for i, qid in enumerate(ids):
        line = _line(id_nodes.value[i]) if isinstance(id_nodes, yaml.SequenceNode) else None
        raw = known.get(str(qid))
        if raw is None:
            problem("question_ids", f"题库中没有题号「{qid}」（见 content/questions/）", line)
            continue
        q, why = clean_question(raw)
        if q is None:
            problem("question_ids", f"题库题目「{qid}」无法使用：{why}", line)
        else:
            out.append(q)
    inline = values.get("questions") or []
    nodes = values.get("_node_questions")
    if not isinstance(inline, list):
        problem("questions", "questions 应为题目列表")
        inline = []
    for i, raw in enumerate(inline):
        line = _line(nodes.value[i]) if isinstance(nodes, yaml.SequenceNode) else None
        if not isinstance(raw, dict):
            problem("questions", "每道题应为映射（id、type、stem …）", line)
            continue
        unknown = sorted(set(raw) - QUESTION_FIELDS)
        if unknown:
            problem("questions", f"题目中有未知字段「{'、'.join(unknown)}」", line)
        q, why = clean_question(raw)
        if q is None:
            problem("questions", f"题目「{raw.get('id')}」：{why}", line)
        else:
            out.append(q)
    if len(out) > MAX_QUESTIONS:
        problem("questions", f"检查题最多 {MAX_QUESTIONS} 道（现有 {len(out)} 道）")
    seen = [q.id for q in out]
    if len(set(seen)) != len(seen):
        problem("questions", "检查题题号重复")
    return out


def clean_question(raw: dict[str, Any]) -> tuple[CheckQuestion | None, str]:
    """A check question in the quiz bank's fields, or why not."""
    qtype = str(raw.get("type") or "")
    stem = str(raw.get("stem") or "").strip()
    options = [str(o).strip() for o in raw.get("options") or []]
    source = str(raw.get("source") or "").strip()
    if not raw.get("id"):
        return None, "缺少 id"
    if qtype not in ("single", "multiple", "judge"):
        return None, f"type「{qtype}」应为 single / multiple / judge"
    if not stem:
        return None, "缺少 stem（题干）"
    if not source:
        return None, "缺少 source（出处）"
    answer_raw = raw.get("answer")
    if qtype == "judge":
        value = str(answer_raw).strip().lower()
        if isinstance(answer_raw, bool):
            answer = "T" if answer_raw else "F"
        elif value in _TRUE or value in _FALSE:
            answer = "T" if value in _TRUE else "F"
        else:
            return None, f"判断题答案「{answer_raw}」应为 true/false 或 对/错"
        options = []
    else:
        if not 2 <= len(options) <= len(LETTERS):
            return None, "选择题应有 2 到 6 个选项"
        answer = "".join(sorted(set(re.sub(r"[\s,，、]+", "", str(answer_raw or "")).upper())))
        if not answer or any(ch not in LETTERS[: len(options)] for ch in answer):
            return None, f"答案「{answer_raw}」不在选项之中"
        if qtype == "single" and len(answer) != 1:
            return None, "单选题只能有一个答案"
    return CheckQuestion(
        id=str(raw["id"]),
        type=qtype,
        stem=stem,
        options=tuple(options),
        answer=answer,
        explanation=str(raw.get("explanation") or "").strip(),
        source=source,
    ), ""
