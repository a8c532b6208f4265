"""What a person receives for a learning task: one button_interaction card of their own.

The card's link carries the person's token (/l/<token>), so the bot learns who opened it;
that makes one message per person (a shared card could not say who opened it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from bot.localtime import label
from bot.models import LearningAssignment, LearningTask

Texts = Callable[..., str]
DONE_KEY = "learn:done:"


def link_for(public_url: str, token: str) -> str:
    """The redirect link that records 'opened' (SAFETYBOT_PUBLIC_URL: the bot's address)."""
    return f"{public_url.rstrip('/')}/l/{token}"


def task_id_for(assignment: LearningAssignment, *parts: str) -> str:
    """WeCom task ids: unique per app, at most 128 bytes of [A-Za-z0-9_-@]."""
    digest = hashlib.sha1("|".join([str(assignment.id), *parts]).encode()).hexdigest()[:12]
    return f"learn_{assignment.task_id}_{assignment.id}_{digest}"


def task_card(
    t: Texts,
    task: LearningTask,
    assignment: LearningAssignment,
    *,
    summary: str,
    link: str,
    tz,
    task_id: str,
    done_text: str | None = None,
) -> dict[str, Any]:
    kind = t(f"learning.kinds.{task.kind}")
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "source": {"desc": t("learning.card_source")},
        "main_title": {
            "title": task.title[:36],
            "desc": t("learning.card_due", kind=kind, due=f"{task.due.month}月{task.due.day}日"),
        },
        "sub_title_text": (summary or t("learning.card_link_hint"))[:110],
        "horizontal_content_list": [
            {
                "keyname": t("learning.card_open_key"),
                "value": t("learning.card_open"),
                "type": 1,
                "url": link,
            },
        ],  # fmt: skip
        "card_action": {"type": 1, "url": link},
        "task_id": task_id[:128],
        "button_list": [
            {"text": t("learning.card_button"), "style": 1, "key": f"{DONE_KEY}{assignment.id}"}
        ],
    }
    if done_text is not None:
        card["button_list"] = [{"text": done_text, "style": 2, "key": f"{DONE_KEY}{assignment.id}"}]
        card["replace_text"] = done_text
    if assignment.confirmed_at is not None and done_text is None:
        card["main_title"]["desc"] += " · " + label(assignment.confirmed_at, tz)
    return card


def card_message(card: dict[str, Any]) -> dict[str, Any]:
    return {"msgtype": "template_card", "template_card": card}
