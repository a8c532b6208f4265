"""竞赛 (the knowledge contest) in chat. Results and the close job: bot.quiz.results.

Admins: 竞赛 创建 <名称> 题数=10 时限=150 主题=fire,law 开始=2026-06-20T09:00 结束=2026-06-20T18:00
Everyone: 竞赛 (start or continue), 竞赛 <编号>, 竞赛 列表, 竞赛 结果 <编号> (after it closes).
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

from bot.context import Context
from bot.localtime import LocalTimeError, parse_local, stamp
from bot.messages import IncomingMessage, Reply
from bot.models import Contest, ContestAttempt, Question
from bot.quiz import contest as contests
from bot.quiz.answers import answer_label, format_hint, format_question, parse_answer
from bot.quiz.contest import theme_label
from bot.quiz.results import results_text
from bot.router import Router

FLOW = "quiz"  # the one quiz conversation (handlers.quiz registers its step handler)
_KEYS = {
    "题数": "count",
    "时限": "seconds",
    "主题": "themes",
    "开始": "opens",
    "结束": "closes",
    "名称": "name",
}
_PARAM = re.compile(
    r"(题数|时限|主题|开始|结束|名称)\s*[=＝:：]\s*"
    r"(\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{2}|\S+)"
)


def _local(value: str, tz) -> datetime:
    try:
        return parse_local(value, tz)
    except LocalTimeError as exc:
        raise contests.ContestError(str(exc)) from exc


def parse_create(args: str, tz, now: datetime) -> dict:
    """`<名称> 题数=10 时限=150 主题=fire,law 开始=… 结束=…` → values (ContestError if bad)."""
    values: dict[str, str] = {}
    for key, value in _PARAM.findall(args):
        values[_KEYS[key]] = value
    name = values.pop("name", None) or _PARAM.sub(" ", args).strip()
    if not name:
        raise contests.ContestError("请写竞赛名称")
    try:
        count = int(values.get("count", 10))
        seconds = int(values.get("seconds", 150))
    except ValueError as exc:
        raise contests.ContestError("题数和时限应为整数（时限单位：秒）") from exc
    opens = _local(values["opens"], tz) if "opens" in values else now
    closes = _local(values["closes"], tz) if "closes" in values else opens + timedelta(days=1)
    themes = [t for t in re.split(r"[,，、]", values.get("themes", "")) if t.strip()]
    return {
        "name": name,
        "count": count,
        "seconds": seconds,
        "themes": themes,
        "opens_at": opens,
        "closes_at": closes,
    }


def handle_create(ctx: Context, args: str) -> Reply:
    if not ctx.is_admin:
        ctx.audit("refused:竞赛 创建", detail=args[:500], allowed=False)
        return Reply.text(ctx.t("not_admin", command="竞赛 创建"))
    if not args.strip():
        return Reply.text(ctx.t("quiz.contest.usage"))
    try:
        values = parse_create(args, ctx.settings.tz, ctx.now)
        contest = contests.create_contest(
            ctx.session,
            name=values["name"],
            themes=values["themes"],
            count=values["count"],
            seconds=values["seconds"],
            opens_at=values["opens_at"],
            closes_at=values["closes_at"],
            created_by=ctx.userid,
            now=ctx.now,
        )
    except contests.ContestError as exc:
        return Reply.text(
            ctx.t("quiz.contest.error", reason=exc) + "\n\n" + ctx.t("quiz.contest.usage")
        )
    ctx.audit("contest:create", detail=f"#{contest.id} {contest.name}")
    return Reply.text(
        ctx.t(
            "quiz.contest.created",
            id=contest.id,
            name=contest.name,
            count=contest.question_count,
            seconds=contest.seconds,
            themes=theme_label(contest),
            opens=stamp(contest.opens_at, ctx.settings.tz),
            closes=stamp(contest.closes_at, ctx.settings.tz),
        )
    )


def _item(ctx: Context, c: Contest) -> str:
    return ctx.t(
        "quiz.contest.item",
        id=c.id,
        name=c.name,
        opens=stamp(c.opens_at, ctx.settings.tz),
        closes=stamp(c.closes_at, ctx.settings.tz),
    )


def remaining(ctx: Context, attempt: ContestAttempt) -> int:
    return max(0, math.ceil((attempt.deadline - ctx.now).total_seconds()))


def contest_question_text(ctx: Context, attempt: ContestAttempt, index: int) -> str:
    q = ctx.session.get(Question, attempt.question_ids[index])
    return format_question(
        index + 1,
        q,
        attempt.permutations[index],
        total=len(attempt.question_ids),
        prefix=ctx.t("quiz.contest.question_prefix", remaining=remaining(ctx, attempt)),
    )


def counted(ctx: Context, attempt: ContestAttempt) -> int:
    """Questions that count in this attempt (voided ones left out)."""
    contest = ctx.session.get(Contest, attempt.contest_id)
    return contests.counted_total(contest, attempt.question_ids)


def finished_text(ctx: Context, attempt: ContestAttempt) -> str:
    return ctx.t(
        "quiz.contest.finished",
        score=attempt.score,
        correct=attempt.correct_count,
        total=counted(ctx, attempt),
        seconds=round(contests.time_used(attempt)),
    )


def handle_contest(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    args = args.strip()
    word, _, rest = args.partition(" ")
    if word in ("创建", "新建"):
        return handle_create(ctx, rest)
    if args.startswith("创建"):
        return handle_create(ctx, args[2:])
    if word in ("列表", "查看"):
        return Reply.text(list_text(ctx))
    if word in ("结果", "排名", "成绩"):
        return Reply.text(
            results_text(
                ctx.session, ctx.t, rest, is_admin=ctx.is_admin, now=ctx.now, tz=ctx.settings.tz
            )
        )
    if word in ("帮助", "用法"):
        return Reply.text(ctx.t("quiz.contest.usage"))
    open_now = mine(ctx, contests.open_contests(ctx.session, ctx.now))
    if args.lstrip("#").isdigit():
        contest = ctx.session.get(Contest, int(args.lstrip("#")))
        if contest is None:
            return Reply.text(ctx.t("quiz.contest.not_found", id=args))
        if not contests.may_take_part(ctx.session, contest, ctx.userid):
            return Reply.text(ctx.t("contest.not_for_you", name=contest.name))
        if contest not in open_now:
            return Reply.text(ctx.t("quiz.contest.not_open", id=contest.id))
    elif args:
        return Reply.text(ctx.t("quiz.contest.usage"))
    elif not open_now:
        return Reply.text(list_text(ctx))
    elif len(open_now) > 1:
        return Reply.text(
            ctx.t("quiz.contest.choose", items="\n".join(_item(ctx, c) for c in open_now))
        )
    else:
        contest = open_now[0]
    return start_or_resume(ctx, contest)


def mine(ctx: Context, found: list[Contest]) -> list[Contest]:
    """The contests this person may take part in (everyone's, or their departments')."""
    return [c for c in found if contests.may_take_part(ctx.session, c, ctx.userid)]


def list_text(ctx: Context) -> str:
    open_now = mine(ctx, contests.open_contests(ctx.session, ctx.now))
    upcoming = mine(ctx, contests.upcoming_contests(ctx.session, ctx.now))
    up = (
        ctx.t("quiz.contest.upcoming", items="；".join(_item(ctx, c) for c in upcoming))
        if upcoming
        else ""
    )
    if not open_now:
        return ctx.t("quiz.contest.none_open", upcoming=up).strip()
    return ctx.t("quiz.contest.choose", items="\n".join(_item(ctx, c) for c in open_now)) + (
        "\n" + up if up else ""
    )


def start_or_resume(ctx: Context, contest: Contest) -> Reply:
    attempt, started = contests.start_attempt(ctx.session, contest, ctx.userid, ctx.now)
    if attempt.finished_at is None and ctx.now > attempt.deadline:
        contests.finish_attempt(ctx.session, attempt, attempt.deadline)
    if attempt.finished_at is not None:
        return Reply.text(
            ctx.t(
                "quiz.contest.already_done",
                name=contest.name,
                score=attempt.score,
                correct=attempt.correct_count,
                total=counted(ctx, attempt),
                seconds=round(contests.time_used(attempt)),
            )
        )
    index = contests.next_index(ctx.session, attempt)
    if index is None:  # every question left was voided
        contests.finish_attempt(ctx.session, attempt, ctx.now)
        return Reply.text(finished_text(ctx, attempt))
    ctx.start_flow(
        FLOW,
        "answer",
        {"mode": "contest", "attempt_id": attempt.id, "index": index},
        timeout=timedelta(seconds=contest.seconds + 600),
    )
    head = (
        ctx.t(
            "quiz.contest.intro",
            name=contest.name,
            count=len(attempt.question_ids),
            seconds=contest.seconds,
        )
        if started
        else ctx.t("quiz.contest.resume", name=contest.name, remaining=remaining(ctx, attempt))
    )
    return Reply.text(head + "\n\n" + contest_question_text(ctx, attempt, index))


def stop_text(ctx: Context) -> str:
    return ctx.t("quiz.contest.paused")


def answer_contest_text(msg: IncomingMessage, ctx: Context, text: str) -> Reply | None:
    attempt = ctx.session.get(ContestAttempt, ctx.conversation.data.get("attempt_id"))
    if attempt is None or attempt.userid != ctx.userid:
        ctx.end_flow()
        return None
    contest = ctx.session.get(Contest, attempt.contest_id)
    if contest.cancelled_at is not None:
        ctx.end_flow()
        return Reply.text(ctx.t("contest.cancelled_reply", name=contest.name))
    if attempt.finished_at is not None:
        ctx.end_flow()
        return Reply.text(finished_text(ctx, attempt))
    index = contests.next_index(ctx.session, attempt)
    if index is None:
        contests.finish_attempt(ctx.session, attempt, ctx.now)
        ctx.end_flow()
        return Reply.text(finished_text(ctx, attempt))
    shown_index = ctx.conversation.data.get("index", index)
    if shown_index != index and ctx.now <= attempt.deadline:
        # The question on their screen was voided meanwhile: this answer was meant for it,
        # so it is not taken as the answer to the next one.
        ctx.set_step("answer", index=index)
        return Reply.text(
            ctx.t("contest.voided_skip") + "\n\n" + contest_question_text(ctx, attempt, index)
        )
    question = ctx.session.get(Question, attempt.question_ids[index])
    shown = parse_answer(text, question.type, len(question.options))
    if shown is None:
        if ctx.now > attempt.deadline:  # time is up whatever was typed
            contests.finish_attempt(ctx.session, attempt, attempt.deadline)
            ctx.end_flow()
            return Reply.text(ctx.t("quiz.contest.late") + "\n" + finished_text(ctx, attempt))
        return Reply.text(format_hint(question))
    outcome = contests.answer(ctx.session, attempt, index, shown, ctx.now)
    if outcome.status in ("late", "finished"):
        ctx.end_flow()
        head = ctx.t("quiz.contest.late") + "\n" if outcome.status == "late" else ""
        return Reply.text(head + finished_text(ctx, attempt))
    if outcome.status == "already":
        head = ctx.t("quiz.already")
    else:
        head = (
            ctx.t("quiz.contest.correct")
            if outcome.correct
            else ctx.t(
                "quiz.contest.wrong", answer=answer_label(outcome.answer_shown, question.type)
            )
        )
    nxt = contests.next_index(ctx.session, attempt)
    if nxt is None or attempt.finished_at is not None:
        ctx.end_flow()
        return Reply.text(head + "\n\n" + finished_text(ctx, attempt))
    ctx.set_step("answer", index=nxt)
    return Reply.text(head + "\n\n" + contest_question_text(ctx, attempt, nxt))


def register(router: Router) -> None:
    router.command("竞赛", "知识竞赛")(handle_contest)
