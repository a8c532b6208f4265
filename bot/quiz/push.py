"""The daily quiz push: the message body the scheduler broadcasts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.content import texts
from bot.quiz import scoring
from bot.quiz.cards import START_KEY
from bot.services import Services


def quiz_push_message(session: Session, services: Services, now: datetime) -> dict[str, Any]:
    """The daily push: one button_interaction card, the same for everyone (one broadcast);
    the 开始答题 button (key quiz:start…) answers each person with their own first question."""
    local = now.astimezone(services.settings.tz)
    count = services.settings.quiz_per_day
    return {
        "msgtype": "template_card",
        "template_card": {
            "card_type": "button_interaction",
            "source": {"desc": texts.get("quiz.push.source")},
            "main_title": {
                "title": texts.get("quiz.push.title"),
                "desc": texts.get("quiz.push.desc", date=f"{local.month}月{local.day}日"),
            },
            "sub_title_text": texts.get(
                "quiz.push.sub_title", count=count, points=scoring.POINTS_PER_CORRECT
            ),
            "task_id": f"quizpush-{local:%Y%m%d}",
            "button_list": [
                {
                    "text": texts.get("quiz.push.button"),
                    "style": 1,
                    "key": f"{START_KEY}:{local:%Y%m%d}",
                }
            ],
        },
    }
