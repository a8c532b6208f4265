"""Loading and checking the knowledge base: content/knowledge/<theme>.yaml (one file per
theme), its vocabulary (synonyms.yaml), and the secondary documents that are searchable too:
the quiz explanations (content/questions) and the daily tips (content/tips.yaml).

Every problem names its file and line, so an officer editing the YAML finds it; `safetybot
knowledge check` prints them. The bot itself loads what is valid and leaves the rest out.
"""

from __future__ import annotations

import os
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot import content
from bot.content import texts
from bot.text import normalize

VOCABULARY_FILE = "synonyms.yaml"
TOP_FIELDS = ("theme", "title", "entries")
ENTRY_FIELDS = ("id", "question", "alternatives", "keywords", "answer", "source")
REQUIRED = ("id", "question", "answer", "source")
VOCABULARY_FIELDS = ("synonyms", "words", "topic", "neutral", "stopwords")
PLACEHOLDERS = (
    "campaign_year",
    "campaign_number",
    "campaign_theme",
    "campaign_start",
    "campaign_end",
    "consultation_day",
)
MAX_ANSWER = 300
ALTERNATIVES = (3, 6)
_THEME = re.compile(r"^[a-z][a-z0-9]*$")
_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")
_PUNCT = re.compile(r"[\s?？!！。.,，、~～]+")


@dataclass(frozen=True)
class Document:
    """One searchable thing: a knowledge entry, or a quiz explanation / daily tip (secondary)."""

    id: str  # entry id, "quiz:<question id>" or "tip:<day>"
    kind: str  # "entry" | "quiz" | "tip"
    theme: str
    question: str  # what it answers, as shown in 相关问题
    phrasings: tuple[str, ...]  # question + alternatives (+ the quiz stem / tip title)
    keywords: tuple[str, ...]
    answer: str
    source: str
    file: str = ""
    line: int = 0
    phrase_lines: tuple[int, ...] = ()  # the line of each phrasing (its field's line)


@dataclass
class Vocabulary:
    synonyms: list[list[str]] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    topic: list[str] = field(default_factory=list)
    neutral: list[str] = field(default_factory=list)
    stopwords: list[str] = field(default_factory=list)


@dataclass
class KnowledgeBase:
    entries: list[Document] = field(default_factory=list)
    secondary: list[Document] = field(default_factory=list)
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    titles: dict[str, str] = field(default_factory=dict)  # theme -> title
    problems: list[str] = field(default_factory=list)  # "file:line: problem"

    @property
    def documents(self) -> list[Document]:
        return self.entries + self.secondary

    def get(self, doc_id: str) -> Document | None:
        for doc in self.documents:
            if doc.id == doc_id:
                return doc
        return None


# -- YAML with line numbers ------------------------------------------------------------------
class _Mapping(dict):
    """A YAML mapping that remembers its line and each key's line (1-based)."""

    line: int = 0
    key_lines: dict[str, int]
    repeated: list[tuple[str, int]]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Mapping:
    mapping = _Mapping(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.key_lines, mapping.repeated = {}, []
    for key_node, _ in node.value:
        key, line = str(key_node.value), key_node.start_mark.line + 1
        if key in mapping.key_lines:
            mapping.repeated.append((key, line))
        else:
            mapping.key_lines[key] = line
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problems.append(_problem(path.name, line, "yaml", error=str(exc).splitlines()[0]))
    except OSError as exc:
        problems.append(_problem(path.name, 0, "unreadable", error=exc.strerror or str(exc)))
    return None


def _problem(file: str, line: int, key: str, **values: Any) -> str:
    return f"{file}:{line}: " + texts.get(f"knowledge.check.{key}", **values)


# -- the knowledge entries ---------------------------------------------------------------------
def phrase_key(text: str) -> str:
    """Two phrasings that differ only in spaces, punctuation or letter case are the same."""
    return _PUNCT.sub("", normalize(text).lower())


def campaign_values() -> dict[str, str]:
    """The values an answer may use ({campaign_year} …), from content/campaign.yaml."""
    from bot import campaign

    c = campaign.from_content()

    def day(d) -> str:
        return f"{d.month}月{d.day}日" if d else ""

    return {
        "campaign_year": str(c.year),
        "campaign_number": str(c.number),
        "campaign_theme": c.theme,
        "campaign_start": day(c.start),
        "campaign_end": day(c.end),
        "consultation_day": day(c.consultation_day),
    }


def _placeholders(text: str) -> list[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError:
        return ["{"]


def _strings(value: Any) -> list[str] | None:
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v).strip() for v in value if str(v).strip()]
    return None


