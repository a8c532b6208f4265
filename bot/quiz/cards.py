"""The quiz as template cards and the feedback after an answer: message bodies, no chat state.

`t` is a texts getter (ctx.t or bot.content.texts.get): the wording lives in content/.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from bot import bank_cache
from bot.messages import text_message
from bot.models import Question, QuizDailySet
from bot.quiz.answers import LETTERS, TYPE_LABELS, answer_label, format_question, shown_options

Texts = Callable[..., str]

CARD_QUESTION_KEY = "answer"
TASK_PREFIX = "quiz-"
START_KEY = "quiz:start"
SUBMIT_KEY = "quiz:submit"


def feedback_text(
    t: Texts,
    question: Question,
    correct: bool,
    given: str,
    answer: str,
    points: int | None = None,
) -> str:
    if correct:
        gain = t("quiz.gain", points=points) if points else ""
        lines = [t("quiz.correct", gain=gain).rstrip()]
    else:
        lines = [
            t(
                "quiz.wrong",
                given=answer_label(given, question.type),
                answer=answer_label(answer, question.type),
            )
        ]
    if question.explanation:
        lines.append(t("quiz.explanation", text=question.explanation))
    if question.source:
        lines.append(t("quiz.source", text=question.source))
    return "\n".join(lines)


def vote_card(
    t: Texts,
    question: Question,
    perm: list[int],
    *,
    number: int,
    total: int,
    task_id: str,
    submit_key: str = SUBMIT_KEY,
    checked: str = "",
    replace_text: str | None = None,
) -> dict[str, Any]:
    """The question as a vote_interaction template card (single: mode 0, multiple: mode 1).

    Fields as documented for 投票选择型 (message/send and message/update_template_card):
    task_id (letters, digits and _-@ only, at most 128 bytes, unique per card), checkbox with
    question_key / option_list (id, text, is_checked) / mode, submit_button (text, key); an
    update adds checkbox.disable and replace_text.
    """
    if question.type == "judge":
        options = [{"id": "T", "text": "对"}, {"id": "F", "text": "错"}]
    else:
        options = [
            {"id": LETTERS[pos], "text": _fit(f"{LETTERS[pos]}. {text}", CARD_OPTION_CHARS)}
            for pos, text in enumerate(shown_options(question.options, perm))
        ]
    for option in options:
        option["is_checked"] = option["id"] in checked
    card: dict[str, Any] = {
        "card_type": "vote_interaction",
        "source": {"desc": t("quiz.push.source")},
        "main_title": {
            "title": t(
                "quiz.card_title", number=number, total=total, label=TYPE_LABELS[question.type]
            ),
            "desc": _fit(question.stem, CARD_DESC_CHARS),
        },
        "task_id": task_id[:128],
        "checkbox": {
            "question_key": CARD_QUESTION_KEY,
            "option_list": options,
            "mode": 1 if question.type == "multiple" else 0,
        },
        "submit_button": {"text": t("quiz.card_submit"), "key": submit_key},
    }
    if replace_text is not None:
        card["checkbox"]["disable"] = True
        card["replace_text"] = replace_text
    return card


# WeCom's suggested lengths for a vote card (模板卡片 投票选择型): longer text may show cut
# on phones, so the card carries a shortened form and the full question goes before it.
CARD_DESC_CHARS = 44
CARD_OPTION_CHARS = 17


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fits_card(question: Question, perm: list[int]) -> bool:
    """Whether the whole question shows on the card as it is."""
    if len(question.stem) > CARD_DESC_CHARS:
        return False
    return question.type == "judge" or all(
        len(f"{LETTERS[pos]}. {text}") <= CARD_OPTION_CHARS
        for pos, text in enumerate(shown_options(question.options, perm))
    )


def daily_card_messages(
    session: Session, t: Texts, day_set: QuizDailySet, index: int
) -> list[dict[str, Any]]:
    """Question `index` as a card, preceded by the full question as text when the card would
    have to shorten it."""
    card = daily_card(session, t, day_set, index)
    question = bank_cache.question(session, day_set.question_ids[index])
    perm = day_set.permutations[index]
    messages = [{"msgtype": "template_card", "template_card": card}]
    if not fits_card(question, perm):
        full = format_question(index + 1, question, perm, total=len(day_set.question_ids))
        messages.insert(0, text_message(full))
    return messages


def daily_card(
    session: Session, t: Texts, day_set: QuizDailySet, index: int, **kw: Any
) -> dict[str, Any]:
    """Question `index` of a daily set as a vote card (task id quiz-<set>-<index>-<random>)."""
    q = bank_cache.question(session, day_set.question_ids[index])
    task_id = kw.pop("task_id", None) or f"{TASK_PREFIX}{day_set.id}-{index}-{secrets.token_hex(4)}"
    return vote_card(
        t,
        q,
        day_set.permutations[index],
        number=index + 1,
        total=len(day_set.question_ids),
        task_id=task_id,
        **kw,
    )
