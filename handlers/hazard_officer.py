"""The hazard ledger (隐患台账) in chat, for safety officers: `隐患 列表`, `隐患 查看 YH-…`,
`隐患 指派 …` and the other subcommands (handlers.hazard routes them here by their first word),
and the ledger card buttons (受理, 开始整改, 整改完成, 验收).
"""

from __future__ import annotations

from bot.context import Context
from bot.hazard import grading, labels, ledger, notices, queries, states
from bot.hazard.grades import grade_label, major_criteria_lines, parse_grade
from bot.localtime import parse_chat_date, stamp
from bot.messages import IncomingMessage, Reply
from bot.models import HazardReport
from bot.people import department_name, display, find_users
from bot.router import Router
from bot.tickets import parse_ticket

# The owner's fix conversation (handlers.hazard runs it; the 整改完成 card button starts it).
FIX_FLOW = "hazard_fix"

# 隐患 <subcommand> … : officer commands, by their first word.
ADMIN_SUBCOMMANDS = {
    "列表": "list",
    "台账": "usage",
    "命令": "usage",
    "查看": "view",
    "受理": "accept",
    "指派": "assign",
    "整改": "start",
    "完成": "finish",
    "验收": "verify",
    "关闭": "close",
    "驳回": "reject",
    "退回": "return",
    "退回整改": "return",
    "定级": "grade",
    "方案": "plan",
}
LIST_LIMIT = 30


# -- card buttons -------------------------------------------------------------------------------
def handle_card(msg: IncomingMessage, ctx: Context) -> Reply | None:
    parts = msg.event_key.split(":")
    if len(parts) != 3:
        return None
    _, action, ticket = parts
    hazard = queries.get_by_ticket(ctx.session, ticket, lock=True)
    if hazard is None:
        return Reply.text(ctx.t("hazard.not_found", ticket=ticket))
    allowed = (
        ctx.is_admin
        or (action in ("start", "done") and ctx.userid == hazard.owner)
        or (action == "verify" and ctx.userid == hazard.rechecker)
    )
    if not allowed:
        ctx.audit("refused:hazard:card:" + action, detail=ticket, allowed=False)
        return Reply.text(ctx.t("hazard.not_owner"))
    if action == "done":
        if hazard.status == "accepted":  # "done" implies the work started: record both steps
            try:
                ledger.change(
                    ctx.session, ctx.settings, hazard, "start", actor=ctx.userid, now=ctx.now
                )
            except states.TransitionRefused as exc:
                return Reply.text(refused(ctx, hazard, "finish", exc))
        if hazard.status != "rectifying":
            return Reply.text(
                refused(ctx, hazard, "finish", states.IllegalTransition(hazard.status, "finish"))
            )
        ctx.start_flow(FIX_FLOW, "proof", {"ticket": hazard.ticket})
        return Reply.text(ctx.t("hazard.fix_ask"))
    if action not in ("accept", "start", "verify"):
        return None
    try:
        ledger.change(ctx.session, ctx.settings, hazard, action, actor=ctx.userid, now=ctx.now)
    except states.TransitionRefused as exc:
        return Reply.text(refused(ctx, hazard, action, exc))
    ctx.audit("hazard:" + action, detail=ticket)
    reply = Reply.text(done(ctx, hazard, action))
    if action == "accept":
        reply.card_update = notices.new_report_card(ctx.session, hazard, done=True)
    elif action == "verify":
        reply.card_update = notices.verify_card(
            ctx.session, hazard, replace=ctx.t("hazard.card_verified")
        )
    return reply