def load_theme(path: Path, problems: list[str]) -> tuple[str, list[Document]]:
    """One theme file: its title and valid entries; what is wrong goes to `problems`."""
    name = path.name
    data = _read(path, problems)
    if data is None:
        return "", []
    if not isinstance(data, _Mapping):
        problems.append(_problem(name, 1, "not_mapping"))
        return "", []
    for key, line in data.repeated:
        problems.append(_problem(name, line, "repeated_field", field=key))
    for key in data:
        if key not in TOP_FIELDS:
            problems.append(
                _problem(
                    name,
                    data.key_lines.get(str(key), 1),
                    "unknown_field",
                    field=key,
                    allowed="、".join(TOP_FIELDS),
                )
            )
    # The theme is usually the file's stem (campaign_month.yaml holds theme campaign).
    theme = str(data.get("theme") or "").strip()
    if not _THEME.match(theme):
        problems.append(_problem(name, data.key_lines.get("theme", 1), "bad_theme", theme=theme))
        theme = path.stem
    title = str(data.get("title") or "").strip()
    if not title:
        problems.append(_problem(name, data.key_lines.get("title", 1), "missing_title"))
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        problems.append(_problem(name, data.key_lines.get("entries", 1), "no_entries"))
        return title or path.stem, []
    out = []
    for raw in raw_entries:
        doc = _entry(name, theme, raw, problems)
        if doc is not None:
            out.append(doc)
    return title or path.stem, out


def _entry(name: str, theme: str, raw: Any, problems: list[str]) -> Document | None:
    if not isinstance(raw, _Mapping):
        problems.append(_problem(name, 0, "entry_not_mapping"))
        return None
    before = len(problems)

    def fail(key: str, field_name: str | None = None, **values: Any) -> None:
        line = raw.key_lines.get(field_name, raw.line) if field_name else raw.line
        problems.append(_problem(name, line, key, **values))

    for key, line in raw.repeated:
        problems.append(_problem(name, line, "repeated_field", field=key))
    for key in raw:
        if key not in ENTRY_FIELDS:
            fail("unknown_field", str(key), field=key, allowed="、".join(ENTRY_FIELDS))
    for key in REQUIRED:
        value = raw.get(key)
        if not isinstance(value, (str, int, float)) or not str(value).strip():
            fail("missing_field", key if key in raw else None, field=key)
    entry_id = str(raw.get("id") or "").strip()
    if entry_id and not (_ID.match(entry_id) and entry_id.startswith(theme + "-")):
        fail("bad_id", "id", id=entry_id, theme=theme)
    alternatives = _strings(raw.get("alternatives"))
    if alternatives is None:
        fail("bad_list", "alternatives", field="alternatives")
        alternatives = []
    elif not ALTERNATIVES[0] <= len(alternatives) <= ALTERNATIVES[1]:
        fail("alternatives_count", "alternatives", low=ALTERNATIVES[0], high=ALTERNATIVES[1])
    keywords = _strings(raw.get("keywords"))
    if keywords is None:
        fail("bad_list", "keywords", field="keywords")
        keywords = []
    answer = str(raw.get("answer") or "").strip()
    unknown = [p for p in _placeholders(answer) if p not in PLACEHOLDERS]
    if unknown:
        fail(
            "bad_placeholder",
            "answer",
            names="、".join("{" + p + "}" for p in unknown),
            allowed="、".join("{" + p + "}" for p in PLACEHOLDERS),
        )
    elif len(answer) > MAX_ANSWER:
        fail("answer_too_long", "answer", length=len(answer), limit=MAX_ANSWER)
    if len(problems) > before:
        return None
    question = str(raw["question"]).strip()
    return Document(
        id=entry_id,
        kind="entry",
        theme=theme,
        question=question,
        phrasings=(question, *alternatives),
        keywords=tuple(keywords),
        answer=answer,
        source=str(raw["source"]).strip(),
        file=name,
        line=raw.line,
        phrase_lines=(
            raw.key_lines.get("question", raw.line),
            *[raw.key_lines.get("alternatives", raw.line)] * len(alternatives),
        ),
    )


def _check_unique(entries: list[Document], problems: list[str]) -> list[Document]:
    """Ids unique; no question or alternative twice, across all entries. The later of two
    is reported (with where the first is) and left out."""
    ids: dict[str, Document] = {}
    phrases: dict[str, tuple[Document, int]] = {}
    kept = []
    for doc in entries:
        first = ids.get(doc.id)
        if first is not None:
            problems.append(
                _problem(
                    doc.file,
                    doc.line,
                    "duplicate_id",
                    id=doc.id,
                    first=f"{first.file}:{first.line}",
                )
            )
            continue
        ids[doc.id] = doc
        clash = False
        own: dict[str, int] = {}
        for text, line in zip(doc.phrasings, doc.phrase_lines or [doc.line] * 99, strict=False):
            key = phrase_key(text)
            found = phrases.get(key) or ((doc, own[key]) if key in own else None)
            if found is not None:
                other, other_line = found
                where = f"{other.file}:{other_line}（{other.id}）"
                problems.append(
                    _problem(doc.file, line, "duplicate_phrase", text=text, first=where)
                )
                clash = True
            own.setdefault(key, line)
        if clash:
            continue
        for key, line in own.items():
            phrases[key] = (doc, line)
        kept.append(doc)
    return kept


