"""预警 (risk warnings), 广播 (broadcasts), 统计 (figures), the 收到 card, and the CAP feed jobs.

预警 syntax (arguments in any order, separated by spaces):
    预警 内容                          free text to every active member
    预警 @部门 [@部门 …] 内容            to those departments and their sub-departments
    预警 暴雨 橙色 [@部门] [补充说明]      the warnings.yaml template (暴雨橙色预警 also works)
    … 需确认 / 需确认60 / 无需确认        ask for 收到 (orange/red ask by default), minutes
    预警 待审 | 批准 n | 忽略 n | 状态 n | 用法
预警 and 广播 first show a preview (title, level, scope, how many people) and send only on
「确认发送」 (「取消」 drops it); 撤回 n recalls a sent one within 24 hours. 收到 typed acknowledges
the latest warning still waiting for this person's 收到.
Only admins and safety officers may use 预警, 广播 and 撤回 (the router refuses and audits);
统计 shows a department head their departments' figures and politely refuses anyone else.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict

from bot import stats as stats_mod
from bot.context import Context
from bot.directory import departments_headed
from bot.localtime import stamp
from bot.messages import IncomingMessage, Reply
from bot.people import department_names
from bot.router import Router
from bot.text import normalize
from bot.warnings import acks, cap_alerts, publish
from bot.warnings import recall as recalls
from bot.warnings.summary import summary_lines
from bot.warnings.templates import (
    LEVEL_NAMES,
    LEVELS,
    RenderedWarning,
    level_name,
    match_template,
    render_template,
    render_typed,
    template_mistake,
    warning_templates,
)

log = logging.getLogger(__name__)

_DEPT = re.compile(r"(?<!\S)[@＠](\S+)")
_ACK = re.compile(r"(?<!\S)(?:(需确认)(?:(\d{1,4})(?:分钟)?)?|(无需确认|不需确认))(?!\S)")
_SUBCOMMAND = re.compile(r"^(待审|用法|帮助)$|^(批准|忽略|状态)\s*#?(\d+)$")
FLOW = "warning_confirm"
SEND_WORDS = {"确认发送", "发送", "确认发布"}
CANCEL_WORDS = {"取消", "退出", "算了", "不发了"}
PREVIEW_CHARS = 600


def _split_options(args: str) -> tuple[list[str], bool | None, int | None, str]:
    """(department names, require_ack or None for the default, ack minutes, remaining text)."""
    departments = _DEPT.findall(args)
    text = _DEPT.sub(" ", args)
    require_ack: bool | None = None
    minutes: int | None = None
    for m in _ACK.finditer(text):
        if m.group(3):
            require_ack = False
        else:
            require_ack = True
            if m.group(2):
                minutes = max(1, int(m.group(2)))
    text = _ACK.sub(" ", text)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return departments, require_ack, minutes, "\n".join(lines).strip()


def _scope(ctx: Context, names: list[str]) -> tuple[list[int], str, Reply | None]:
    if not names:
        return [], ctx.t("warning.scope_all"), None
    ids, unknown = publish.departments_by_name(ctx.session, names)
    if unknown:
        return [], "", Reply.text(ctx.t("warning.unknown_departments", names="、".join(unknown)))
    dept_names = publish.department_names(ctx.session, ids)
    return (
        ids,
        ctx.t("warning.scope_departments", names="、".join(dept_names[i] for i in ids)),
        None,
    )


def _usage(ctx: Context) -> Reply:
    hazards = "、".join(str(h["name"]) for h in warning_templates().values())
    return Reply.text(ctx.t("warning.usage", hazards=hazards))


def handle_warning(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    args = args.strip()
    if not args:
        return Reply.text(ctx.t("warning.need_text"))
    sub = _SUBCOMMAND.match(args)
    if sub:
        return _subcommand(ctx, sub.group(1) or sub.group(2), sub.group(3) or "")
    if args.startswith(("批准", "忽略", "状态")):  # never broadcast a mistyped sub-command
        return Reply.text(ctx.t("warning.cap.need_number"))
    names, require_ack, minutes, text = _split_options(ctx.raw_args or args)
    ids, scope_label, error = _scope(ctx, names)
    if error:
        return error
    template = match_template(text)
    if template:
        hazard, level, extra = template
        rendered = render_template(hazard, level, extra)
    else:
        if not text:
            return Reply.text(ctx.t("warning.need_text"))
        mistake = template_mistake(text)
        if mistake:
            return _template_refusal(ctx, text, *mistake)
        rendered = render_typed(text)
    draft = {
        "kind": "warning",
        "rendered": asdict(rendered),
        "department_ids": ids,
        "require_ack": require_ack,
        "ack_minutes": minutes,
        "scope": scope_label,
    }
    return _preview(ctx, draft)


def _template_refusal(ctx: Context, text: str, what: str, word: str) -> Reply:
    hazards = "、".join(str(h["name"]) for h in warning_templates().values())
    levels = "、".join(LEVEL_NAMES[k] for k in LEVELS)
    if what == "level" and not word:
        return Reply.text(ctx.t("warning.level_missing", hazard=text.split()[0]))
    key = "warning.unknown_level" if what == "level" else "warning.unknown_hazard"
    return Reply.text(ctx.t(key, word=word, hazards=hazards, levels=levels))


def _preview(ctx: Context, draft: dict) -> Reply:
    """Show what would be sent, to whom; send only on 确认发送 (the warning_confirm flow)."""
    ids = draft["department_ids"]
    count = len(publish.recipients_for(ctx.session, ids))
    if not count:
        return Reply.text(ctx.t("warning.no_recipients"))
    rendered = RenderedWarning(**draft["rendered"])
    kind = draft["kind"]
    require_ack = draft["require_ack"]
    if require_ack is None:
        require_ack = kind == "warning" and rendered.level in ("orange", "red")
    minutes = draft["ack_minutes"] or publish.DEFAULT_ACK_MINUTES
    text = rendered.text(publish.labels())
    if len(text) > PREVIEW_CHARS:
        text = text[:PREVIEW_CHARS] + ctx.t("warning.preview_cut", chars=len(text))
    ctx.start_flow(FLOW, "confirm", draft)
    return Reply.text(
        ctx.t(
            "warning.preview",
            what=ctx.t(f"warning.kind_{kind}"),
            title=rendered.title,
            level=level_name(rendered.hazard, rendered.level, ctx.t("warning.preview_no_level")),
            scope=draft["scope"].strip("（）"),
            count=count,
            ack=ctx.t("warning.preview_ack", minutes=minutes)
            if require_ack
            else ctx.t("warning.preview_no_ack"),
            text=text,
        )
    )


def flow_confirm(msg: IncomingMessage, ctx: Context) -> Reply:
    draft = dict(ctx.conversation.data or {})
    word = normalize(msg.content) if msg.msg_type == "text" else ""
    what = ctx.t(f"warning.kind_{draft.get('kind', 'warning')}")
    if word in CANCEL_WORDS:
        ctx.end_flow()
        return Reply.text(ctx.t("warning.cancelled", what=what))
    if word not in SEND_WORDS:
        return Reply.text(ctx.t("warning.confirm_again", what=what))
    ctx.end_flow()
    if draft["kind"] == "broadcast":
        return _send_broadcast(ctx, draft)
    return _send_warning(ctx, draft)


def _send_warning(ctx: Context, draft: dict) -> Reply:
    if not publish.recipients_for(ctx.session, draft["department_ids"]):
        return Reply.text(ctx.t("warning.no_recipients"))
    scope_label = draft["scope"]
    warning = publish.publish(
        ctx.session,
        ctx.settings,
        ctx.now,
        created_by=ctx.userid,
        rendered=RenderedWarning(**draft["rendered"]),
        department_ids=draft["department_ids"],
        require_ack=draft["require_ack"],
        ack_minutes=draft["ack_minutes"],
        scope_label=scope_label.strip("（）"),
    )
    ctx.audit("warning", f"#{warning.id} {warning.title} -> {warning.recipients_total}")
    ack = ""
    if warning.require_ack:
        ack = ctx.t("warning.sent_ack", minutes=warning.ack_minutes, id=warning.id)
    if ctx.settings.robot_keys:
        ack += ctx.t("warning.sent_robots", robots=len(ctx.settings.robot_keys))
    return Reply.text(
        ctx.t(
            "warning.sent",
            title=warning.title,
            id=warning.id,
            count=warning.recipients_total,
            scope=scope_label,
            ack=ack,
        )
        + "\n"
        + ctx.t("warning.recall_hint", id=warning.id)
    )


def _subcommand(ctx: Context, word: str, rest: str) -> Reply:
    if word in ("用法", "帮助"):
        return _usage(ctx)
    if word == "待审":
        return _list_pending(ctx)
    n = int(rest)
    if word == "状态":
        return _status(ctx, n)
    approve = word == "批准"
    row, warning = cap_alerts.decide_cap(
        ctx.session, ctx.settings, ctx.now, n, approve=approve, by=ctx.userid
    )
    if row is None:
        return Reply.text(ctx.t("warning.cap.not_pending", n=n))
    ctx.audit("cap_approve" if approve else "cap_ignore", f"cap #{n} {row.headline[:200]}")
    if warning is None:
        return Reply.text(ctx.t("warning.cap.ignored", n=n))
    return Reply.text(
        ctx.t("warning.cap.approved", n=n, title=warning.title, count=warning.recipients_total)
    )


def _list_pending(ctx: Context) -> Reply:
    rows = cap_alerts.pending_alerts(ctx.session)
    if not rows:
        return Reply.text(ctx.t("warning.cap.pending_empty"))
    lines = [ctx.t("warning.cap.pending_title")]
    lines += [
        ctx.t(
            "warning.cap.pending_line",
            n=r.id,
            severity=ctx.texts.raw("warning.cap.severities").get(r.severity, r.severity),
            headline=r.headline or r.event,
            sender=r.sender,
            area=r.area_desc or "-",
        )
        for r in rows
    ]
    lines.append(ctx.t("warning.cap.pending_footer"))
    return Reply.text("\n".join(lines))


def _status(ctx: Context, warning_id: int) -> Reply:
    warning = acks.find_warning(ctx.session, warning_id)
    if warning is None:
        return Reply.text(ctx.t("warning.status_unknown", id=warning_id))
    if not warning.require_ack:
        return Reply.text(
            ctx.t(
                "warning.status_no_ack",
                title=warning.title,
                id=warning.id,
                total=warning.recipients_total,
            )
        )
    pending = acks.unacknowledged(ctx.session, warning.id)
    acked = acks.ack_count(ctx.session, warning.id)
    text = ctx.t(
        "warning.status",
        title=warning.title,
        id=warning.id,
        total=warning.recipients_total,
        acked=acked,
        pending=len(pending),
    )
    if pending:
        names = acks.people_names(ctx.session, [u for u, _ in pending[:100]])
        shown = "、".join(names.get(u) or u for u, _ in pending[:100])
        if len(pending) > 100:
            shown += "…"
        text += "\n" + ctx.t("warning.status_pending", names=shown)
    return Reply.text(text)


def handle_broadcast(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    names, require_ack, minutes, text = _split_options(ctx.raw_args or args.strip())
    if not text:
        return Reply.text(ctx.t("warning.broadcast_usage"))
    ids, scope_label, error = _scope(ctx, names)
    if error:
        return error
    rendered = render_typed(text, prefix=ctx.t("warning.broadcast_prefix"))
    draft = {
        "kind": "broadcast",
        "rendered": asdict(rendered),
        "department_ids": ids,
        "require_ack": bool(require_ack),
        "ack_minutes": minutes,
        "scope": scope_label,
    }
    return _preview(ctx, draft)


def _send_broadcast(ctx: Context, draft: dict) -> Reply:
    if not publish.recipients_for(ctx.session, draft["department_ids"]):
        return Reply.text(ctx.t("warning.no_recipients"))
    rendered = RenderedWarning(**draft["rendered"])
    warning = publish.publish(
        ctx.session,
        ctx.settings,
        ctx.now,
        created_by=ctx.userid,
        rendered=rendered,
        department_ids=draft["department_ids"],
        require_ack=draft["require_ack"],
        ack_minutes=draft["ack_minutes"],
        kind="broadcast",
    )
    ctx.audit("broadcast", f"#{warning.id} {rendered.extra[:200]} -> {warning.recipients_total}")
    ack = ""
    if warning.require_ack:
        ack = ctx.t("warning.sent_ack", minutes=warning.ack_minutes, id=warning.id)
    return Reply.text(
        ctx.t(
            "warning.broadcast_sent",
            count=warning.recipients_total,
            scope=draft["scope"],
            id=warning.id,
        )
        + ack
        + "\n"
        + ctx.t("warning.recall_hint", id=warning.id)
    )


def handle_recall(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    number = args.strip().lstrip("#＃")
    if not number.isdigit():
        return Reply.text(ctx.t("warning.recall_usage"))
    result = recalls.recall(ctx.session, int(number), ctx.now, by=ctx.userid)
    if result.status == "unknown":
        return Reply.text(ctx.t("warning.status_unknown", id=number))
    title = result.warning.title
    if result.status == "expired":
        return Reply.text(ctx.t("warning.recall_expired", id=number, title=title))
    if result.status == "already":
        return Reply.text(ctx.t("warning.recall_already", id=number, title=title))
    ctx.audit(
        "recall",
        f"#{number} {title[:200]}: {result.recalled} recalled, {result.cancelled} cancelled",
    )
    return Reply.text(ctx.t("warning.recalled", id=number, title=title))


def handle_stats(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    """Officers: the whole campaign. Department heads: their departments. Others: a refusal."""
    if ctx.is_admin:
        figures = stats_mod.compute_stats(ctx.session, ctx.now)
        title = ctx.t("stats.title", date=stamp(ctx.now, ctx.settings.tz))
        return Reply.text("\n".join(summary_lines(figures, title)))
    departments = departments_headed(ctx.session, ctx.user, ctx.userid)
    if not departments:
        ctx.audit("refused:统计", allowed=False)
        return Reply.text(ctx.t("warning.stats_refused"))
    figures = stats_mod.department_stats(ctx.session, ctx.now, departments)
    return Reply.text(department_summary(ctx, figures, departments))


def department_summary(ctx: Context, figures: dict, departments: set[int]) -> str:
    members = figures["members"]
    pledges, quiz, hazards, acks = (
        figures["pledges"],
        figures["quiz"],
        figures["hazards"],
        figures["warning_acks"],
    )
    rate = pledges["signed"] / pledges["in_scope"] if pledges["in_scope"] else 0.0
    title = ctx.t(
        "warning.dept_stats_title",
        departments="、".join(department_names(ctx.session, departments)),
        date=stamp(ctx.now, ctx.settings.tz),
    )
    body = ctx.t(
        "warning.dept_stats_body",
        members=members,
        signed=pledges["signed"],
        in_scope=pledges["in_scope"],
        pledge_rate=f"{rate:.1%}",
        quiz_today=quiz["today"],
        quiz_ever=quiz["ever"],
        checkins=figures["checkins_today"],
        hazards_open=hazards["open"],
        hazards_closed=hazards["closed"],
        acked=acks["acked"],
        asked=acks["asked"],
    )
    return "\n".join([title, body, ctx.t("warning.dept_stats_hint")])


def handle_ack_card(msg: IncomingMessage, ctx: Context) -> Reply:
    """The 收到 button: record the acknowledgement once, turn the card into 已收到."""
    parts = msg.event_key.split(":")
    warning_id = int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else None
    warning = acks.find_warning(ctx.session, warning_id)
    if warning is None:
        return Reply.text(ctx.t("warning.ack_unknown"))
    recorded = acks.record_ack(ctx.session, warning.id, ctx.userid, ctx.now)
    if recorded is None:
        return Reply.text(ctx.t("warning.ack_not_recipient"))
    acked_at = acks.acked_at(ctx.session, warning.id, ctx.userid) or ctx.now
    reply = Reply.text(
        ctx.t(acks.thanks_key(warning) if recorded else "warning.ack_again", title=warning.title)
    )
    reply.card_update = acks.ack_card(warning, ctx.now, acked_at=acked_at, tz=ctx.settings.tz)
    return reply


def handle_ack_text(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    """「收到」 typed: acknowledge the latest warning still waiting for this person's 收到."""
    warning = acks.latest_unacknowledged(ctx.session, ctx.userid)
    if warning is None:
        return Reply.text(ctx.t("warning.ack_nothing"))
    acks.record_ack(ctx.session, warning.id, ctx.userid, ctx.now)
    return Reply.text(ctx.t(acks.thanks_key(warning), title=warning.title))


def register(router: Router) -> None:
    router.command("预警", admin=True)(handle_warning)
    router.command("广播", admin=True)(handle_broadcast)
    router.command("撤回", admin=True)(handle_recall)
    router.command("收到", "已收到", exact=True)(handle_ack_text)
    router.flow(FLOW, interrupt="any")(flow_confirm)
    # Not admin=True: department heads see their departments' figures (handle_stats decides).
    router.command("统计", exact=True)(handle_stats)
    router.card("warning:")(handle_ack_card)