# -- officer commands ---------------------------------------------------------------------------
def run_admin(ctx: Context, sub: str, word: str, rest: str) -> Reply:
    if sub == "list":
        return Reply.text(list_open(ctx))
    if sub == "usage":
        return Reply.text(ctx.t("hazard.admin_usage"))
    ticket_text, _, extra = rest.partition(" ")
    ticket = parse_ticket(ticket_text, ledger.PREFIX)
    if ticket is None:
        return Reply.text(ctx.t("hazard.need_ticket", command=word))
    hazard = queries.get_by_ticket(ctx.session, ticket, lock=True)
    if hazard is None:
        return Reply.text(ctx.t("hazard.not_found", ticket=ticket))
    extra = extra.strip()
    if sub == "view":
        return Reply.text(view(ctx, hazard))
    if sub == "assign":
        return Reply.text(assign(ctx, hazard, extra))
    if sub == "grade":
        return Reply.text(grade(ctx, hazard, extra))
    if sub == "plan":
        if not extra:
            return Reply.text(ctx.t("hazard.plan_usage", ticket=hazard.ticket))
        grading.set_plan(ctx.session, hazard, extra, actor=ctx.userid, now=ctx.now)
        ctx.audit("hazard:plan", detail=f"{ticket} {extra}"[:500])
        return Reply.text(ctx.t("hazard.plan_saved", ticket=hazard.ticket))
    has_photo = sub == "finish" and queries.has_rectify_photo(ctx.session, hazard)
    try:
        ledger.change(
            ctx.session,
            ctx.settings,
            hazard,
            sub,
            actor=ctx.userid,
            now=ctx.now,
            note=extra,
            has_photo=has_photo,
        )
    except states.TransitionRefused as exc:
        return Reply.text(refused(ctx, hazard, sub, exc))
    ctx.audit("hazard:" + sub, detail=f"{ticket} {extra}"[:500])
    return Reply.text(done(ctx, hazard, sub))


def done(ctx: Context, hazard: HazardReport, action: str) -> str:
    return ctx.t(
        "hazard.done",
        ticket=hazard.ticket,
        action=labels.action_label(action),
        status=states.status_label(hazard.status),
    )


def refused(ctx: Context, hazard: HazardReport, action: str, exc: states.TransitionRefused) -> str:
    if isinstance(exc, states.IllegalTransition):
        actions = states.allowed_actions(hazard.status)
        hint = (
            ctx.t("hazard.refused_hint", actions="、".join(labels.action_label(a) for a in actions))
            if actions
            else ctx.t("hazard.refused_hint_none")
        )
        return ctx.t(
            "hazard.refused_illegal",
            ticket=hazard.ticket,
            status=states.status_label(hazard.status),
            action=labels.action_label(action),
            hint=hint,
        )
    return ctx.t(f"hazard.refused_{exc.reason}", ticket=hazard.ticket)


def list_open(ctx: Context) -> str:
    today = ctx.today
    rows = queries.open_hazards(ctx.session, today)
    if not rows:
        return ctx.t("hazard.list_empty")
    unset = ctx.t("hazard.unset")
    lines = [ctx.t("hazard.list_title", count=len(rows))]
    for h in rows[:LIST_LIMIT]:
        days = queries.days_overdue(h, today)
        lines.append(
            ctx.t(
                "hazard.list_line",
                ticket=h.ticket,
                status=states.status_label(h.status),
                description=short(h.description),
                owner=display(ctx.session, h.owner) or unset,
                deadline=h.deadline.isoformat() if h.deadline else unset,
                overdue=ctx.t("hazard.list_overdue", days=days) if days else "",
            )
        )
    if len(rows) > LIST_LIMIT:
        lines.append(ctx.t("hazard.list_more", count=len(rows) - LIST_LIMIT))
    return "\n".join(lines)


def view(ctx: Context, h: HazardReport) -> str:
    s, unset = ctx.session, ctx.t("hazard.unset")
    counts = queries.photo_counts(s, h)
    lines = [
        ctx.t(
            "hazard.view",
            ticket=h.ticket,
            status=states.status_label(h.status),
            reporter=display(s, h.reporter),
            department=department_name(s, h.department_id) or "-",
            reported_at=stamp(h.reported_at, ctx.settings.tz),
            category=labels.category_label(h.category),
            location=h.location or ctx.t("hazard.no_location"),
            description=h.description,
            item=h.item or unset,
            measure=h.measure or unset,
            funds=h.funds or unset,
            owner=display(s, h.owner) or unset,
            deadline=h.deadline.isoformat() if h.deadline else unset,
            rechecker=display(s, h.rechecker) or unset,
            photos=counts["report"],
            fix_photos=counts["rectify"],
            grade_line=ctx.t(
                "hazard.view_grade",
                grade=grade_label(h.grade),
                plan=ctx.t("hazard.view_plan", plan=h.plan) if h.plan else "",
            ),
        )
    ]
    lines.append(ctx.t("hazard.view_history_title"))
    for tr in queries.history(s, h):
        lines.append(
            ctx.t(
                "hazard.view_history_line",
                at=stamp(tr.at, ctx.settings.tz),
                actor=display(s, tr.actor),
                action=labels.action_label(tr.action),
                note=f"（{tr.note}）" if tr.note else "",
            )
        )
    return "\n".join(lines)


