"""答题 (the daily quiz), 练习, 错题, 积分, 排行, the quiz cards and the daily quiz push.

A pending question lives in the "quiz" conversation (so it survives restarts); which question
is pending for the daily quiz is read from the database (the first unanswered one of today's
set), so the text path and the card path always agree. The knowledge contest is in
handlers.quiz_contest, the command line in handlers.quiz_cli.
"""

from __future__ import annotations

import hashlib
import random
import re
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.context import Context
from bot.messages import IncomingMessage, Reply
from bot.models import Question, QuizDailySet
from bot.quiz import daily, scoring
from bot.quiz.answers import (
    LETTERS,
    TYPE_LABELS,
    answer_label,
    format_hint,
    format_question,
    parse_answer,
    permutation_for,
    shown_options,
    to_shown,
    to_stored,
)
from bot.quiz.bank import ensure_bank, theme_titles
from bot.router import Router
from bot.snapshot import snapshot
from bot.text import normalize

FLOW = "quiz"
STOP_WORDS = {"结束", "取消", "退出", "停止", "结束练习", "结束答题"}
CARD_QUESTION_KEY = "answer"
TASK_PREFIX = "quiz-"
START_KEY = "quiz:start"
SUBMIT_KEY = "quiz:submit"
_TASK = re.compile(r"^quiz-(\d+)-(\d+)-")


# -- shared pieces ----------------------------------------------------------------------------
def feedback_text(
    ctx: Context,
    question: Question,
    correct: bool,
    given: str,
    answer: str,
    points: int | None = None,
) -> str:
    if correct:
        gain = ctx.t("quiz.gain", points=points) if points else ""
        lines = [ctx.t("quiz.correct", gain=gain).rstrip()]
    else:
        lines = [
            ctx.t(
                "quiz.wrong",
                given=answer_label(given, question.type),
                answer=answer_label(answer, question.type),
            )
        ]
    if question.explanation:
        lines.append(ctx.t("quiz.explanation", text=question.explanation))
    if question.source:
        lines.append(ctx.t("quiz.source", text=question.source))
    return "\n".join(lines)


def vote_card(
    ctx: Context,
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
        "source": {"desc": ctx.t("quiz.push.source")},
        "main_title": {
            "title": ctx.t(
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
        "submit_button": {"text": ctx.t("quiz.card_submit"), "key": submit_key},
    }
    if replace_text is not None:
        card["checkbox"]["disable"] = True
        card["replace_text"] = replace_text
    return card


def selected_letters(msg: IncomingMessage) -> str:
    picked = {o for options in msg.selected_items.values() for o in options}
    return "".join(sorted(picked))


# -- the daily quiz ---------------------------------------------------------------------------
def _today_set(ctx: Context) -> QuizDailySet | None:
    return daily.get_or_create_set(
        ctx.session, ctx.userid, ctx.today, ctx.settings.quiz_per_day, ctx.now
    )


def _question(ctx: Context, qid: str) -> Question:
    return ctx.session.get(Question, qid)


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
        total_points=scoring.total_points(ctx.session, ctx.userid),
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


def _after_daily_answer(ctx: Context, day_set: QuizDailySet) -> str:
    """The next question, or today's summary (and the flow ends)."""
    index = daily.next_index(ctx.session, day_set)
    if index is None:
        if ctx.conversation is not None and ctx.conversation.flow == FLOW:
            ctx.end_flow()
        return day_done_text(ctx, day_set)
    return daily_question_text(ctx, day_set, index)


def answer_daily_text(msg: IncomingMessage, ctx: Context, text: str) -> Reply | None:
    day_set = ctx.session.get(QuizDailySet, ctx.conversation.data.get("set_id"))
    if day_set is None or day_set.userid != ctx.userid or day_set.day != ctx.today:
        # Yesterday's quiz is over: start today's instead of scoring an old question.
        ctx.end_flow()
        return handle_quiz(msg, ctx)
    index = daily.next_index(ctx.session, day_set)
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
        ctx, question, outcome.correct, outcome.given_shown, outcome.answer_shown, outcome.points
    )
    return Reply.text(head + "\n\n" + _after_daily_answer(ctx, day_set))


# -- the daily quiz as cards --------------------------------------------------------------------
def daily_card(ctx: Context, day_set: QuizDailySet, index: int, **kw: Any) -> dict[str, Any]:
    q = _question(ctx, day_set.question_ids[index])
    task_id = kw.pop("task_id", None) or f"{TASK_PREFIX}{day_set.id}-{index}-{secrets.token_hex(4)}"
    return vote_card(
        ctx,
        q,
        day_set.permutations[index],
        number=index + 1,
        total=len(day_set.question_ids),
        task_id=task_id,
        **kw,
    )


def handle_start_card(msg: IncomingMessage, ctx: Context) -> Reply:
    """The 开始答题 button of the daily push card: this person's next question, as a card."""
    day_set = _today_set(ctx)
    if day_set is None:
        return Reply.text(ctx.t("quiz.no_questions"))
    index = daily.next_index(ctx.session, day_set)
    if index is None:
        return Reply.text(day_done_text(ctx, day_set, "quiz.day_already_done"))
    ctx.start_flow(FLOW, "answer", {"mode": "daily", "set_id": day_set.id})
    return Reply.card(daily_card(ctx, day_set, index))


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
            ctx,
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
            ctx, day_set, index, task_id=msg.task_id, checked=shown, replace_text=replace
        )
        reply.add_text(
            feedback_text(
                ctx, question, outcome.correct, shown, outcome.answer_shown, outcome.points
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
        reply.add({"msgtype": "template_card", "template_card": daily_card(ctx, day_set, nxt)})
    return reply


def quiz_push_message(session, runtime, now: datetime) -> dict[str, Any]:
    """The daily push: one button_interaction card, the same for everyone (one broadcast);
    the 开始答题 button (key quiz:start…) answers each person with their own first question."""
    from bot.content import texts

    local = now.astimezone(runtime.settings.tz)
    count = runtime.settings.quiz_per_day
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


# -- practice and review (unscored) ---------------------------------------------------------------
def _rng(ctx: Context, salt: str) -> random.Random:
    seed = f"{ctx.userid}:{ctx.now.isoformat()}:{salt}"
    return random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))


