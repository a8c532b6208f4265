"""检查 (inspectors) and 排查 (officers) in chat.

`检查` (or the card's 开始检查 button) walks the inspector through their checklist one item
at a time: 合格 / 不合格 / 不适用 (1/2/3, ✓/✗, 对/错); a 不合格 asks for a photo and a note,
both skippable, and opens a hazard ticket. Progress is kept per item in the database, so the
conversation holds only which assignment is being done.

`排查 发起 模板 部门 检查人 [部门 检查人 …] 截止日期`, `排查 模板`, `排查 进度` are the
officers' commands (bot.inspection.officer holds their logic).
"""

from __future__ import annotations

from datetime import timedelta

from bot.context import Context
from bot.inspection import answering, officer, rounds
from bot.inspection.templates import Template, get_template
from bot.messages import IncomingMessage, Reply
from bot.models import InspectionAssignment
from bot.router import Router
from bot.text import normalize

FLOW = "inspection"
# An inspection is a walk round a building: give the inspector time between items.
FLOW_TIMEOUT = timedelta(hours=4)
STOP_WORDS = {"暂停", "结束", "退出", "停止", "稍后", "取消", "先到这", "下次再说"}


# -- entry points -------------------------------------------------------------------------------
def handle_inspect(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    mine = rounds.open_assignments(ctx.session, ctx.userid)
    if not mine:
        return Reply.text(ctx.t("inspection.nothing_to_do"))
    return Reply.text(_begin(ctx, mine[0], others=len(mine) - 1))


def handle_card(msg: IncomingMessage, ctx: Context) -> Reply | None:
    parts = msg.event_key.split(":")
    if len(parts) != 3 or parts[1] != "start" or not parts[2].isdigit():
        return None
    a = ctx.session.get(InspectionAssignment, int(parts[2]))
    if a is None or a.inspector != ctx.userid:
        return Reply.text(ctx.t("inspection.nothing_to_do"))
    if a.status == "done":
        return Reply.text(ctx.t("inspection.already_done"))
    return Reply.text(_begin(ctx, a, others=0))


def handle_officer(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    return Reply.text(officer.run(ctx.session, ctx.settings, ctx.userid, ctx.now, args))


def _begin(ctx: Context, a: InspectionAssignment, others: int) -> str:
    template = get_template(a.round.template_id)
    if template is None:
        return ctx.t("inspection.template_gone", template=a.round.template_id)
    ctx.start_flow(FLOW, "answer", {"assignment": a.id}, timeout=FLOW_TIMEOUT)
    p = rounds.progress(ctx.session, a)
    head = ctx.t(
        "inspection.begin" if p.answered == 0 else "inspection.continue",
        title=template.title,
        department=officer.place(ctx.session, a),
        count=len(template.items),
        answered=p.answered,
        due=a.round.due.isoformat(),
    )
    if others:
        head += "\n" + ctx.t("inspection.others", count=others)
    return "\n".join([head, _question(ctx, a, template)])


# -- the checklist conversation -------------------------------------------------------------
def flow_inspect(msg: IncomingMessage, ctx: Context) -> Reply | None:
    conv = ctx.conversation
    assert conv is not None
    a = ctx.session.get(InspectionAssignment, int((conv.data or {}).get("assignment") or 0))
    template = get_template(a.round.template_id) if a is not None else None
    if a is None or template is None or a.inspector != ctx.userid:
        ctx.end_flow()
        return None
    conv.expires_at = ctx.now + FLOW_TIMEOUT  # every answer gives the inspector more time
    text = normalize(msg.content) if msg.msg_type == "text" else ""
    if text in STOP_WORDS:
        ctx.end_flow()
        p = rounds.progress(ctx.session, a)
        return Reply.text(ctx.t("inspection.stopped", answered=p.answered, total=p.total))
    step = answering.current_step(ctx.session, a, template)
    s, settings = ctx.session, ctx.settings
    lines: list[str] = []
    if step.kind == "item":
        value = answering.parse_answer(text) if text else None
        if value is None:
            return Reply.text(
                "\n".join([ctx.t("inspection.answer_hint"), _question(ctx, a, template)])
            )
        answering.answer(s, settings, a, template, step.item, value, actor=ctx.userid, now=ctx.now)
        if value == "fail" and step.item.critical:
            lines.append(ctx.t("inspection.critical_told"))
    elif step.kind == "photo":
        row = answering.locked_result(s, step.result.id)
        if msg.msg_type == "image" and msg.media_id:
            answering.add_photo(row, msg.media_id)
            lines.append(ctx.t("inspection.photo_saved"))
        elif text in answering.SKIP_WORDS:
            answering.add_photo(row, None)
        else:
            return Reply.text(ctx.t("inspection.photo_hint"))
    elif step.kind == "note":
        if msg.msg_type != "text" or not text:
            return Reply.text(ctx.t("inspection.note_hint"))
        row = answering.locked_result(s, step.result.id)
        note = "" if text in answering.SKIP_WORDS else " ".join((msg.content or "").split())
        hazard = answering.add_note(
            s, settings, a, template, row, note, actor=ctx.userid, now=ctx.now
        )
        if hazard is not None:
            lines.append(ctx.t("inspection.ticket_opened", ticket=hazard.ticket))
    lines.append(_question(ctx, a, template))
    return Reply.text("\n".join(lines))


def _question(ctx: Context, a: InspectionAssignment, template: Template) -> str:
    """The next thing to ask; at the end, the summary (and the conversation ends)."""
    step = answering.current_step(ctx.session, a, template)
    n = len(template.items)
    if step.kind == "item":
        item = step.item
        hint = ctx.t("inspection.item_hint", hint=item.hint) if item.hint else ""
        return ctx.t(
            "inspection.item",
            index=step.index + 1,
            total=n,
            text=item.text,
            hint=hint,
            critical=ctx.t("inspection.item_critical") if item.critical else "",
        )
    if step.kind == "photo":
        return ctx.t("inspection.ask_photo", index=step.index + 1, total=n)
    if step.kind == "note":
        return ctx.t("inspection.ask_note", index=step.index + 1, total=n)
    answering.finish_if_complete(ctx.session, a, template, ctx.now)
    ctx.end_flow()
    return officer.summary(ctx.session, a)


def resume_inspect(ctx: Context) -> str:
    conv = ctx.conversation
    a = ctx.session.get(InspectionAssignment, int((conv.data or {}).get("assignment") or 0))
    template = get_template(a.round.template_id) if a is not None else None
    if a is None or template is None:
        return ctx.t("inspection.nothing_to_do")
    return _question(ctx, a, template)


def register(router: Router) -> None:
    router.command("检查", "开始检查", "安全检查", exact=True)(handle_inspect)
    router.command("排查", "隐患排查", admin=True)(handle_officer)
    # A bare command (帮助, 答题) pauses the checklist; 「继续」 or 「检查」 brings it back.
    router.flow(FLOW, interrupt="bare", resume=resume_inspect)(flow_inspect)
    router.card(rounds.CARD_PREFIX)(handle_card)
