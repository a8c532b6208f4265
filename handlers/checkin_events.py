"""签到 (event sign-in with a 6-digit code, optionally on site) and 活动 (admins create and
follow events, send a drill survey)."""

from __future__ import annotations

import math

from bot.checkin import attendance
from bot.checkin import events as core
from bot.checkin.surveys import send_survey
from bot.context import Context
from bot.localtime import clock_label, label
from bot.messages import IncomingMessage, Reply
from bot.router import Router
from bot.text import normalize

LOCATION_FLOW = "checkin_location"
CANCEL_WORDS = ("取消", "退出", "算了")


# -- 签到 ----------------------------------------------------------------------------------------
def handle_sign_in(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    code = args.replace(" ", "")
    if not core.CODE.match(code):
        return Reply.text(ctx.t("checkin.code_usage"))
    return sign_in_with_code(ctx, code)


def sign_in_with_code(ctx: Context, code: str) -> Reply:
    assert ctx.user is not None
    tz = ctx.settings.tz
    wait = attendance.code_wait(ctx.session, ctx.userid, ctx.now)
    if wait is not None:
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        return Reply.text(ctx.t("checkin.code_wait", minutes=minutes))
    event = core.event_by_code(ctx.session, code)
    done = attendance.attendance_of(ctx.session, event.id, ctx.userid) if event else None
    if done is not None:
        return Reply.text(
            ctx.t("checkin.already_attended", title=event.title, when=label(done.checked_at, tz))
        )
    if event is None or core.event_state(event, ctx.now) != "open":
        # A closed or not yet open event answers as a wrong code: guessing reveals no title.
        attendance.record_wrong_code(ctx.session, ctx.userid, code, ctx.now)
        return Reply.text(ctx.t("checkin.code_wrong", code=code))
    if attendance.needs_location(event):
        ctx.start_flow(LOCATION_FLOW, "await_location", {"event_id": event.id})
        return Reply.text(ctx.t("checkin.ask_location", title=event.title, radius=event.radius_m))
    row = attendance.attend(ctx.session, event, ctx.user, ctx.now, method="code")
    when = label(row.checked_at if row else ctx.now, tz)
    return Reply.text(ctx.t("checkin.attended", title=event.title, when=when))


def handle_location_flow(msg: IncomingMessage, ctx: Context) -> Reply | None:
    conv = ctx.conversation
    assert conv is not None and ctx.user is not None
    event = core.get_event(ctx.session, (conv.data or {}).get("event_id"))
    if event is None:
        ctx.end_flow()
        return None
    tz = ctx.settings.tz
    if msg.msg_type == "text":
        text = normalize(msg.content)
        if text in CANCEL_WORDS:
            ctx.end_flow()
            return Reply.text(ctx.t("checkin.location_cancelled", title=event.title))
        if core.CODE.match(text) or text.startswith("签到"):
            ctx.end_flow()  # a new code: start over with that one
            return None
        return Reply.text(ctx.t("checkin.location_expected", title=event.title))
    if msg.msg_type != "location" or msg.location is None:
        return Reply.text(ctx.t("checkin.location_expected", title=event.title))
    if core.event_state(event, ctx.now) == "ended":
        ctx.end_flow()
        return Reply.text(
            ctx.t("checkin.code_ended", title=event.title, ends=label(event.ends_at, tz))
        )
    distance = attendance.distance_to(event, msg.location.latitude, msg.location.longitude)
    if distance > (event.radius_m or 0):
        return Reply.text(
            ctx.t("checkin.location_far", distance=round(distance), radius=event.radius_m)
        )
    ctx.end_flow()
    row = attendance.attend(
        ctx.session, event, ctx.user, ctx.now, method="location", distance_m=round(distance, 1)
    )
    if row is None:
        done = attendance.attendance_of(ctx.session, event.id, ctx.userid)
        when = label(done.checked_at, tz) if done else label(ctx.now, tz)
        return Reply.text(ctx.t("checkin.already_attended", title=event.title, when=when))
    return Reply.text(
        ctx.t(
            "checkin.attended_location",
            title=event.title,
            when=label(row.checked_at, tz),
            distance=round(distance),
        )
    )


def bare_code(msg: IncomingMessage, ctx: Context) -> Reply | None:
    """A 6-digit code sent alone counts as 签到 while some event is open."""
    if msg.msg_type != "text":
        return None
    text = normalize(msg.content)
    if not core.CODE.match(text) or not core.open_events(ctx.session, ctx.now):
        return None
    return sign_in_with_code(ctx, text)


# -- 活动 (admins) -------------------------------------------------------------------------------
def handle_events(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    head, _, rest = args.partition(" ")
    if head == "创建":
        return _admin(ctx, "活动 创建") or handle_create(ctx, rest.strip())
    if head == "问卷":
        return _admin(ctx, "活动 问卷") or handle_send_survey(ctx, rest.strip())
    if head in ("统计", "签到情况"):
        return _admin(ctx, "活动 统计") or handle_event_stats(ctx, rest.strip())
    if head and head not in ("列表",):
        return Reply.text(
            ctx.t("checkin.create_usage") if ctx.is_admin else ctx.t("checkin.code_usage")
        )
    return list_events(ctx)


def _admin(ctx: Context, command: str) -> Reply | None:
    if ctx.is_admin:
        return None
    ctx.audit("refused:" + command, allowed=False)
    return Reply.text(ctx.t("not_admin", command=command))


def list_events(ctx: Context) -> Reply:
    tz = ctx.settings.tz
    events = core.upcoming_events(ctx.session, ctx.now)
    if not events:
        return Reply.text(ctx.t("checkin.events_none"))
    counts = attendance.attendance_counts(ctx.session, [e.id for e in events])
    lines = [ctx.t("checkin.events_title")]
    for e in events:
        extra = (
            f"（编号 {e.id}）"
            + ctx.t("checkin.event_admin_extra", code=e.code, count=counts.get(e.id, 0))
            if ctx.is_admin
            else ""
        )
        lines.append(
            ctx.t(
                "checkin.event_line",
                title=e.title,
                kind=core.kind_label(e.kind, ctx.texts),
                starts=label(e.starts_at, tz),
                ends=clock_label(e.ends_at, tz),
                extra=extra,
            )
        )
    return Reply.text("\n".join(lines))


def handle_create(ctx: Context, args: str) -> Reply:
    if not args:
        return Reply.text(ctx.t("checkin.create_usage"))
    try:
        spec = core.parse_event_args(args, ctx.now)
    except ValueError as exc:
        return Reply.texts(ctx.t("checkin.create_error", reason=exc), ctx.t("checkin.create_usage"))
    departments, unknown = core.departments_by_name(ctx.session, spec.departments)
    if unknown:
        return Reply.text(ctx.t("checkin.create_unknown_department", name=unknown[0]))
    if core.starts_in_the_past(spec.starts_at, ctx.now) and not spec.confirmed:
        return Reply.text(
            ctx.t("checkin.create_past", starts=label(spec.starts_at, ctx.settings.tz))
        )
    event = core.create_event(
        ctx.session,
        kind=spec.kind,
        title=spec.title,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        created_by=ctx.userid,
        now=ctx.now,
        latitude=spec.latitude,
        longitude=spec.longitude,
        radius_m=spec.radius_m,
        department_ids=departments,
        tz=ctx.settings.tz,
    )
    ctx.audit("event:create", detail=f"{event.id} {event.title} {event.code}")
    return Reply.text(core.created_text(ctx.t, event, ctx.settings.tz))


def handle_event_stats(ctx: Context, ref: str) -> Reply:
    event = core.find_event(ctx.session, ref)
    if event is None:
        return Reply.text(ctx.t("checkin.event_unknown", ref=ref))
    per = attendance.attendance_by_department(ctx.session, event.id)
    lines = [ctx.t("checkin.stats_title", title=event.title, total=sum(per.values()))]
    lines += [ctx.t("checkin.stats_line", department=d, count=n) for d, n in per.items()]
    return Reply.text("\n".join(lines))


def handle_send_survey(ctx: Context, ref: str) -> Reply:
    if not ref:
        return Reply.text(ctx.t("checkin.survey_usage"))
    event = core.find_event(ctx.session, ref)
    if event is None:
        return Reply.text(ctx.t("checkin.event_unknown", ref=ref))
    if not event.survey:
        return Reply.text(ctx.t("checkin.survey_none_config", title=event.title))
    n = send_survey(ctx.session, event, ctx.now)
    if n is None:
        return Reply.text(ctx.t("checkin.survey_already_sent", title=event.title))
    return Reply.text(ctx.t("checkin.survey_sent", title=event.title, count=n))


def register(router: Router) -> None:
    router.command("签到", "活动签到", priority=50)(handle_sign_in)
    router.command("活动", priority=50)(handle_events)
    router.flow(LOCATION_FLOW)(handle_location_flow)
    # A 6-digit code alone signs in while an event is open; otherwise the text falls through.
    router.pattern(r"\d{6}")(bare_code)
