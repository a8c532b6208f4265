"""练习 (practice, by theme) and 错题 (review of wrong answers): unscored questions in the quiz
conversation; handlers.quiz routes the person's answers here."""

from __future__ import annotations

import hashlib
import random
from typing import Any

from bot.context import Context
from bot.messages import IncomingMessage, Reply
from bot.models import Question
from bot.quiz import daily, scoring
from bot.quiz.answers import format_hint, format_question, parse_answer, to_shown, to_stored
from bot.quiz.bank import ensure_bank, resolve_theme, theme_titles
from bot.quiz.cards import feedback_text
from bot.router import Router

FLOW = "quiz"  # the one quiz conversation (handlers.quiz registers its step handler)


def _rng(ctx: Context, salt: str) -> random.Random:
    seed = f"{ctx.userid}:{ctx.now.isoformat()}:{salt}"
    return random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))


def _practice_question(ctx: Context, theme: str | None, recent: list[str]) -> Question | None:
    questions = daily.active_questions(ctx.session, [theme] if theme else None)
    if not questions:
        return None
    fresh = [q for q in questions if q.id not in recent] or questions
    return _rng(ctx, str(len(recent))).choice(fresh)


def _ask_practice(ctx: Context, data: dict[str, Any], question: Question) -> str:
    perm = list(range(len(question.options)))
    if question.type != "judge":
        _rng(ctx, question.id).shuffle(perm)
    recent = ([*data.get("recent", []), question.id])[-30:]
    ctx.start_flow(FLOW, "answer", {**data, "qid": question.id, "perm": perm, "recent": recent})
    return format_question(data.get("done", 0) + 1, question, perm)


def handle_practice(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    ensure_bank(ctx.session, ctx.now)
    theme, found = resolve_theme(args)
    titles = theme_titles()
    if not found:
        themes = "、".join(f"{title}（{key}）" for key, title in titles.items())
        return Reply.text(ctx.t("quiz.practice_unknown_theme", name=args.strip(), themes=themes))
    question = _practice_question(ctx, theme, [])
    if question is None:
        return Reply.text(ctx.t("quiz.no_questions"))
    label = titles.get(theme, theme) if theme else ctx.t("quiz.practice_all")
    data = {"mode": "practice", "theme": theme, "done": 0, "right": 0}
    return Reply.text(
        ctx.t("quiz.practice_intro", theme=label) + "\n\n" + _ask_practice(ctx, data, question)
    )


def handle_review(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    queue = scoring.wrong_book(ctx.session, ctx.userid)[:20]
    if not queue:
        return Reply.text(ctx.t("quiz.review_none"))
    question = ctx.session.get(Question, queue[0])
    data = {"mode": "review", "queue": queue, "pos": 0, "done": 0, "right": 0}
    return Reply.text(
        ctx.t("quiz.review_intro", count=len(queue)) + "\n\n" + _ask_practice(ctx, data, question)
    )


def stop_text(ctx: Context, mode: str, data: dict[str, Any]) -> str:
    key = "quiz.practice_done" if mode == "practice" else "quiz.review_done"
    return ctx.t(key, done=data.get("done", 0), right=data.get("right", 0))


def answer_practice_text(msg: IncomingMessage, ctx: Context, text: str) -> Reply | None:
    data = dict(ctx.conversation.data)
    question = ctx.session.get(Question, data.get("qid"))
    if question is None:
        ctx.end_flow()
        return None
    shown = parse_answer(text, question.type, len(question.options))
    if shown is None:
        return Reply.text(format_hint(question))
    perm = data["perm"]
    correct = to_stored(shown, perm, question.type) == question.answer
    scoring.record_result(ctx.session, ctx.userid, question.id, correct, ctx.today, ctx.now)
    data["done"] = data.get("done", 0) + 1
    data["right"] = data.get("right", 0) + int(correct)
    head = feedback_text(
        ctx.t, question, correct, shown, to_shown(question.answer, perm, question.type)
    )
    if data["mode"] == "review":
        data["pos"] = data.get("pos", 0) + 1
        queue = data["queue"]
        nxt = next(
            (
                q
                for q in (ctx.session.get(Question, qid) for qid in queue[data["pos"] :])
                if q is not None
            ),
            None,
        )
        if nxt is None:
            ctx.end_flow()
            return Reply.text(
                head + "\n\n" + ctx.t("quiz.review_done", done=data["done"], right=data["right"])
            )
        data["pos"] = queue.index(nxt.id)
    else:
        nxt = _practice_question(ctx, data.get("theme"), data.get("recent", []))
    return Reply.text(head + "\n\n" + _ask_practice(ctx, data, nxt))


def register(router: Router) -> None:
    router.command("错题", "错题本", "错题复习", exact=True)(handle_review)
    router.command("练习")(handle_practice)
