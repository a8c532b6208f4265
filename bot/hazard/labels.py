"""Hazard categories and action names as people read and type them (content `hazard.*`).

Status words live with the state machine: `bot.hazard.states.status_label`.
"""

from __future__ import annotations

from bot.content import texts

CATEGORIES = (
    "fire",
    "electrical",
    "escape",
    "machinery",
    "chemicals",
    "height",
    "elevator",
    "food",
    "other",
)


def category_label(key: str) -> str:
    return texts.get(f"hazard.categories.{key if key in CATEGORIES else 'other'}")


def action_label(action: str) -> str:
    return texts.get(f"hazard.actions.{action}")


def category_options() -> str:
    return "\n".join(f"{i}. {category_label(k)}" for i, k in enumerate(CATEGORIES, 1))


def parse_category(text: str) -> str | None:
    """ "1"…"7", or a category name ("消防", "用电" …; a name inside the text also counts)."""
    t = (text or "").strip().rstrip(".。")
    if t.isdigit():
        n = int(t)
        return CATEGORIES[n - 1] if 1 <= n <= len(CATEGORIES) else None
    for key in CATEGORIES:
        if t == category_label(key):
            return key
    for key in CATEGORIES:
        if t and category_label(key) in t:
            return key
    return None
