"""答题 (the daily quiz) as text and as cards, and the quiz conversation's dispatcher.

A pending question lives in the "quiz" conversation (so it survives restarts); which question
is pending for the daily quiz is read from the database (the first unanswered one of today's
set), so the text path and the card path always agree. 练习/错题 are in handlers.quiz_practice,
积分/排行 in handlers.quiz_points, the knowledge contest in handlers.quiz_contest; cards, the
daily push, rankings and the contest close job in bot.quiz.
"""

from __future__ import annotations

import re

from bot.bank_cache import BankQuestion
from bot.context import Context
from bot.hazard import points as hazard_points
from bot.learning import points as learning_points
from bot.messages import IncomingMessage, Reply
from bot.models import QuizDailySet
from bot.quiz import daily, scoring
from bot.quiz.answers import answer_label, format_hint, format_question, parse_answer, to_shown
from bot.quiz.cards import (
    START_KEY,
    TASK_PREFIX,
    daily_card,
    daily_card_messages,
    feedback_text,
)
from bot.router import Router
from bot.text import normalize
from handlers import quiz_contest, quiz_points, quiz_practice

FLOW = "quiz"
STOP_WORDS = {"结束", "取消", "退出", "停止", "结束练习", "结束答题"}
_TASK = re.compile(r"^quiz-(\d+)-(\d+)-")


def selected_letters(msg: IncomingMessage) -> str:
    picked = {o for options in msg.selected_items.values() for o in options}
    return "".join(sorted(picked))


# -- the daily quiz ---------------------------------------------------------------------------
def _today_set(ctx: Context) -> QuizDailySet | None:
    return daily.get_or_create_set(
        ctx.session, ctx.userid, ctx.today, ctx.settings.quiz_per_day, ctx.now
    )


def _question(ctx: Context, qid: str) -> BankQuestion:
    return daily.question(ctx.session, qid)


def daily_question_text(ctx: Context, day_set: QuizDailySet, index: int) -> str:
    q = _question(ctx, day_set.question_ids[index])
    return format_question(
        index + 1, q, day_set.permutations[index], total=len(day_set.question_ids)
    )


def day_done_text(ctx: Context, day_set: QuizDailySet, key: str = "quiz.day_done") -> str:
    correct, total, points = daily.day_summary(ctx.session, day_set)
    return ctx.t(
        key,
        correct=correct,
        total=total,
        points=points,
        # 累计积分 is the same total as 积分 shows: quiz, verified hazards, learning tasks.
        total_points=scoring.total_points(ctx.session, ctx.userid)
        + hazard_points.hazard_points_for(ctx.session, ctx.userid)
        + learning_points.learning_points_for(ctx.session, ctx.userid),
        streak=scoring.streak(ctx.session, ctx.userid, ctx.today),
    )


def handle_quiz(msg: IncomingMessage, ctx: Context, args: str = "") -> Reply:
    day_set = _today_set(ctx)
    if day_set is None:
        return Reply.text(ctx.t("quiz.no_questions"))
    index = daily.next_index(ctx.session, day_set)
    total = len(day_set.question_ids)
    if index is None:
        if ctx.conversation is not None and ctx.conversation.flow == FLOW:
            ctx.end_flow()
        return Reply.text(day_done_text(ctx, day_set, "quiz.day_already_done"))
    ctx.start_flow(FLOW, "answer", {"mode": "daily", "set_id": day_set.id})
    intro = (
        ctx.t("quiz.daily_intro", total=total, points=scoring.POINTS_PER_CORRECT)
        if index == 0
        else ctx.t("quiz.daily_resume", done=index, total=total)
    )
    return Reply.text(intro + "\n\n" + daily_question_text(ctx, day_set, index))


def _after_daily_answer(ctx: Context, day_set: QuizDailySet, done: dict | None = None) -> str:
    """The next question, or today's summary (and the flow ends)."""
    index = daily.next_index(ctx.session, day_set, done)
    if index is None:
        if ctx.conversation is not None and ctx.conversation.flow == FLOW:
            ctx.end_flow()
        return day_done_text(ctx, day_set)
    return daily_question_text(ctx, day_set, index)


def answer_daily_text(msg: IncomingMessage, ctx: Context, text: str) -> Reply | None:
    day_set, done = daily.set_with_answers(ctx.session, ctx.conversation.data.get("set_id"))
    if day_set is None or day_set.userid != ctx.userid or day_set.day != ctx.today:
        # Yesterday's quiz is over: start today's instead of scoring an old question.
        ctx.end_flow()
        return handle_quiz(msg, ctx)
    index = daily.next_index(ctx.session, day_set, done)
    if index is None:
        ctx.end_flow()
        return Reply.text(day_done_text(ctx, day_set, "quiz.day_already_done"))
    question = _question(ctx, day_set.question_ids[index])
    shown = parse_answer(text, question.type, len(question.options))
    if shown is None:
        return Reply.text(format_hint(question))
    outcome = daily.score_answer(ctx.session, day_set, index, shown, ctx.now)
    if outcome.status == "already":
        return Reply.text(ctx.t("quiz.already") + "\n\n" + _after_daily_answer(ctx, day_set))
    ctx.set_step("answer")  # keeps the conversation from expiring while the person is active
    head = feedback_text(
        ctx.t, question, outcome.correct, outcome.given_shown, outcome.answer_shown, outcome.points
    )
    done[index] = True  # scored just now: the next question follows without another query
    return Reply.text(head + "\n\n" + _after_daily_answer(ctx, day_set, done))


