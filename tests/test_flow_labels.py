"""Every conversation has a Chinese name for people: the notes 「（…还没填完，…）」 and
「已放弃未完成的…」 name it, and a flow without a label would show its code name (quiz)."""

from __future__ import annotations

from ascii_words import english_words

from bot.content import texts
from handlers import build_router


def flow_label(flow: str) -> str | None:
    prefix, _, rest = flow.partition("_")
    keys = [f"flows.{flow}", f"{flow}.flow_label"] + (
        [f"{prefix}.{rest}_flow_label"] if rest else []
    )
    for key in keys:
        try:
            return texts.get(key)
        except KeyError:
            continue
    return None


def test_every_flow_has_a_chinese_label():
    labels = {name: flow_label(name) for name in build_router().flows}
    assert "quiz" in labels
    assert {
        name: label for name, label in labels.items() if not label or english_words(label)
    } == {}
