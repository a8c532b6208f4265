"""Normalising what people type: full-width characters, stray spaces, Chinese punctuation."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC folds full-width letters, digits and spaces (Ａ１　) to ASCII; spaces collapse."""
    folded = unicodedata.normalize("NFKC", text or "")
    return _SPACES.sub(" ", folded).strip()


def split_command(text: str, keyword: str) -> str | None:
    """If `text` starts with `keyword`, return the rest (the arguments), else None.

    Chinese users often type no space ("隐患楼道堆物", "签到123456"), so for a keyword that
    ends in a CJK character any continuation counts; for ASCII keywords ("help") a space or
    the end of the text must follow, so "helpful" is not "help".
    """
    t = text.lower()
    k = keyword.lower()
    if not t.startswith(k):
        return None
    rest = text[len(keyword) :]
    if not rest:
        return ""
    if keyword[-1].isascii() and not rest[0].isspace():
        return None
    return rest.lstrip(" :：,，")
