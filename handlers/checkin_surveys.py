"""问卷: the after-drill questionnaire, one question per message."""

from __future__ import annotations

from datetime import timedelta

from bot.checkin import surveys as core
from bot.checkin.events import get_event
from bot.context import Context
from bot.messages import IncomingMessage, Reply
from bot.router import Router
from bot.text import normalize
from handlers.checkin_events import CANCEL_WORDS

SURVEY_FLOW = "drill_survey"


def _question_text(ctx: Context, key: str, index: int) -> str:
    questions = core.survey_questions(key)
    q = questions[index]
    lines = [ctx.t("checkin.survey_question", n=index + 1, total=len(questions), text=q["text"])]
    if not q.get("free"):
        lines += [
            ctx.t("checkin.survey_option", n=i + 1, text=o) for i, o in enumerate(q["options"])
        ]
        lines.append(ctx.t("checkin.survey_option_hint"))
    return "\n".join(lines)


def handle_survey_start(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    event = core.survey_to_answer(ctx.session, ctx.userid)
    if event is None or event.survey is None:
        return Reply.text(ctx.t("checkin.survey_nothing"))
    ctx.start_flow(
        SURVEY_FLOW,
        "q0",
        {"event_id": event.id, "survey": event.survey, "answers": {}},
        timeout=timedelta(hours=2),
    )
    intro = core.survey_intro(event.survey).format(title=event.title)
    return Reply.text(intro + "\n\n" + _question_text(ctx, event.survey, 0))


def handle_survey_flow(msg: IncomingMessage, ctx: Context) -> Reply | None:
    conv = ctx.conversation
    assert conv is not None
    if msg.msg_type != "text":
        return None
    data = dict(conv.data or {})
    text = normalize(msg.content)
    if text in CANCEL_WORDS:
        ctx.end_flow()
        return Reply.text(ctx.t("checkin.survey_cancelled"))
    key, index = data["survey"], int(conv.step[1:])
    questions = core.survey_questions(key)
    q = questions[index]
    if q.get("free"):
        answer = text[:500]
    else:
        chosen = core.parse_option(text, len(q["options"]))
        if chosen is None:
            count = len(q["options"])
            return Reply.text(
                ctx.t("checkin.survey_bad_option", max=count, last=core.option_letter(count))
                + "\n"
                + _question_text(ctx, key, index)
            )
        answer = q["options"][chosen - 1]
    answers = {**data.get("answers", {}), q["id"]: answer}
    if index + 1 < len(questions):
        ctx.set_step(f"q{index + 1}", answers=answers)
        return Reply.text(_question_text(ctx, key, index + 1))
    ctx.end_flow()
    if not core.save_answers(ctx.session, data["event_id"], ctx.userid, answers, ctx.now):
        event = get_event(ctx.session, data["event_id"])
        return Reply.text(ctx.t("checkin.survey_already", title=event.title if event else ""))
    return Reply.text(ctx.t("checkin.survey_done"))


def register(router: Router) -> None:
    router.command("问卷", "演练问卷", priority=50, exact=True)(handle_survey_start)
    router.flow(SURVEY_FLOW)(handle_survey_flow)