# -- vocabulary -------------------------------------------------------------------------------
def load_vocabulary(path: Path, problems: list[str]) -> Vocabulary:
    vocab = Vocabulary()
    if not path.is_file():
        return vocab
    data = _read(path, problems)
    if not isinstance(data, _Mapping):
        if data is not None:
            problems.append(_problem(path.name, 1, "not_mapping"))
        return vocab
    for key in data:
        if key not in VOCABULARY_FIELDS:
            problems.append(
                _problem(
                    path.name,
                    data.key_lines.get(str(key), 1),
                    "unknown_field",
                    field=key,
                    allowed="、".join(VOCABULARY_FIELDS),
                )
            )
    seen: dict[str, int] = {}
    for group in data.get("synonyms") or []:
        words = _strings(group)
        if not words or len(words) < 2:
            problems.append(
                _problem(path.name, data.key_lines.get("synonyms", 1), "bad_group", group=group)
            )
            continue
        words = [normalize(w).lower() for w in words]
        for w in words:
            if w in seen:
                problems.append(
                    _problem(path.name, data.key_lines.get("synonyms", 1), "word_twice", word=w)
                )
            seen[w] = 1
        vocab.synonyms.append(words)
    for key in ("words", "topic", "neutral", "stopwords"):
        words = _strings(data.get(key))
        if words is None:
            problems.append(_problem(path.name, data.key_lines.get(key, 1), "bad_list", field=key))
            continue
        setattr(vocab, key, [normalize(w).lower() for w in words])
    return vocab


# -- secondary documents ------------------------------------------------------------------------
def secondary_documents() -> list[Document]:
    """Quiz explanations (stem + explanation + source) and daily tips (title + text + source),
    searchable as answers too but ranked below the entries."""
    docs: list[Document] = []
    for stem, data in content.load_dir("questions"):
        if not isinstance(data, dict):
            continue
        theme = str(data.get("theme") or stem)
        for q in data.get("questions") or []:
            if not isinstance(q, dict) or not q.get("explanation") or not q.get("stem"):
                continue
            question = str(q["stem"]).strip()
            docs.append(
                Document(
                    id=f"quiz:{q.get('id')}",
                    kind="quiz",
                    theme=theme,
                    question=question,
                    phrasings=(question,),
                    keywords=(),
                    answer=str(q["explanation"]).strip(),
                    source=str(q.get("source") or "").strip(),
                    file=f"questions/{stem}.yaml",
                )
            )
    tips = content.load("tips.yaml") if (content.content_dir() / "tips.yaml").is_file() else {}
    for tip in (tips or {}).get("tips") or []:
        if not isinstance(tip, dict) or not tip.get("text") or not tip.get("title"):
            continue
        title = str(tip["title"]).strip()
        docs.append(
            Document(
                id=f"tip:{tip.get('day')}",
                kind="tip",
                theme=str(tip.get("theme") or "tip"),
                question=title,
                phrasings=(title,),
                keywords=(),
                answer=str(tip["text"]).strip(),
                source=str(tip.get("source") or "").strip(),
                file="tips.yaml",
            )
        )
    return docs


# -- everything -------------------------------------------------------------------------------
def knowledge_dir() -> Path:
    """content/knowledge, or SAFETYBOT_KNOWLEDGE_DIR (an organisation's own entries; tests)."""
    override = os.environ.get("SAFETYBOT_KNOWLEDGE_DIR")
    return Path(override) if override else content.content_dir() / "knowledge"


def load(folder: Path | None = None, *, secondary: bool = True) -> KnowledgeBase:
    """The knowledge base in `folder` (default content/knowledge) with its vocabulary; the
    secondary documents come from the content folder."""
    folder = Path(folder) if folder is not None else knowledge_dir()
    kb = KnowledgeBase()
    if not folder.is_dir():
        kb.problems.append(_problem(folder.name, 0, "no_folder", folder=str(folder)))
        return kb
    entries: list[Document] = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name == VOCABULARY_FILE:
            continue
        title, docs = load_theme(path, kb.problems)
        if title:
            kb.titles[path.stem] = title
        entries += docs
    kb.entries = _check_unique(entries, kb.problems)
    kb.vocabulary = load_vocabulary(folder / VOCABULARY_FILE, kb.problems)
    if not (folder / VOCABULARY_FILE).is_file():
        # Fixture folders (tests) bring no vocabulary: the content's is used.
        kb.vocabulary = load_vocabulary(
            content.content_dir() / "knowledge" / VOCABULARY_FILE, kb.problems
        )
    if secondary:
        kb.secondary = secondary_documents()
    return kb