def _resolve(ctx: Context, who: str) -> tuple[str | None, str | None]:
    """(userid, None) or (None, the reply explaining why not)."""
    users = find_users(ctx.session, who)
    if not users:
        return None, ctx.t("hazard.who_unknown", who=who)
    if len(users) > 1:
        choices = "\n".join(
            f"{u.name}（{department_name(ctx.session, u.department_id) or '-'}）：{u.userid}"
            for u in users
        )
        return None, ctx.t("hazard.who_ambiguous", count=len(users), who=who, choices=choices)
    return users[0].userid, None


def assign(ctx: Context, hazard: HazardReport, text: str) -> str:
    head, options = ledger.split_options(text)
    words = head.split()
    owner_text = options.pop("owner", None) or (words[0] if words else "")
    deadline_text = options.pop("deadline", None) or (words[1] if len(words) > 1 else "")
    if not owner_text or not deadline_text:
        return ctx.t("hazard.assign_usage", ticket=hazard.ticket)
    deadline = parse_chat_date(deadline_text, ctx.today)
    if deadline is None:
        return ctx.t("hazard.bad_deadline", text=deadline_text)
    if deadline < ctx.today:
        return ctx.t("hazard.past_deadline", deadline=deadline.isoformat())
    owner, problem = _resolve(ctx, owner_text)
    if problem:
        return problem
    rechecker = None
    if options.get("rechecker"):
        rechecker, problem = _resolve(ctx, options["rechecker"])
        if problem:
            return problem
    try:
        ledger.assign(
            ctx.session,
            ctx.settings,
            hazard,
            actor=ctx.userid,
            now=ctx.now,
            owner=owner or "",
            deadline=deadline,
            rechecker=rechecker,
            measure=options.get("measure"),
            funds=options.get("funds"),
            item=options.get("item"),
        )
    except states.TransitionRefused as exc:
        return refused(ctx, hazard, "assign", exc)
    ctx.audit("hazard:assign", detail=f"{hazard.ticket} {text}"[:500])
    return ctx.t(
        "hazard.assigned",
        ticket=hazard.ticket,
        owner=display(ctx.session, owner),
        deadline=deadline.isoformat(),
        rechecker=display(ctx.session, hazard.rechecker) or ctx.t("hazard.unset"),
    )


def grade(ctx: Context, hazard: HazardReport, text: str) -> str:
    """隐患 定级 YH-… 重大|一般: a major grade tells the officers and the leadership at once
    and shows the determination criteria (content/hazard_grades.yaml) to the officer."""
    value = parse_grade(text)
    if value is None:
        return ctx.t("hazard.grade_usage", ticket=hazard.ticket)
    grading.set_grade(ctx.session, ctx.settings, hazard, value, actor=ctx.userid, now=ctx.now)
    ctx.audit("hazard:grade", detail=f"{hazard.ticket} {value}")
    extra = ctx.t("hazard.graded_major_extra", ticket=hazard.ticket) if value == "major" else ""
    lines = [ctx.t("hazard.graded", ticket=hazard.ticket, grade=grade_label(value), extra=extra)]
    criteria = major_criteria_lines() if value == "major" else []
    if criteria:
        lines += [ctx.t("hazard.major_criteria_title"), *criteria]
    return "\n".join(lines)


def short(text: str, n: int = 30) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[:n] + "…"


def register(router: Router) -> None:
    router.card("hazard:")(handle_card)
