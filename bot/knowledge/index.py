"""Finding the entries closest to a question: BM25 (rank-bm25) over jieba words.

Two fields per document: what it answers (question, alternatives, keywords), weighted above
the answer text. BM25 ranks; how much of the question a document covers (each word weighted by
its rarity) is the confidence the caller compares with its thresholds, since BM25 scores do
not compare across questions. Secondary documents (quiz explanations, tips) rank below the
entries.

The index is built once per process, lazily and under a lock, and again when a content file
changes (checked at most every few seconds).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rank_bm25 import BM25Okapi

from bot.content import content_dir
from bot.knowledge import loader
from bot.knowledge.loader import Document, KnowledgeBase
from bot.knowledge.words import Analyzer

BODY_WEIGHT = 0.3  # the answer text counts this much of what the question fields count
BODY_COVER = 0.5  # a question word found only in the answer covers this much
SECONDARY_WEIGHT = 0.8  # quiz explanations and tips rank below entries
CHECK_EVERY = 5.0  # seconds between looks at the files' times


@dataclass(frozen=True)
class Hit:
    doc: Document
    score: float  # BM25, for ranking
    confidence: float  # 0..1: how much of the question the document covers


class Index:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.docs = kb.documents
        keywords = [k for d in kb.entries for k in d.keywords]
        self.analyzer = Analyzer(kb.vocabulary, keywords)
        self._by_id = {d.id: d for d in self.docs}
        # A question typed exactly as an entry asks it (punctuation aside) is that entry, even
        # where synonym folding makes another entry score higher (心肺复苏怎么做 is
        # firstaid-cpr-adult, not the entry about 人工呼吸 and 胸外按压).
        self._exact: dict[str, int] = {}
        for i, d in enumerate(self.docs):
            if d.kind == "entry":
                for text in d.phrasings:
                    self._exact.setdefault(loader.phrase_key(text), i)
        heads = [self._head_tokens(d) for d in self.docs]
        bodies = [self.analyzer.tokens(d.answer) or ["_"] for d in self.docs]
        self._head_sets = [set(h) for h in heads]
        self._topic_tokens = frozenset(
            t
            for d, h in zip(self.docs, heads, strict=True)
            if d.kind == "entry"
            for t in h
            if len(t) >= 2 and not self.analyzer.is_neutral(t) and self.analyzer.is_uncommon(t)
        )
        self._body_sets = [set(b) for b in bodies]
        self._heads = BM25Okapi([h or ["_"] for h in heads]) if self.docs else None
        self._bodies = BM25Okapi(bodies) if self.docs else None
        df = Counter(t for s in self._head_sets for t in s)
        n = max(len(self.docs), 1)
        self._idf = {t: math.log((n + 1) / (c + 0.5)) for t, c in df.items()}
        self._idf_unknown = math.log((n + 1) / 0.5)
        self._weights = [SECONDARY_WEIGHT if d.kind != "entry" else 1.0 for d in self.docs]

    def _head_tokens(self, doc: Document) -> list[str]:
        words: list[str] = []
        for text in (*doc.phrasings, *doc.keywords):
            words += self.analyzer.tokens(text)
        return words

    def get(self, doc_id: str) -> Document | None:
        return self._by_id.get(doc_id)

    def search(self, question: str, limit: int = 4) -> list[Hit]:
        tokens = self.analyzer.tokens(question)
        if not tokens or self._heads is None or self._bodies is None:
            return []
        heads = self._heads.get_scores(tokens)
        bodies = self._bodies.get_scores(tokens)
        unique = set(tokens)
        weights = {t: self._idf.get(t, self._idf_unknown) for t in unique}
        total = sum(weights.values()) or 1.0
        scored = []
        for i in range(len(self.docs)):
            score = (heads[i] + BODY_WEIGHT * bodies[i]) * self._weights[i]
            if score <= 0:
                continue
            scored.append((score, i))
        scored.sort(reverse=True)
        exact = self._exact.get(loader.phrase_key(question))
        if exact is not None:
            scored = [(float("inf"), exact)] + [x for x in scored if x[1] != exact]
        hits = []
        for _, i in scored[:limit]:
            head, body = self._head_sets[i], self._body_sets[i]
            covered = sum(
                w if t in head else (BODY_COVER * w if t in body else 0.0)
                for t, w in weights.items()
            )
            confidence = 1.0 if i == exact else covered / total * self._weights[i]
            score = (heads[i] + BODY_WEIGHT * bodies[i]) * self._weights[i]
            hits.append(Hit(self.docs[i], float(score), round(confidence, 4)))
        return hits

    def on_topic(self, question: str) -> bool:
        """A safety word (synonyms.yaml), or a word that the entries' own questions use and
        that is no everyday word: not in synonyms.yaml `neutral`, and uncommon in general
        Chinese (jieba's word frequencies: 洁厕灵, 钢瓶 and 碱液 are; 今天, 公司 and 电影 are
        not), so that 今天食堂吃什么 stays small talk."""
        if self.analyzer.on_topic(question) or loader.phrase_key(question) in self._exact:
            return True
        return any(t in self._topic_tokens for t in self.analyzer.tokens(question))


# -- one per process ---------------------------------------------------------------------------
_LOCK = threading.Lock()
_STATE: dict[str, object] = {}


def _stamp(folder: Path) -> tuple:
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    root = content_dir()
    files += sorted((root / "questions").glob("*.yaml")) + [root / "tips.yaml"]
    return tuple((str(p), p.stat().st_mtime_ns) for p in files if p.is_file())


def get_index(folder: Path | None = None) -> Index:
    """The process's index over `folder` (default content/knowledge), built on first use."""
    folder = Path(folder) if folder is not None else loader.knowledge_dir()
    now = time.monotonic()
    current = _STATE.get("index")
    if (
        isinstance(current, Index)
        and _STATE.get("folder") == folder
        and now - float(_STATE.get("checked", 0.0)) < CHECK_EVERY  # type: ignore[arg-type]
    ):
        return current
    with _LOCK:
        stamp = _stamp(folder)
        current = _STATE.get("index")
        if not (
            isinstance(current, Index)
            and _STATE.get("folder") == folder
            and _STATE.get("stamp") == stamp
        ):
            current = Index(loader.load(folder))
            _STATE.update(index=current, folder=folder, stamp=stamp)
        _STATE["checked"] = now
        return current  # type: ignore[return-value]


def warm() -> threading.Thread:
    """Build the index in the background when a web process starts, so the first question
    (jieba's dictionary and ~600 documents take a second or two) is not answered late."""

    def build() -> None:
        try:
            get_index()
        except Exception:  # noqa: BLE001 - the first question builds it again and says why
            logging.getLogger(__name__).warning(
                "building the knowledge index failed", exc_info=True
            )

    thread = threading.Thread(target=build, name="knowledge-index", daemon=True)
    thread.start()
    return thread
