"""责任书: read and sign the 安全生产责任书 (text or card), 我的签署, signing rounds.

Admins launch a round (「责任书 发起」 or `safetybot pledge launch`); the hourly
`pledge_reminders` job reminds and escalates (bot.pledge.run_reminders).
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import pledge as core
from bot.context import Context
from bot.messages import IncomingMessage, Reply, text_message
from bot.models import Department, PledgeRoundMember, PledgeSignature, User
from bot.outbox import enqueue
from bot.router import Router

SIGN_WORDS = ("确认签署", "签署", "同意签署", "我承诺")


def when_label(at: datetime, tz) -> str:
    local = at.astimezone(tz)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def my_text(ctx: Context) -> core.PledgeContent:
    key = core.text_key_for(ctx.roles, ctx.user)
    return core.current_texts()[key]


def _hash_values(t: core.PledgeContent) -> dict[str, str]:
    return {"title": t.title, "version": t.version, "hash": t.short_hash}


# -- 责任书 -------------------------------------------------------------------------------------
def handle_pledge(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    if args.startswith("发起"):
        if not ctx.is_admin:
            ctx.audit("refused:责任书发起", detail=args[:500], allowed=False)
            return Reply.text(ctx.t("not_admin", command="责任书 发起"))
        return handle_launch(ctx, args[2:].strip())
    if args.startswith("统计") and ctx.is_admin:
        return Reply.text(completion_text(ctx))
    t = my_text(ctx)
    reply = Reply.texts(*core.text_parts(t))
    done = core.find_signature(ctx.session, ctx.userid, t.hash)
    if done is not None:
        return reply.add_text(
            ctx.t(
                "pledge.already_signed_note",
                when=when_label(done.signed_at, ctx.settings.tz),
                version=t.version,
                hash=t.short_hash,
            )
        )
    reply.add_text(ctx.t("pledge.how_to_sign", **_hash_values(t)))
    task_id = core.task_id_for("show", ctx.userid, t.hash, ctx.now.isoformat(), msg.msg_id)
    return reply.add(
        {
            "msgtype": "template_card",
            "template_card": core.sign_card(
                t,
                task_id=task_id,
                description=ctx.t("pledge.card_desc"),
                button=ctx.t("pledge.card_button"),
            ),
        }
    )


def _sign_reply(ctx: Context, t: core.PledgeContent, channel: str) -> Reply:
    assert ctx.user is not None
    result = core.sign(ctx.session, ctx.user, t, channel=channel, now=ctx.now)
    when = when_label(result.signature.signed_at, ctx.settings.tz)
    if result.created:
        ctx.audit("pledge:sign", detail=f"{t.key} {t.version} {t.hash}")
        return Reply.text(ctx.t("pledge.signed", when=when, **_hash_values(t)))
    return Reply.text(ctx.t("pledge.already_signed", when=when, **_hash_values(t)))


def handle_sign_text(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    return _sign_reply(ctx, my_text(ctx), "text")


def handle_sign_card(msg: IncomingMessage, ctx: Context) -> Reply:
    t = my_text(ctx)
    clicked = msg.event_key[len(core.CARD_KEY_PREFIX) :]
    if clicked != t.hash:
        return Reply.text(ctx.t("pledge.outdated_card"))
    reply = _sign_reply(ctx, t, "card")
    reply.card_update = core.sign_card(
        t,
        task_id=msg.task_id,
        description=ctx.t("pledge.card_desc"),
        button=ctx.t("pledge.card_button"),
        disabled_text=ctx.t("pledge.card_signed"),
    )
    return reply


def handle_my_status(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    t = my_text(ctx)
    tz = ctx.settings.tz
    mine = list(
        ctx.session.scalars(
            select(PledgeSignature)
            .where(PledgeSignature.userid == ctx.userid)
            .order_by(PledgeSignature.signed_at)
        )
    )
    current = next((s for s in mine if s.text_hash == t.hash), None)
    if current is not None:
        channel = ctx.texts.raw("pledge.channels").get(current.channel, current.channel)
        lines = [
            ctx.t(
                "pledge.status_signed",
                when=when_label(current.signed_at, tz),
                channel=channel,
                **_hash_values(t),
            )
        ]
    else:
        lines = [ctx.t("pledge.status_unsigned", **_hash_values(t))]
    older = [s for s in mine if s.text_hash != t.hash]
    if older:
        titles = {k: c.title for k, c in core.current_texts().items()}
        lines += ["", ctx.t("pledge.status_history_title")]
        lines += [
            ctx.t(
                "pledge.status_history_line",
                title=titles.get(s.text_key, s.text_key),
                version=s.text_version,
                hash=s.text_hash[: core.SHORT_HASH],
                when=when_label(s.signed_at, tz),
            )
            for s in older
        ]
    return Reply.text("\n".join(lines))


# -- rounds ------------------------------------------------------------------------------------
def parse_departments(session: Session, text: str) -> tuple[list[int], str | None]:
    """ "3,4" or "生产一车间 生产二车间" -> department ids; the unknown name if any."""
    ids: list[int] = []
    names = {n: i for i, n in session.execute(select(Department.id, Department.name))}
    for part in re.split(r"[\s,，、;；]+", text.strip()):
        if not part:
            continue
        if part.isdigit() and int(part) in names.values():
            ids.append(int(part))
        elif part in names:
            ids.append(names[part])
        else:
            return [], part
    return ids, None


def launch(
    session: Session, launched_by: str, now: datetime, departments: list[int] | None, tz
) -> tuple[int, int, int]:
    """Launch a round and queue the texts and cards. Returns (round id, in scope, pending)."""
    from bot.content import texts

    rnd, to_send = core.launch_round(session, launched_by, now, departments)
    current = core.current_texts()
    for key, userids in sorted(to_send.items()):
        t = current[key]
        bodies = [text_message(texts.get("pledge.launch_notice", title=t.title))]
        bodies += [text_message(p) for p in core.text_parts(t)]
        bodies.append(
            {
                "msgtype": "template_card",
                "template_card": core.sign_card(
                    t,
                    task_id=core.task_id_for("round", str(rnd.id), key),
                    description=texts.get("pledge.card_desc"),
                    button=texts.get("pledge.card_button"),
                ),
            }
        )
        for i, body in enumerate(bodies):
            enqueue(
                session,
                userids,
                body,
                source="pledge:round",
                now=now,
                dedup_key=f"pledge:round:{rnd.id}:{key}:{i}",
            )
    return rnd.id, rnd.members_total, sum(len(v) for v in to_send.values())


def handle_launch(ctx: Context, args: str) -> Reply:
    departments: list[int] = []
    if args:
        departments, unknown = parse_departments(ctx.session, args)
        if unknown is not None:
            return Reply.texts(
                ctx.t("pledge.unknown_department", name=unknown), ctx.t("pledge.launch_usage")
            )
    round_id, total, pending = launch(
        ctx.session, ctx.userid, ctx.now, departments or None, ctx.settings.tz
    )
    ctx.audit("pledge:launch", detail=f"round {round_id} departments {departments or 'all'}")
    return Reply.text(ctx.t("pledge.launched", round=round_id, total=total, pending=pending))


def completion_text(ctx: Context) -> str:
    rows = core.completion_by_department(ctx.session)
    lines = [ctx.t("pledge.completion_title")]
    lines += [ctx.t("pledge.completion_line", department=d, **v) for d, v in rows.items()]
    lines.append(
        ctx.t(
            "pledge.completion_total",
            signed=sum(v["signed"] for v in rows.values()),
            in_scope=sum(v["in_scope"] for v in rows.values()),
        )
    )
    return "\n".join(lines)


# -- stats, jobs -------------------------------------------------------------------------------
def pledge_reminders(session: Session, runtime, now: datetime) -> str:
    return core.run_reminders(session, now, runtime.settings.tz)


def sign_on_paper(session: Session, userid: str, now: datetime):
    """Record a signature given on paper: (SignResult, text) or None for an unknown member."""
    user = session.get(User, userid)
    if user is None:
        return None
    roles = {
        r
        for (r,) in session.execute(
            select(core.RoleAssignment.role).where(core.RoleAssignment.userid == user.userid)
        )
    }
    t = core.current_texts()[core.text_key_for(roles, user)]
    return core.sign(session, user, t, channel="cli", now=now), t


def export_rows(session: Session, tz, round_id: int | None = None) -> tuple[list[list], list[list]]:
    """(person rows, department summary rows) for the pledge export."""
    current = core.current_texts()
    by_hash = {t.hash: t for t in current.values()}
    names = core.department_names(session)
    if round_id is not None:
        members = list(
            session.scalars(select(PledgeRoundMember).where(PledgeRoundMember.round_id == round_id))
        )
        users = {
            u.userid: u
            for u in session.scalars(
                select(User).where(User.userid.in_([m.userid for m in members]))
            )
        }
        scope = [
            (users.get(m.userid), m.userid, m.department_id, m.text_key, m.text_hash)
            for m in members
        ]
    else:
        people = core.active_members(session)
        keys = core.text_keys_for_members(session, people)
        scope = [
            (u, u.userid, u.department_id, keys[u.userid], current[keys[u.userid]].hash)
            for u in people
        ]
    signatures = {(s.userid, s.text_hash): s for s in session.scalars(select(PledgeSignature))}
    rows, summary = [], {}
    for user, userid, dept_id, key, hash_ in scope:
        sig = signatures.get((userid, hash_))
        dept = names.get(dept_id or 0, str(dept_id or ""))
        version = sig.text_version if sig else (by_hash[hash_].version if hash_ in by_hash else "")
        rows.append(
            [
                dept,
                user.name if user else "",
                userid,
                "是" if sig else "否",
                sig.signed_at.astimezone(tz) if sig else None,
                key,
                version,
                hash_[: core.SHORT_HASH],
                sig.channel if sig else "",
            ]
        )
        entry = summary.setdefault(dept, [0, 0])
        entry[0] += 1
        entry[1] += 1 if sig else 0
    rows.sort(key=lambda r: (r[0], r[2]))
    summary_rows = [
        [d, n, s, n - s, round(100 * s / n, 1) if n else 0.0]
        for d, (n, s) in sorted(summary.items())
    ]
    return rows, summary_rows


PLEDGE_SHEET_HEADER = [
    "部门",
    "姓名",
    "账号",
    "是否签署",
    "签署时间",
    "责任书类型",
    "版本",
    "文本编号",
    "签署方式",
]
SUMMARY_HEADER = ["部门", "应签署", "已签署", "未签署", "完成率(%)"]


def register(router: Router) -> None:
    router.command("责任书", "安全生产责任书", priority=50)(handle_pledge)
    router.command(*SIGN_WORDS, priority=50, exact=True)(handle_sign_text)
    # 确认 alone is generic; other features' flows get it first, and their own commands win on priority.
    router.command("确认", priority=20, exact=True)(handle_sign_text)
    router.command("我的签署", "签署状态", priority=50, exact=True)(handle_my_status)
    router.card(core.CARD_KEY_PREFIX)(handle_sign_card)