def resolve_theme(ctx: Context, name: str) -> tuple[str | None, bool]:
    """(theme key or None for all, found)."""
    name = name.strip()
    if not name or name in ("全部", "所有", "全部主题"):
        return None, True
    titles = theme_titles()
    if name.lower() in titles:
        return name.lower(), True
    matches = [k for k, title in titles.items() if name in title]
    if len(matches) == 1:
        return matches[0], True
    return None, False


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
    theme, found = resolve_theme(ctx, args)
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
        ctx, question, correct, shown, to_shown(question.answer, perm, question.type)
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


# -- the conversation: whatever the person types while a question is pending --------------------
def handle_flow(msg: IncomingMessage, ctx: Context) -> Reply | None:
    if msg.msg_type != "text":
        return None
    text = normalize(msg.content)
    mode = (ctx.conversation.data or {}).get("mode")
    if text in STOP_WORDS:
        data = ctx.conversation.data or {}
        ctx.end_flow()
        if mode == "practice":
            return Reply.text(
                ctx.t("quiz.practice_done", done=data.get("done", 0), right=data.get("right", 0))
            )
        if mode == "review":
            return Reply.text(
                ctx.t("quiz.review_done", done=data.get("done", 0), right=data.get("right", 0))
            )
        if mode == "contest":
            from handlers.quiz_contest import stop_text

            return Reply.text(stop_text(ctx))
        return Reply.text(ctx.t("quiz.paused"))
    if mode == "daily":
        return answer_daily_text(msg, ctx, text)
    if mode in ("practice", "review"):
        return answer_practice_text(msg, ctx, text)
    if mode == "contest":
        from handlers.quiz_contest import answer_contest_text

        return answer_contest_text(msg, ctx, text)
    ctx.end_flow()
    return None


