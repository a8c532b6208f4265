"""Cutting a question into words: synonyms first (灭火筒 → 灭火器, 被电到 → 触电), then jieba
with the safety terms in its dictionary (so 灭火器 and 心肺复苏 stay whole), then stopwords out.

jieba keeps one global dictionary per process; it is loaded once, quietly (it logs its
"Building prefix dict" lines otherwise), under a lock, and the safety terms are added to it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

import jieba

from bot.knowledge.loader import Vocabulary
from bot.text import normalize

_LOCK = threading.Lock()
_ADDED: set[str] = set()
_READY = False
_NOISE = re.compile(r"^[\W_]+$")
_ASCII_ALNUM = re.compile(r"[0-9a-z]")
# jieba's dictionary counts (a corpus of general Chinese): 下班 623, 食堂 660, 公司 45604;
# safety words are far rarer (钢瓶 7, 碱液 36, 防毒面具 148). Tuned on qa_tune.yaml.
COMMON_FREQ = 500


def _whole_terms(terms: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern for any of `terms`, longest first, where a term that begins or ends with a
    Latin letter or digit must not continue a longer run of them: 120 is the ambulance in
    打120 but not in the check-in code 312045, and cpr is not inside a word."""
    parts = []
    for term in sorted(set(terms), key=len, reverse=True):
        if not term:
            continue
        head = r"(?<![0-9a-z])" if _ASCII_ALNUM.match(term[0]) else ""
        tail = r"(?![0-9a-z])" if _ASCII_ALNUM.match(term[-1]) else ""
        parts.append(head + re.escape(term) + tail)
    return re.compile("|".join(parts)) if parts else None


def _ensure_jieba(words: Iterable[str]) -> None:
    global _READY
    with _LOCK:
        if not _READY:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _READY = True
        for word in words:
            if word and word not in _ADDED and not word.isascii():
                # A high frequency makes jieba keep the term whole in precise mode.
                jieba.add_word(word, freq=200000)
                _ADDED.add(word)


class Analyzer:
    """Synonym folding and segmentation for one vocabulary (plus the entries' keywords)."""

    def __init__(self, vocabulary: Vocabulary, extra_words: Iterable[str] = ()) -> None:
        self.canonical: dict[str, str] = {}
        for group in vocabulary.synonyms:
            for word in group:
                self.canonical[word] = group[0]
        self._fold = _whole_terms(self.canonical)
        self.stopwords = frozenset(vocabulary.stopwords)
        dictionary = {g[0] for g in vocabulary.synonyms} | set(vocabulary.words)
        dictionary |= {normalize(w).lower() for w in extra_words}
        _ensure_jieba(sorted(dictionary))
        neutral = set(vocabulary.neutral)
        neutral |= {w for g in vocabulary.synonyms if g[0] in neutral for w in g}
        self.neutral = frozenset(neutral)
        # The entries' keywords are topic words too (84消毒液, 留样, 三同时: their authors named
        # them as what the entry is about), except the everyday words of `neutral`: 食堂 or
        # 工资 alone make no safety question.
        keywords = {normalize(w).lower() for w in extra_words}
        self.topic = frozenset(
            w
            for w in (
                set(vocabulary.topic) | set(vocabulary.words) | set(self.canonical) | keywords
            )
            if len(w) >= 2 and w not in neutral and w not in self.stopwords
        )
        self._topic_pattern = _whole_terms(self.topic)

    def fold(self, text: str) -> str:
        """Lower case, full-width folded, every synonym replaced by its group's first word."""
        text = normalize(text).lower()
        if self._fold is None:
            return text
        return self._fold.sub(lambda m: self.canonical[m.group(0)], text)

    def tokens(self, text: str) -> list[str]:
        """The words of `text` that carry meaning: precise-mode jieba words, plus the shorter
        words inside long ones (search mode) so 灭火毯 still meets 灭火."""
        folded = self.fold(text)
        out = []
        for word in jieba.cut_for_search(folded):
            word = word.strip()
            if not word or word in self.stopwords or _NOISE.match(word):
                continue
            out.append(word)
        return out

    def is_uncommon(self, word: str) -> bool:
        """Rarer than COMMON_FREQ in jieba's general dictionary (or not in it at all)."""
        return (jieba.dt.FREQ.get(word) or 0) < COMMON_FREQ

    def is_neutral(self, word: str) -> bool:
        return word in self.neutral or word in self.stopwords

    def on_topic(self, text: str) -> bool:
        """Whether the text uses safety vocabulary (a topic word, a synonym, a safety term)."""
        if self._topic_pattern is None:
            return False
        return self._topic_pattern.search(self.fold(text)) is not None
