"""预警 (risk warnings), 广播 (broadcasts), 统计 (figures), the 收到 card, and the CAP feed jobs.

预警 syntax (arguments in any order, separated by spaces):
    预警 内容                          free text to every active member
    预警 @部门 [@部门 …] 内容            to those departments and their sub-departments
    预警 暴雨 橙色 [@部门] [补充说明]      the warnings.yaml template (暴雨橙色预警 also works)
    … 需确认 / 需确认60 / 无需确认        ask for 收到 (orange/red ask by default), minutes
    预警 待审 | 批准 n | 忽略 n | 状态 n | 用法
Only admins and safety officers may use 预警, 广播 and 统计 (the router refuses and audits).
"""

from __future__ import annotations

import logging
import re

from bot import stats as stats_mod
from bot.context import Context
from bot.localtime import stamp
from bot.messages import IncomingMessage, Reply
from bot.router import Router
from bot.warnings import acks, cap_alerts, publish
from bot.warnings.templates import match_template, render_template, render_typed, warning_templates

log = logging.getLogger(__name__)

_DEPT = re.compile(r"(?<!\S)[@＠](\S+)")
_ACK = re.compile(r"(?<!\S)(?:(需确认)(?:(\d{1,4})(?:分钟)?)?|(无需确认|不需确认))(?!\S)")
_SUBCOMMAND = re.compile(r"^(待审|用法|帮助)$|^(批准|忽略|状态)\s*#?(\d+)$")


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
        hazard_alone = {str(h["name"]) for h in warning_templates().values()}
        if text in hazard_alone:
            return Reply.text(ctx.t("warning.level_missing", hazard=text))
        if not text:
            return Reply.text(ctx.t("warning.need_text"))
        rendered = render_typed(text)
    if not publish.recipients_for(ctx.session, ids):
        return Reply.text(ctx.t("warning.no_recipients"))
    warning = publish.publish(
        ctx.session,
        ctx.settings,
        ctx.now,
        created_by=ctx.userid,
        rendered=rendered,
        department_ids=ids,
        require_ack=require_ack,
        ack_minutes=minutes,
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
            severity=r.severity,
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
    names, _, _, text = _split_options(ctx.raw_args or args.strip())
    if not text:
        return Reply.text(ctx.t("warning.broadcast_usage"))
    ids, scope_label, error = _scope(ctx, names)
    if error:
        return error
    if not publish.recipients_for(ctx.session, ids):
        return Reply.text(ctx.t("warning.no_recipients"))
    rendered = render_typed(text, prefix=ctx.t("warning.broadcast_prefix"))
    warning = publish.publish(
        ctx.session,
        ctx.settings,
        ctx.now,
        created_by=ctx.userid,
        rendered=rendered,
        department_ids=ids,
        require_ack=False,
        kind="broadcast",
    )
    ctx.audit("broadcast", f"#{warning.id} {text[:200]} -> {warning.recipients_total}")
    return Reply.text(
        ctx.t(
            "warning.broadcast_sent",
            count=warning.recipients_total,
            scope=scope_label,
            id=warning.id,
        )
    )


def handle_stats(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    figures = stats_mod.compute_stats(ctx.session, ctx.now)
    labels = dict(ctx.texts.raw("stats.labels"))
    labels.update(ctx.texts.raw("warning.stats_labels"))
    # Labelled figures first, in the order of the labels; the rest by key.
    order = {key: i for i, key in enumerate(labels)}
    keys = sorted(figures, key=lambda k: (order.get(k, len(order)), k))
    lines = [ctx.t("stats.title", date=stamp(ctx.now, ctx.settings.tz))]
    for key in keys:
        lines.append(ctx.t("stats.line", label=labels.get(key, key), value=_figure(figures[key])))
    return Reply.text("\n".join(lines))


def _figure(value, nested: bool = False) -> str:
    if isinstance(value, dict):
        sep = " / " if nested else "，"
        text = sep.join(f"{k} {_figure(v, True)}" for k, v in value.items()) or "-"
        return f"({text})" if nested else text
    if isinstance(value, list | tuple):
        return "、".join(_figure(v, True) for v in value) or "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


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
        ctx.t("warning.ack_thanks" if recorded else "warning.ack_again", title=warning.title)
    )
    reply.card_update = acks.ack_card(warning, ctx.now, acked_at=acked_at, tz=ctx.settings.tz)
    return reply


def register(router: Router) -> None:
    router.command("预警", admin=True)(handle_warning)
    router.command("广播", admin=True)(handle_broadcast)
    router.command("统计", admin=True, exact=True)(handle_stats)
    router.card("warning:")(handle_ack_card)