# -- the daily quiz as cards --------------------------------------------------------------------
def handle_start_card(msg: IncomingMessage, ctx: Context) -> Reply:
    """The 开始答题 button of the daily push card: this person's next question, as a card."""
    day_set = _today_set(ctx)
    if day_set is None:
        return Reply.text(ctx.t("quiz.no_questions"))
    index = daily.next_index(ctx.session, day_set)
    if index is None:
        return Reply.text(day_done_text(ctx, day_set, "quiz.day_already_done"))
    ctx.start_flow(FLOW, "answer", {"mode": "daily", "set_id": day_set.id})
    reply = Reply()
    for message in daily_card_messages(ctx.session, ctx.t, day_set, index):
        reply.add(message)
    return reply


def handle_quiz_card(msg: IncomingMessage, ctx: Context) -> Reply:
    """A submitted vote card: score it like a typed answer and replace the card."""
    m = _TASK.match(msg.task_id)
    day_set = ctx.session.get(QuizDailySet, int(m.group(1))) if m else None
    if day_set is None or day_set.userid != ctx.userid:
        return Reply.text(ctx.t("quiz.card_not_yours"))
    index = int(m.group(2))
    if index >= len(day_set.question_ids):
        return Reply.text(ctx.t("quiz.card_not_yours"))
    if day_set.day != ctx.today:
        return Reply.text(ctx.t("quiz.card_expired"))
    question = _question(ctx, day_set.question_ids[index])
    shown = parse_answer(selected_letters(msg), question.type, len(question.options))
    if shown is None:
        return Reply.text(ctx.t("quiz.card_pick_one") + "\n" + format_hint(question))
    outcome = daily.score_answer(ctx.session, day_set, index, shown, ctx.now)
    reply = Reply()
    if outcome.status == "already":
        previous = daily.answered(ctx.session, day_set.id)[index]
        given = to_shown(previous.given, day_set.permutations[index], question.type)
        reply.card_update = daily_card(
            ctx.session,
            ctx.t,
            day_set,
            index,
            task_id=msg.task_id,
            checked=given,
            replace_text=ctx.t("quiz.card_replace_already"),
        )
        reply.add_text(ctx.t("quiz.already"))
    else:
        replace = (
            ctx.t("quiz.card_replace_correct")
            if outcome.correct
            else ctx.t(
                "quiz.card_replace_wrong", answer=answer_label(outcome.answer_shown, question.type)
            )
        )
        reply.card_update = daily_card(
            ctx.session,
            ctx.t,
            day_set,
            index,
            task_id=msg.task_id,
            checked=shown,
            replace_text=replace,
        )
        reply.add_text(
            feedback_text(
                ctx.t, question, outcome.correct, shown, outcome.answer_shown, outcome.points
            )
        )
    nxt = daily.next_index(ctx.session, day_set)
    if nxt is None:
        if ctx.conversation is not None and ctx.conversation.flow == FLOW:
            ctx.end_flow()
        if outcome.status == "scored":
            reply.add_text(day_done_text(ctx, day_set))
    else:
        ctx.start_flow(FLOW, "answer", {"mode": "daily", "set_id": day_set.id})
        for message in daily_card_messages(ctx.session, ctx.t, day_set, nxt):
            reply.add(message)
    return reply


# -- the conversation: whatever the person types while a question is pending --------------------
def handle_flow(msg: IncomingMessage, ctx: Context) -> Reply | None:
    if msg.msg_type != "text":
        return None
    text = normalize(msg.content)
    mode = (ctx.conversation.data or {}).get("mode")
    if text in STOP_WORDS:
        data = ctx.conversation.data or {}
        ctx.end_flow()
        if mode in ("practice", "review"):
            return Reply.text(quiz_practice.stop_text(ctx, mode, data))
        if mode == "contest":
            return Reply.text(quiz_contest.stop_text(ctx))
        return Reply.text(ctx.t("quiz.paused"))
    if mode == "daily":
        return answer_daily_text(msg, ctx, text)
    if mode in ("practice", "review"):
        return quiz_practice.answer_practice_text(msg, ctx, text)
    if mode == "contest":
        return quiz_contest.answer_contest_text(msg, ctx, text)
    ctx.end_flow()
    return None


def register(router: Router) -> None:
    router.command("答题", "每日答题", "今日答题", "开始答题", exact=True)(handle_quiz)
    quiz_points.register(router)  # 积分, 排行
    quiz_practice.register(router)  # 错题, 练习
    router.flow(FLOW, interrupt="any")(handle_flow)  # any command leaves a pending question
    router.card(START_KEY)(handle_start_card)
    router.card(TASK_PREFIX)(handle_quiz_card)
    quiz_contest.register(router)
