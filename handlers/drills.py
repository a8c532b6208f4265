"""推演 (desk exercises) and 演练 (live drills) in chat.

`推演 开始 <场景> <部门|@人…>` (officers) starts a desk exercise: every participant gets the
scenario and its first question; they answer with letters (A, 1, 选B, A C …) or, where a step
allows, a sentence. `推演` alone continues one's own exercise. The facilitator sends `推演 插入`,
`推演 下一步`, `推演 进度`, `推演 结束`.

`演练 创建 <场景> <日期> <时间> <地点> [部门|@人…]` creates a live drill with its check-in
event; `演练 角色 <编号> <角色> <人…>` assigns roles; the facilitator records `演练 开始`,
`演练 疏散完成`, `演练 清点完成`; observers fill `演练 评估`; `演练 照片` collects photos;
`演练 整改 <发现编号> <负责人> <期限>` and `演练 改进 <发现编号> <预案编号>` follow findings up.
"""

from __future__ import annotations

from datetime import timedelta

from bot.context import Context
from bot.drills import desk, live, overview
from bot.drills.common import DrillRefused
from bot.messages import IncomingMessage, Reply
from bot.router import Router
from bot.text import normalize

DESK_FLOW = "drills_desk"
EVAL_FLOW = "drills_eval"
PHOTO_FLOW = "drills_photos"
FLOW_TIMEOUT = timedelta(hours=2)
STOP_WORDS = {"暂停", "退出", "停止", "稍后", "先到这", "下次再说"}
DONE_WORDS = {"好了", "完成", "结束", "没有了", "就这些"}
# A choice typed alone: B, b, 2, 选B, A C, A、C (the router hands the normalised text).
CHOICE = r"(?:我选|选择|选|答案是|答案|答)?[:：]?\s*(?:[A-Za-z]|[1-9])(?:\s*[,，、 ]?\s*(?:[A-Za-z]|[1-9])){0,5}"


