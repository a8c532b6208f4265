"""学习 (my learning tasks), 已学习 (confirm one), the card button and the check questions.

A safety officer assigns tasks (`safetybot learning assign` or the console); each person gets
a card with their own link. Confirming may come before opening the link (it is recorded);
an item's check questions are asked after confirming, and the task is done once they are
answered. Reminders and escalation are the hourly job in bot.learning.reminders.
"""

from __future__ import annotations

from bot.context import Context
from bot.learning import cards, tasks
from bot.learning.points import TASK_POINTS
from bot.localtime import label
from bot.messages import IncomingMessage, Reply
from bot.models import LearningAssignment, LearningTask
from bot.quiz.answers import LETTERS, TYPE_LABELS, parse_answer
from bot.router import Router
from bot.text import normalize

FLOW = "learning"
STOP_WORDS = {"取消", "退出", "结束", "停止"}


def _due(task: LearningTask) -> str:
    return f"{task.due.month}月{task.due.day}日"


def _state(ctx: Context, a: LearningAssignment) -> str:
    if a.confirmed_at is not None:
        return ctx.t("learning.state_answering")
    return ctx.t("learning.state_opened" if a.opened_at else "learning.state_not_opened")


# -- 学习 --------------------------------------------------------------------------------------
def handle_list(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    mine = tasks.assignments_of(ctx.session, ctx.userid)
    if not mine:
        return Reply.text(ctx.t("learning.list_none"))
    open_ = [(a, t) for a, t in mine if a.completed_at is None]
    done = [(a, t) for a, t in mine if a.completed_at is not None]
    lines = [ctx.t("learning.list_title")]
    if open_:
        lines.append(ctx.t("learning.list_open_title"))
        lines += [
            ctx.t(
                "learning.list_open_line",
                number=i,
                title=t.title,
                kind=ctx.t(f"learning.kinds.{t.kind}"),
                due=_due(t),
                state=_state(ctx, a),
            )
            for i, (a, t) in enumerate(open_, start=1)
        ]
    if done:
        lines.append(ctx.t("learning.list_done_title"))
        lines += [
            ctx.t(
                "learning.list_done_line",
                title=t.title,
                when=label(a.completed_at, ctx.settings.tz),
            )
            for a, t in done
        ]
    if open_:
        lines += ["", ctx.t("learning.list_how")]
    return Reply.text("\n".join(lines))


# -- 已学习 ------------------------------------------------------------------------------------
def handle_done(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    return _done(ctx, args)


def _done(ctx: Context, args: str) -> Reply:
    open_ = tasks.open_tasks(ctx.session, ctx.userid)
    if not open_:
        return Reply.text(ctx.t("learning.none_open"))
    if args.strip().isdigit():
        return _pick(ctx, [a.id for a, _ in open_], args.strip())
    if len(open_) == 1:
        a, t = open_[0]
        return Reply.text(_confirm(ctx, a, t, "text"))
    ctx.start_flow(FLOW, "choose", {"ids": [a.id for a, _ in open_]})
    return Reply.text(_choose_text(ctx, open_))


def _choose_text(ctx: Context, open_) -> str:
    lines = "\n".join(
        ctx.t("learning.choose_line", number=i, title=t.title, due=_due(t))
        for i, (_, t) in enumerate(open_, start=1)
    )
    return ctx.t("learning.choose", count=len(open_), lines=lines)


def _pick(ctx: Context, ids: list[int], text: str) -> Reply:
    number = int(text) if text.isdigit() else 0
    if not 1 <= number <= len(ids):
        return Reply.text(ctx.t("learning.choose_hint", count=len(ids)))
    found = tasks.get_assignment(ctx.session, ids[number - 1], ctx.userid)
    if found is None or found[0].completed_at is not None:
        if ctx.conversation is not None and ctx.conversation.flow == FLOW:
            ctx.end_flow()
        return _done(ctx, "")
    if ctx.conversation is not None and ctx.conversation.flow == FLOW:
        ctx.end_flow()
    return Reply.text(_confirm(ctx, *found, "text"))


def _confirm(ctx: Context, a: LearningAssignment, t: LearningTask, channel: str) -> str:
    """Confirm (once), then the next check question or the completion."""
    lines = []
    if tasks.confirm(ctx.session, a, t, channel, ctx.now):
        ctx.audit(
            "learning:confirm",
            detail=ctx.t(
                "learning.audit_confirm",
                id=t.id,
                title=t.title,
                channel=ctx.t(f"learning.audit_channels.{channel}"),
                opened=ctx.t("learning.audit_opened") if a.opened_at else "",
            ),
        )
        lines.append(
            ctx.t("learning.confirmed", title=t.title, when=label(a.confirmed_at, ctx.settings.tz))
        )
        if a.opened_at is None:
            lines.append(ctx.t("learning.confirmed_unopened"))
    else:
        lines.append(
            ctx.t(
                "learning.already_confirmed",
                title=t.title,
                when=label(a.confirmed_at, ctx.settings.tz),
            )
        )
    index = tasks.next_question(a, t)
    if index is None:
        if a.completed_at is not None and not t.questions:
            lines.append(
                ctx.t("learning.completed_no_questions", title=t.title, points=TASK_POINTS)
            )
        return "\n".join(lines)
    ctx.start_flow(FLOW, "answer", {"assignment": a.id})
    if index == 0:
        lines.append(ctx.t("learning.questions_intro", count=len(t.questions)))
    lines += ["", _question_text(ctx, t, index)]
    return "\n".join(lines)


def _question_text(ctx: Context, t: LearningTask, index: int) -> str:
    q = t.questions[index]
    options = "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(q["options"]))
    return ctx.t(
        "learning.question",
        number=index + 1,
        total=len(t.questions),
        label=TYPE_LABELS[q["type"]],
        stem=q["stem"],
        options=options,
        how=ctx.t(f"learning.how.{q['type']}"),
    ).replace("\n\n", "\n")


def _answer_label(answer: str, qtype: str) -> str:
    return ("对" if answer == "T" else "错") if qtype == "judge" else answer


def _answer(ctx: Context, text: str) -> Reply:
    found = tasks.get_assignment(
        ctx.session, int(ctx.conversation.data.get("assignment", 0)), ctx.userid
    )
    if found is None:
        ctx.end_flow()
        return Reply.text(ctx.t("learning.none_open"))
    a, t = found
    index = tasks.next_question(a, t)
    if index is None:
        ctx.end_flow()
        return Reply.text(ctx.t("learning.none_open"))
    q = t.questions[index]
    given = parse_answer(text, q["type"], len(q["options"]))
    if given is None:
        letters = "、".join(LETTERS[: len(q["options"])])
        return Reply.text(ctx.t(f"learning.hint.{q['type']}", letters=letters))
    correct = tasks.record_answer(ctx.session, a, t, index, given, ctx.now)
    lines = [
        ctx.t("learning.right")
        if correct
        else ctx.t("learning.wrong", answer=_answer_label(q["answer"], q["type"]))
    ]
    if q.get("explanation"):
        lines.append(ctx.t("learning.explanation", text=q["explanation"]))
    if q.get("source"):
        lines.append(ctx.t("learning.source", text=q["source"]))
    nxt = tasks.next_question(a, t)
    if nxt is None:
        ctx.end_flow()
        ctx.audit(
            "learning:complete", detail=ctx.t("learning.audit_complete", id=t.id, title=t.title)
        )
        right = sum(1 for x in a.answers if x.get("correct"))
        lines += [
            "",
            ctx.t(
                "learning.completed",
                title=t.title,
                correct=right,
                total=len(t.questions),
                points=TASK_POINTS,
            ),
        ]
    else:
        ctx.set_step("answer")
        lines += ["", _question_text(ctx, t, nxt)]
    return Reply.text("\n".join(lines))


def handle_flow(msg: IncomingMessage, ctx: Context) -> Reply | None:
    if msg.msg_type != "text":
        return None
    text = normalize(msg.content)
    if text in STOP_WORDS:
        step = ctx.conversation.step
        ctx.end_flow()
        return Reply.text(
            ctx.t(
                "learning.stopped" if step == "answer" else "conversation_dropped",
                flow=ctx.t("learning.flow_label"),
            )
        )
    if ctx.conversation.step == "choose":
        return _pick(ctx, list(ctx.conversation.data.get("ids") or []), text)
    return _answer(ctx, text)


# -- the card button ---------------------------------------------------------------------------
def handle_card(msg: IncomingMessage, ctx: Context) -> Reply:
    raw = msg.event_key[len(cards.DONE_KEY) :]
    found = tasks.get_assignment(ctx.session, int(raw), ctx.userid) if raw.isdigit() else None
    if found is None:
        return Reply.text(ctx.t("learning.card_not_yours"))
    a, t = found
    reply = Reply.text(_confirm(ctx, a, t, "card"))
    item = tasks.item_for(t)
    reply.card_update = cards.task_card(
        ctx.t,
        t,
        a,
        summary=item.summary if item else "",
        link=cards.link_for(ctx.settings.public_url, a.token),
        tz=ctx.settings.tz,
        task_id=msg.task_id,
        done_text=ctx.t("learning.card_done"),
    )
    return reply


def register(router: Router) -> None:
    router.command("学习", "学习任务", "我的学习", exact=True)(handle_list)
    router.command("已学习", "学习完成", "已学完")(handle_done)
    router.flow(FLOW, interrupt="any")(handle_flow)
    router.card(cards.DONE_KEY)(handle_card)