# -- 积分 and 排行 ---------------------------------------------------------------------------------
def handle_points(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    points = scoring.total_points(ctx.session, ctx.userid)  # my own points: always fresh
    if ctx.settings.ranking_cache_seconds > 0:
        table = _points_snapshot(ctx)
        rank, ranked = scoring.rank_in(table, ctx.userid, points)
    else:
        rank, ranked = scoring.rank_of(ctx.session, ctx.userid)
    day_set = ctx.session.scalar(
        select(QuizDailySet).where(QuizDailySet.userid == ctx.userid, QuizDailySet.day == ctx.today)
    )
    if day_set is None:
        today = ctx.t("quiz.today_none")
    else:
        correct, total, _ = daily.day_summary(ctx.session, day_set)
        done = len(daily.answered(ctx.session, day_set.id))
        today = (
            ctx.t("quiz.today_done", correct=correct, total=total)
            if done >= total
            else ctx.t("quiz.today_partial", done=done, total=total)
            if done
            else ctx.t("quiz.today_none")
        )
    text = ctx.t(
        "quiz.points",
        name=ctx.display_name,
        points=points,
        streak=scoring.streak(ctx.session, ctx.userid, ctx.today),
        rank=rank,
        ranked=ranked,
        today=today,
    )
    return Reply.text(text + "\n\n" + scoring.rules_text(ctx.settings.quiz_per_day))


def _points_snapshot(ctx: Context) -> list[tuple[str, int]]:
    return snapshot(
        ctx.session,
        "quiz.points_table",
        ctx.now,
        ctx.settings.ranking_cache_seconds,
        lambda: scoring.points_table(ctx.session),
    )


def handle_ranking(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    # The whole ranking is a snapshot (at most ranking_cache_seconds old): computing it reads
    # every answer and every member, which at campaign scale costs about a second.
    text = snapshot(
        ctx.session,
        "quiz.ranking",
        ctx.now,
        ctx.settings.ranking_cache_seconds,
        lambda: _ranking_text(ctx),
    )
    if ctx.settings.ranking_cache_seconds > 0 and text != ctx.t("quiz.ranking_none"):
        text += "\n\n" + ctx.t("quiz.ranking_refresh")
    return Reply.text(text)


def _ranking_text(ctx: Context) -> str:
    # One pass over the answers serves both tables (it is the expensive part at scale).
    table = scoring.points_table(ctx.session)
    people = scoring.top_people(ctx.session, 10, table)
    if not people:
        return ctx.t("quiz.ranking_none")
    lines = [ctx.t("quiz.ranking_title"), ctx.t("quiz.ranking_people")]
    rank, previous = 0, None
    for i, (_, name, points) in enumerate(people, start=1):
        rank = rank if points == previous else i
        previous = points
        lines.append(ctx.t("quiz.ranking_person", rank=rank, name=name, points=points))
    depts = scoring.department_table(ctx.session, table)
    if depts:
        lines += ["", ctx.t("quiz.ranking_dept_avg")]
        by_avg = sorted(depts, key=lambda d: (-d["average"], d["department_id"]))[:10]
        for i, d in enumerate(by_avg, start=1):
            lines.append(
                ctx.t(
                    "quiz.ranking_dept_avg_line",
                    rank=i,
                    name=d["name"],
                    average=d["average"],
                    members=d["members"],
                )
            )
        lines += ["", ctx.t("quiz.ranking_dept_rate")]
        by_rate = sorted(depts, key=lambda d: (-d["participation"], d["department_id"]))[:10]
        for i, d in enumerate(by_rate, start=1):
            lines.append(
                ctx.t(
                    "quiz.ranking_dept_rate_line",
                    rank=i,
                    name=d["name"],
                    rate=d["participation"],
                    members=d["members"],
                    joined=round(d["participation"] * d["members"]),
                )
            )
    return "\n".join(lines)


# -- stats, jobs, CLI, registration ---------------------------------------------------------------
def register(router: Router) -> None:
    from handlers import quiz_contest

    router.command("答题", "每日答题", "今日答题", "开始答题", exact=True)(handle_quiz)
    router.command("积分", "我的积分", exact=True)(handle_points)
    router.command("排行", "排行榜", "排名", exact=True)(handle_ranking)
    router.command("错题", "错题本", "错题复习", exact=True)(handle_review)
    router.command("练习")(handle_practice)
    router.flow(FLOW, interrupt="any")(handle_flow)  # any command leaves a pending question
    router.card(START_KEY)(handle_start_card)
    router.card(TASK_PREFIX)(handle_quiz_card)
    quiz_contest.register(router)


__all__ = ["handle_quiz", "permutation_for", "quiz_push_message", "register"]
