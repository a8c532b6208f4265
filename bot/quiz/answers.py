"""What people type as answers, option shuffling, and how a question is shown.

Stored answers are canonical: letters of the stored option order ("B", "ACD") or "T"/"F" for
judge questions. A person sees the options in their own shuffled order; `permutation[p]` is the
stored index shown at position p, so shown letters map back with `to_stored`.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence

from bot.content import texts
from bot.text import normalize

LETTERS = "ABCDEFGH"
TYPE_LABELS = {"single": "单选", "multiple": "多选", "judge": "判断"}

_TRUE = {"对", "√", "✓", "✔", "正确", "T", "TRUE", "是", "Y", "YES", "对的"}
_FALSE = {"错", "×", "✗", "✘", "错误", "F", "FALSE", "否", "N", "NO", "错的", "X"}
# Separators people put between letters: spaces, commas, 、 and the like (after NFKC folding).
_SEPARATORS = re.compile(r"[\s,，、;；/|.。]+")
# Words people put before an answer: 选A, 选BCD, 答案A, 答案：A, 我选 C.
_PREFIX = re.compile(r"^\s*(?:我选择|我选|选择|选|答案是|答案为|答案|答)\s*[:：]?\s*")


def parse_answer(text: str, qtype: str, option_count: int = 4) -> str | None:
    """The answer in `text` in shown letters ("AC") or "T"/"F", or None if it is not one.

    Forgiving: A, a, Ａ, AC, "A C", "a,c", "A、C", 选A, 选BCD, 答案A, option numbers (1 for A,
    13 for AC); 对/错/√/×/正确/错误/T/F for judge questions.
    A single-choice question accepts exactly one letter.
    """
    raw = _PREFIX.sub("", normalize(text)).upper()
    if not raw:
        return None
    if qtype == "judge":
        compact = _SEPARATORS.sub("", raw)
        if compact in _TRUE:
            return "T"
        if compact in _FALSE:
            return "F"
        return None
    compact = _SEPARATORS.sub("", raw)
    if compact.isascii() and compact.isdigit():
        # Option numbers: 1 for A, 13 for AC.
        if any(not 1 <= int(ch) <= min(option_count, len(LETTERS)) for ch in compact):
            return None
        compact = "".join(LETTERS[int(ch) - 1] for ch in compact)
    if not compact or not compact.isascii() or not compact.isalpha():
        return None
    allowed = LETTERS[:option_count]
    if any(ch not in allowed for ch in compact):
        return None
    letters = "".join(sorted(set(compact)))
    if qtype == "single" and len(letters) != 1:
        return None
    return letters


def parse_judge_value(value: object) -> str | None:
    """A judge answer from YAML/CSV: true/false, 对/错, T/F → "T"/"F"."""
    if isinstance(value, bool):
        return "T" if value else "F"
    return parse_answer(str(value), "judge")


def permutation_for(seed: str, option_count: int, qtype: str) -> list[int]:
    """A stable shuffle for (person, day, question): same seed, same order.

    Judge questions are never shuffled (对/错 have no letters).
    """
    order = list(range(option_count))
    if qtype == "judge" or option_count < 2:
        return order
    digest = hashlib.sha256(seed.encode()).digest()
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(order)
    return order


def to_stored(shown: str, permutation: Sequence[int], qtype: str) -> str:
    """Shown letters → stored letters (sorted)."""
    if qtype == "judge":
        return shown
    return "".join(sorted(LETTERS[permutation[LETTERS.index(ch)]] for ch in shown))


def to_shown(stored: str, permutation: Sequence[int], qtype: str) -> str:
    """Stored letters → the letters this person saw (sorted)."""
    if qtype == "judge":
        return stored
    position = {orig: pos for pos, orig in enumerate(permutation)}
    return "".join(sorted(LETTERS[position[LETTERS.index(ch)]] for ch in stored))


def shown_options(options: Sequence[str], permutation: Sequence[int]) -> list[str]:
    return [options[i] for i in permutation]


def answer_label(answer: str, qtype: str) -> str:
    """How an answer reads in a reply: "AC", or 对/错."""
    if qtype == "judge":
        return "对" if answer == "T" else "错"
    return answer


def format_question(
    number: int, question, permutation: Sequence[int], *, total: int | None = None, prefix: str = ""
) -> str:
    """The text form: "第1题（单选）…\\nA. …\\nB. …\\n回复字母作答，如 A"."""
    label = TYPE_LABELS.get(question.type, "")
    count = f"/{total}" if total else ""
    lines = [f"{prefix}第{number}{count}题（{label}）{question.stem}"]
    if question.type != "judge":
        for pos, option in enumerate(shown_options(question.options, permutation)):
            lines.append(f"{LETTERS[pos]}. {option}")
    lines.append(texts.get(f"quiz.how_to_answer.{question.type}"))
    return "\n".join(lines)


def format_hint(question) -> str:
    letters = "、".join(LETTERS[: len(question.options)])
    return texts.get(f"quiz.hint.{question.type}", letters=letters)
