"""The quiz as template cards and the feedback after an answer: message bodies, no chat state.

`t` is a texts getter (ctx.t or bot.content.texts.get): the wording lives in content/.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from bot.models import Question, QuizDailySet
from bot.quiz.answers import LETTERS, TYPE_LABELS, answer_label, shown_options

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
            {"id": LETTERS[pos], "text": f"{LETTERS[pos]}. {text}"}
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
            "desc": question.stem,
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


def daily_card(
    session: Session, t: Texts, day_set: QuizDailySet, index: int, **kw: Any
) -> dict[str, Any]:
    """Question `index` of a daily set as a vote card (task id quiz-<set>-<index>-<random>)."""
    q = session.get(Question, day_set.question_ids[index])
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
