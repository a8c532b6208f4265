"""报送 (departments report the activities they ran), for department heads and the people
they name.

`报送` starts a short conversation: (department) → kind → date → place → description →
head count → photos (跳过) → 确认. `报送 补充 编号 内容` answers a send-back,
`报送 委托 姓名` / `报送 取消委托 姓名` name who files for the department, `报送 记录` lists
the department's reports.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.activity import reports
from bot.activity.reports import ActivityError
from bot.context import Context
from bot.messages import IncomingMessage, Reply, text_message
from bot.people import department_name, find_users
from bot.router import Router
from bot.text import normalize

FLOW = "activity"
CANCEL_WORDS = {"取消", "退出", "算了", "不报了"}
SKIP_WORDS = {"跳过", "无", "没有", "不用", "略过"}
DONE_WORDS = {"好了", "完成", "好", "发完了", "没有了"}
CONFIRM_WORDS = {"确认", "确定", "提交", "是"}
MAX_PHOTOS = 9


def handle_report(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    first, _, rest = args.partition(" ")
    if first == "补充":
        return _resubmit(ctx, rest)
    if first in ("委托", "取消委托"):
        return _delegate(ctx, first == "委托", rest.strip())
    if first in ("记录", "列表"):
        return _mine(ctx)
    departments = reports.filing_departments(ctx.session, ctx.userid)
    if not departments:
        return Reply.text(ctx.t("activity.not_filer"))
    if len(departments) > 1:
        ctx.start_flow(FLOW, "department", {"choices": departments, "photos": []})
        return Reply.text(_ask_department(ctx, departments))
    ctx.start_flow(FLOW, "kind", {"department_id": departments[0], "photos": []})
    return Reply.text(ctx.t("activity.ask_kind", options=reports.kind_options()))


def flow_report(msg: IncomingMessage, ctx: Context) -> Reply | None:
    conv = ctx.conversation
    assert conv is not None
    data: dict[str, Any] = dict(conv.data or {})
    text = normalize(msg.content) if msg.msg_type == "text" else ""
    raw = " ".join((msg.content or "").split()) if msg.msg_type == "text" else ""
    if text in CANCEL_WORDS:
        ctx.end_flow()
        return Reply.text(ctx.t("activity.cancelled"))
    step = conv.step

    if msg.msg_type == "image":
        if step != "photos":
            return Reply.text(resume_report(ctx))
        photos = [p for p in data.get("photos") or [] if p != msg.media_id]
        if len(photos) >= MAX_PHOTOS:
            return Reply.text(ctx.t("activity.photos_hint"))
        ctx.set_step("photos", photos=[*photos, msg.media_id])
        return Reply.text(ctx.t("activity.photo_saved", count=len(photos) + 1))
    if msg.msg_type != "text" or not text:
        return Reply.text(resume_report(ctx))

    if step == "department":
        choices = data.get("choices") or []
        if not (text.isdigit() and 1 <= int(text) <= len(choices)):
            return Reply.text(ctx.t("activity.department_hint", max=len(choices)))
        ctx.set_step("kind", department_id=choices[int(text) - 1])
        return Reply.text(ctx.t("activity.ask_kind", options=reports.kind_options()))
    if step == "kind":
        kind = reports.parse_kind(text)
        if kind is None:
            return Reply.text(ctx.t("activity.kind_hint", max=len(reports.kinds())))
        ctx.set_step("date", kind=kind)
        return Reply.text(ctx.t("activity.ask_date"))
    if step == "date":
        try:
            held_on = reports.parse_date(text, ctx.today)
        except ActivityError as exc:
            return Reply.text(ctx.t(f"activity.{exc.key}", **exc.values))
        ctx.set_step("place", held_on=held_on.isoformat())
        return Reply.text(ctx.t("activity.ask_place"))
    if step == "place":
        ctx.set_step("description", place=raw[: reports.MAX_PLACE])
        return Reply.text(ctx.t("activity.ask_description"))
    if step == "description":
        ctx.set_step("head_count", description=(msg.content or "").strip())
        return Reply.text(ctx.t("activity.ask_head_count"))
    if step == "head_count":
        try:
            head_count = reports.parse_head_count(text)
        except ActivityError as exc:
            return Reply.text(ctx.t(f"activity.{exc.key}"))
        ctx.set_step("photos", head_count=head_count)
        return Reply.text(ctx.t("activity.ask_photos"))
    if step == "photos":
        if text in DONE_WORDS or text in SKIP_WORDS:
            ctx.set_step("confirm")
            return Reply.text(_confirmation(ctx, {**data}))
        return Reply.text(ctx.t("activity.photos_hint"))
    if step == "confirm":
        if text not in CONFIRM_WORDS:
            return Reply.text(ctx.t("activity.confirm_hint"))
        return _file(msg, ctx, data)
    ctx.end_flow()  # an unknown step (the code changed under a live conversation)
    return None


def _file(msg: IncomingMessage, ctx: Context, data: dict[str, Any]) -> Reply:
    held_on = date.fromisoformat(data["held_on"])
    report = reports.file_report(
        ctx.session,
        # The confirming message: WeCom's retry of it carries the same MsgId.
        source_key=f"chat:{msg.dedup_key}",
        department_id=data.get("department_id"),
        filed_by=ctx.userid,
        kind=data["kind"],
        held_on=held_on,
        place=data.get("place") or "",
        description=data.get("description") or "",
        head_count=int(data["head_count"]),
        media_ids=list(data.get("photos") or []),
        now=ctx.now,
    )
    ctx.end_flow()
    if report is None:  # already filed by this very message
        return Reply.text(ctx.t("activity.cancelled"))
    ctx.audit("activity:file", detail=f"{report.id} {report.kind} {report.held_on}")
    return Reply.text(
        ctx.t(
            "activity.filed",
            id=report.id,
            department=department_name(ctx.session, report.department_id) or "-",
            kind=reports.kind_label(report.kind),
            date=f"{held_on.month}月{held_on.day}日",
            head_count=report.head_count,
        )
    )


def _confirmation(ctx: Context, data: dict[str, Any]) -> str:
    held_on = data.get("held_on", "")
    return ctx.t(
        "activity.confirm",
        department=department_name(ctx.session, data.get("department_id")) or "-",
        kind=reports.kind_label(data.get("kind", "")),
        date=held_on,
        place=data.get("place") or "-",
        head_count=data.get("head_count"),
        description=data.get("description") or "",
        photos=len(data.get("photos") or []),
    )


def _ask_department(ctx: Context, departments: list[int]) -> str:
    options = "\n".join(
        f"{i}. {department_name(ctx.session, d)}" for i, d in enumerate(departments, start=1)
    )
    return ctx.t("activity.ask_department", options=options)


def _resubmit(ctx: Context, rest: str) -> Reply:
    raw = " ".join(ctx.raw_args.split())
    number, _, addition = raw.partition(" ")[2].partition(" ")
    if not number.isdigit() or not addition.strip():
        return Reply.text(ctx.t("activity.resubmit_usage"))
    try:
        report = reports.resubmit(ctx.session, int(number), ctx.userid, addition, ctx.now)
    except ActivityError as exc:
        return Reply.text(ctx.t(f"activity.{exc.key}", **exc.values))
    ctx.audit("activity:resubmit", detail=f"{report.id} {addition}"[:500])
    return Reply.text(ctx.t("activity.resubmitted", id=report.id))


def _delegate(ctx: Context, add: bool, who: str) -> Reply:
    if not who:
        return Reply.text(ctx.t("activity.delegate_usage"))
    headed = reports.headed_departments(ctx.session, ctx.userid)
    if not headed:
        return Reply.text(ctx.t("activity.delegate_not_head"))
    people = find_users(ctx.session, who)
    if not people:
        return Reply.text(ctx.t("activity.delegate_unknown", name=who))
    if len(people) > 1:
        return Reply.text(ctx.t("activity.delegate_ambiguous", name=who))
    person, department_id = people[0], headed[0]
    # A head of several departments names the delegate for the one the person belongs to.
    for d in headed:
        if d in (person.department_ids or [person.department_id]):
            department_id = d
    name, dept = person.name or person.userid, department_name(ctx.session, department_id)
    if not add:
        gone = reports.remove_delegate(ctx.session, department_id, person.userid)
        key = "activity.delegate_removed" if gone else "activity.delegate_none"
        return Reply.text(ctx.t(key, name=name, department=dept))
    if not reports.add_delegate(ctx.session, department_id, person.userid, ctx.userid, ctx.now):
        return Reply.text(ctx.t("activity.delegate_exists", name=name, department=dept))
    ctx.audit("activity:delegate", detail=f"{department_id} {person.userid}")
    ctx.send(
        [person.userid],
        text_message(ctx.t("activity.delegate_notice", head=ctx.display_name, department=dept)),
        source="activity:delegate",
    )
    return Reply.text(ctx.t("activity.delegate_added", name=name, department=dept))


def _mine(ctx: Context) -> Reply:
    departments = reports.filing_departments(ctx.session, ctx.userid)
    if not departments:
        return Reply.text(ctx.t("activity.not_filer"))
    rows = reports.department_reports(ctx.session, departments, limit=10)
    if not rows:
        return Reply.text(ctx.t("activity.mine_empty"))
    lines = [ctx.t("activity.mine_title", count=len(rows))]
    lines += [
        ctx.t(
            "activity.mine_line",
            id=r.id,
            date=r.held_on.isoformat(),
            kind=reports.kind_label(r.kind),
            head_count=r.head_count,
            status=reports.status_label(r.status),
        )
        for r in rows
    ]
    return Reply.text("\n".join(lines))


def resume_report(ctx: Context) -> str:
    """The question of the step the conversation is at (also 「继续」 after a pause)."""
    conv = ctx.conversation
    step = conv.step if conv else ""
    data = dict(conv.data or {}) if conv else {}
    if step == "department":
        return _ask_department(ctx, data.get("choices") or [])
    if step == "kind":
        return ctx.t("activity.ask_kind", options=reports.kind_options())
    if step == "confirm":
        return _confirmation(ctx, data)
    keys = {
        "date": "ask_date",
        "place": "place_hint",
        "description": "description_hint",
        "head_count": "ask_head_count",
        "photos": "photos_hint",
    }
    return ctx.t(f"activity.{keys.get(step, 'ask_date')}")


def register(router: Router) -> None:
    router.command("报送", "活动报送")(handle_report)
    # A command typed alone (帮助) is not a place or a description; at 确认 the flow takes
    # every word (「确认」 is also the pledge's command).
    router.flow(FLOW, interrupt="bare", steps={"confirm": "none"}, resume=resume_report)(
        flow_report
    )