# -- desk exercises --------------------------------------------------------------------------------
def handle_desk(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    word, _, rest = args.partition(" ")
    if word in ("", "继续"):
        return _begin_desk(ctx)
    if word in ("场景", "列表"):
        return Reply.text(overview.scenario_list())
    if not ctx.is_admin:
        return Reply.text(ctx.t("not_admin", command="推演 " + word))
    if word == "开始":
        return Reply.text(_start_desk(ctx, rest))
    drill = desk.facilitated_by(ctx.session, ctx.userid)
    if drill is None:
        return Reply.text(ctx.t("drills.desk.none_facilitated"))
    if word == "插入":
        return Reply.text(desk.inject_now(ctx.session, drill, rest.strip(), ctx.now))
    if word == "下一步":
        return Reply.text(desk.move_on(ctx.session, drill, ctx.now))
    if word == "进度":
        return Reply.text(desk.progress_text(ctx.session, drill))
    if word == "结束":
        desk.end(ctx.session, drill, ctx.now)
        return Reply.text(ctx.t("drills.desk.ended", id=drill.id, title=drill.title))
    return Reply.text(ctx.t("drills.desk.usage"))


def _start_desk(ctx: Context, rest: str) -> str:
    words = rest.split()
    if len(words) < 2:
        return ctx.t("drills.desk.usage")
    try:
        departments, people = overview.resolve(ctx.session, words[1:])
        drill = desk.start_desk(
            ctx.session,
            scenario_id=words[0],
            facilitator=ctx.userid,
            department_ids=departments,
            userids=people,
            now=ctx.now,
        )
    except DrillRefused as exc:
        return exc.text()
    ctx.audit("drill:desk-start", f"桌面推演 {drill.id}「{drill.title}」")
    return ctx.t(
        "drills.desk.started",
        id=drill.id,
        title=drill.title,
        count=overview.participant_count(ctx.session, drill.id),
    )


def _begin_desk(ctx: Context) -> Reply:
    drill = desk.active_for(ctx.session, ctx.userid)
    if drill is None:
        return Reply.text(ctx.t("drills.desk.nothing"))
    ctx.start_flow(DESK_FLOW, "answer", {"drill": drill.id}, timeout=FLOW_TIMEOUT)
    return Reply.text(desk.resume_text(ctx.session, drill, ctx.userid, ctx.now))


def choice_typed(msg: IncomingMessage, ctx: Context) -> Reply | None:
    """A letter typed with no conversation: the answer to one's desk exercise, if any."""
    drill = desk.active_for(ctx.session, ctx.userid)
    if drill is None:
        return None
    ctx.start_flow(DESK_FLOW, "answer", {"drill": drill.id}, timeout=FLOW_TIMEOUT)
    return _desk_answer(ctx, drill, msg.content or "")


def flow_desk(msg: IncomingMessage, ctx: Context) -> Reply | None:
    drill = overview.drill(ctx.session, (ctx.conversation.data or {}).get("drill"))
    if drill is None or drill.status != "active":
        ctx.end_flow()
        return None
    text = normalize(msg.content) if msg.msg_type == "text" else ""
    if text in STOP_WORDS:
        ctx.end_flow()
        return Reply.text(ctx.t("drills.desk.stopped"))
    if not text:
        return Reply.text(ctx.t("drills.desk.text_only"))
    ctx.conversation.expires_at = ctx.now + FLOW_TIMEOUT
    return _desk_answer(ctx, drill, msg.content or "")


def _desk_answer(ctx: Context, drill, text: str) -> Reply:
    reply = desk.answer(ctx.session, drill, ctx.userid, normalize(text) or text, ctx.now)
    if desk.active_for(ctx.session, ctx.userid) is None or drill.status != "active":
        ctx.end_flow()
    return Reply.text(reply)


def resume_desk(ctx: Context) -> str:
    drill = overview.drill(ctx.session, (ctx.conversation.data or {}).get("drill"))
    if drill is None:
        return ctx.t("drills.desk.nothing")
    return desk.resume_text(ctx.session, drill, ctx.userid, ctx.now)


# -- live drills -----------------------------------------------------------------------------------
OFFICER_WORDS = {"创建", "角色", "结束", "整改", "改进"}


def handle_live(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    word, _, rest = args.partition(" ")
    rest = rest.strip()
    if word in ("", "列表"):
        return Reply.text(overview.live_list(ctx.session, ctx.settings.tz))
    if word == "评估":
        return _begin_eval(ctx, rest)
    if word == "照片":
        return _begin_photos(ctx, rest)
    if word == "发现":
        return Reply.text(overview.findings_text(ctx.session, _pick(ctx, rest)))
    if not ctx.is_admin:
        return Reply.text(ctx.t("not_admin", command="演练 " + word))
    s, tz = ctx.session, ctx.settings.tz
    try:
        if word == "创建":
            return Reply.text(overview.create_from_chat(s, rest, ctx.userid, ctx.now, tz))
        if word == "角色":
            return Reply.text(overview.roles_from_chat(s, rest))
        if word == "整改":
            return Reply.text(overview.ticket_from_chat(s, ctx.settings, rest, ctx.userid, ctx.now))
        if word == "改进":
            return Reply.text(overview.plan_item_from_chat(s, rest, ctx.now, tz))
    except DrillRefused as exc:
        return Reply.text(exc.text())
    drill = live.current_live(s, ctx.userid, ctx.now, officer=True)
    if word == "结束":
        drill = overview.drill(s, rest) if rest.isdigit() else drill
        if drill is None or drill.kind != "live":
            return Reply.text(ctx.t("drills.live.none_now"))
        return Reply.text(live.end_live(s, drill, ctx.now, tz))
    if drill is None:
        return Reply.text(ctx.t("drills.live.none_now"))
    return Reply.text(live.record_key_time(s, drill, args, ctx.userid, ctx.now, tz))


def _pick(ctx: Context, rest: str):
    if rest.isdigit():
        return overview.drill(ctx.session, rest)
    return overview.latest_live_for(ctx.session, ctx.userid, ctx.now, ctx.is_admin)


def _begin_eval(ctx: Context, rest: str) -> Reply:
    drill = _pick(ctx, rest)
    if drill is None or drill.kind != "live":
        return Reply.text(ctx.t("drills.live.none_to_evaluate"))
    ctx.start_flow(EVAL_FLOW, "answer", {"drill": drill.id}, timeout=FLOW_TIMEOUT)
    return Reply.text(overview.eval_next(ctx.session, drill, ctx.userid, begin=True))


def flow_eval(msg: IncomingMessage, ctx: Context) -> Reply | None:
    drill = overview.drill(ctx.session, (ctx.conversation.data or {}).get("drill"))
    if drill is None:
        ctx.end_flow()
        return None
    text = normalize(msg.content) if msg.msg_type == "text" else ""
    if text in STOP_WORDS:
        ctx.end_flow()
        return Reply.text(ctx.t("drills.eval.stopped"))
    if msg.msg_type == "image" and msg.media_id:
        live.add_photo(ctx.session, drill, msg.media_id, None, ctx.userid, ctx.now)
        return Reply.text(ctx.t("drills.live.photo_saved"))
    reply = overview.eval_answer(ctx.session, drill, ctx.userid, msg.content or "", ctx.now)
    if reply.done:
        ctx.end_flow()
    return Reply.text(reply.text)


def resume_eval(ctx: Context) -> str:
    drill = overview.drill(ctx.session, (ctx.conversation.data or {}).get("drill"))
    if drill is None:
        return ctx.t("drills.live.none_to_evaluate")
    return overview.eval_next(ctx.session, drill, ctx.userid, begin=False)


def _begin_photos(ctx: Context, rest: str) -> Reply:
    drill = _pick(ctx, rest)
    if drill is None or drill.kind != "live":
        return Reply.text(ctx.t("drills.live.none_now"))
    ctx.start_flow(PHOTO_FLOW, "photos", {"drill": drill.id}, timeout=FLOW_TIMEOUT)
    return Reply.text(ctx.t("drills.live.send_photos", title=drill.title))


def flow_photos(msg: IncomingMessage, ctx: Context) -> Reply | None:
    drill = overview.drill(ctx.session, (ctx.conversation.data or {}).get("drill"))
    if drill is None:
        ctx.end_flow()
        return None
    if msg.msg_type == "image" and msg.media_id:
        live.add_photo(ctx.session, drill, msg.media_id, None, ctx.userid, ctx.now)
        return Reply.text(ctx.t("drills.live.photo_saved"))
    text = normalize(msg.content) if msg.msg_type == "text" else ""
    if text in DONE_WORDS or text in STOP_WORDS:
        ctx.end_flow()
        count = len(live.photos_of(ctx.session, drill.id))
        return Reply.text(ctx.t("drills.live.photos_done", count=count))
    return Reply.text(ctx.t("drills.live.photo_hint"))


def register(router: Router) -> None:
    router.command("推演", "桌面推演")(handle_desk)
    router.command("演练", "实战演练")(handle_live)
    router.pattern(CHOICE)(choice_typed)
    # Any command leaves the exercise (推演 插入 from a facilitator who also takes part);
    # the next letter typed comes back to it.
    router.flow(DESK_FLOW, interrupt="any", resume=resume_desk)(flow_desk)
    router.flow(EVAL_FLOW, interrupt="bare", resume=resume_eval)(flow_eval)
    router.flow(PHOTO_FLOW, interrupt="bare")(flow_photos)
