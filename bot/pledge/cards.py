"""What a 责任书 looks like in chat: the full text as text messages and the signing card."""

from __future__ import annotations

import hashlib
from typing import Any

from bot.messages import split_text
from bot.pledge.texts import PledgeContent

CARD_KEY_PREFIX = "pledge:sign:"


def full_text(t: PledgeContent) -> str:
    lines = [f"《{t.title}》", f"版本 {t.version} · 文本编号 {t.short_hash}", "", t.body.strip()]
    if t.sources:
        lines += ["", "依据：" + "；".join(t.sources)]
    return "\n".join(lines)


def text_parts(t: PledgeContent) -> list[str]:
    return split_text(full_text(t))


def sign_card(
    t: PledgeContent,
    *,
    task_id: str,
    description: str,
    button: str,
    disabled_text: str | None = None,
) -> dict[str, Any]:
    """A button_interaction card that summarises the text (the full text goes as text
    messages: a card's description is limited to a few hundred characters)."""
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": t.title[:36], "desc": f"版本 {t.version} · 编号 {t.short_hash}"},
        "sub_title_text": description[:110],
        "task_id": task_id,
        "button_list": [{"text": button, "style": 1, "key": CARD_KEY_PREFIX + t.hash}],
    }
    if disabled_text is not None:
        card["button_list"] = [{"text": disabled_text, "style": 2, "key": CARD_KEY_PREFIX + t.hash}]
        card["replace_text"] = disabled_text
    return card


def card_message(card: dict[str, Any]) -> dict[str, Any]:
    """A template card as a message body (for the outbox)."""
    return {"msgtype": "template_card", "template_card": card}


def task_id_for(*parts: str) -> str:
    """WeCom task ids: unique per app, at most 128 bytes of [A-Za-z0-9_-@]."""
    digest = hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]
    return f"pledge_{digest}"
