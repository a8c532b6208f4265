"""打卡 (daily check-in), 签到 (event sign-in with a 6-digit code, optionally on site),
活动 (admins create and follow events), 问卷 (after-drill questionnaire)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot import checkin as core
from bot.context import Context
from bot.db import insert_ignore
from bot.messages import IncomingMessage, Reply
from bot.models import (
    CheckinEvent,
    Department,
    DrillSurveyAnswer,
    EventAttendance,
    User,
)
from bot.outbox import enqueue
from bot.router import Router
from bot.text import normalize

LOCATION_FLOW = "checkin_location"
SURVEY_FLOW = "drill_survey"
CANCEL_WORDS = ("取消", "退出", "算了")
_CODE = re.compile(r"^\d{6}$")


def _hm(at: datetime, tz) -> str:
    local = at.astimezone(tz)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def _hhmm(at: datetime, tz) -> str:
    return f"{at.astimezone(tz):%H:%M}"


# -- 打卡 ----------------------------------------------------------------------------------------
def handle_daily(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    assert ctx.user is not None
    first, days = core.check_in(ctx.session, ctx.user, ctx.now)
    line = core.line_of_the_day(ctx.today)
    return Reply.text(ctx.t("checkin.done" if first else "checkin.again", streak=days, line=line))


# -- 签到 ----------------------------------------------------------------------------------------
def handle_sign_in(msg: IncomingMessage, ctx: Context, args: str) -> Reply:
    code = args.replace(" ", "")
    if not _CODE.match(code):
        return Reply.text(ctx.t("checkin.code_usage"))
    return sign_in_with_code(ctx, code)


def sign_in_with_code(ctx: Context, code: str) -> Reply:
    assert ctx.user is not None
    tz = ctx.settings.tz
    event = core.event_by_code(ctx.session, code)
    if event is None:
        return Reply.text(ctx.t("checkin.code_wrong", code=code))
    done = core.attendance_of(ctx.session, event.id, ctx.userid)
    if done is not None:
        return Reply.text(
            ctx.t("checkin.already_attended", title=event.title, when=_hm(done.checked_at, tz))
        )
    state = core.event_state(event, ctx.now)
    if state == "ended":
        return Reply.text(
            ctx.t("checkin.code_ended", title=event.title, ends=_hm(event.ends_at, tz))
        )
    if state == "not_started":
        return Reply.text(
            ctx.t("checkin.code_not_started", title=event.title, starts=_hm(event.starts_at, tz))
        )
    if core.needs_location(event):
        ctx.start_flow(LOCATION_FLOW, "await_location", {"event_id": event.id})
        return Reply.text(ctx.t("checkin.ask_location", title=event.title, radius=event.radius_m))
    row = core.attend(ctx.session, event, ctx.user, ctx.now, method="code")
    when = _hm(row.checked_at if row else ctx.now, tz)
    return Reply.text(ctx.t("checkin.attended", title=event.title, when=when))


def handle_location_flow(msg: IncomingMessage, ctx: Context) -> Reply | None:
    conv = ctx.conversation
    assert conv is not None and ctx.user is not None
    event = ctx.session.get(CheckinEvent, (conv.data or {}).get("event_id"))
    if event is None:
        ctx.end_flow()
        return None
    tz = ctx.settings.tz
    if msg.msg_type == "text":
        text = normalize(msg.content)
        if text in CANCEL_WORDS:
            ctx.end_flow()
            return Reply.text(ctx.t("checkin.location_cancelled", title=event.title))
        if _CODE.match(text) or text.startswith("签到"):
            ctx.end_flow()  # a new code: start over with that one
            return None
        return Reply.text(ctx.t("checkin.location_expected", title=event.title))
    if msg.msg_type != "location" or msg.location is None:
        return Reply.text(ctx.t("checkin.location_expected", title=event.title))
    if core.event_state(event, ctx.now) == "ended":
        ctx.end_flow()
        return Reply.text(
            ctx.t("checkin.code_ended", title=event.title, ends=_hm(event.ends_at, tz))
        )
    distance = core.distance_to(event, msg.location.latitude, msg.location.longitude)
    if distance > (event.radius_m or 0):
        return Reply.text(
            ctx.t("checkin.location_far", distance=round(distance), radius=event.radius_m)
        )
    ctx.end_flow()
    row = core.attend(
        ctx.session, event, ctx.user, ctx.now, method="location", distance_m=round(distance, 1)
    )
    if row is None:
        done = core.attendance_of(ctx.session, event.id, ctx.userid)
        when = _hm(done.checked_at, tz) if done else _hm(ctx.now, tz)
        return Reply.text(ctx.t("checkin.already_attended", title=event.title, when=when))
    return Reply.text(
        ctx.t(
            "checkin.attended_location",
            title=event.title,
            when=_hm(row.checked_at, tz),
            distance=round(distance),
        )
    )


def bare_code(msg: IncomingMessage, ctx: Context) -> Reply | None:
    """A 6-digit code sent alone counts as 签到 while some event is open."""
    if msg.msg_type != "text":
        return None
    text = normalize(msg.content)
    if not _CODE.match(text) or not core.open_events(ctx.session, ctx.now):
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
    events = list(
        ctx.session.scalars(
            select(CheckinEvent)
            .where(CheckinEvent.ends_at >= ctx.now)
            .order_by(CheckinEvent.starts_at)
            .limit(20)
        )
    )
    if not events:
        return Reply.text(ctx.t("checkin.events_none"))
    counts = dict(
        ctx.session.execute(
            select(EventAttendance.event_id, func.count())
            .where(EventAttendance.event_id.in_([e.id for e in events]))
            .group_by(EventAttendance.event_id)
        ).all()
    )
    kinds = ctx.texts.raw("checkin.kinds")
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
                kind=kinds.get(e.kind, e.kind),
                starts=_hm(e.starts_at, tz),
                ends=_hhmm(e.ends_at, tz),
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
    )
    ctx.audit("event:create", detail=f"{event.id} {event.title} {event.code}")
    return Reply.text(created_text(ctx.t, event, ctx.settings.tz, ctx.texts.raw("checkin.kinds")))


def created_text(t, event: CheckinEvent, tz, kinds: dict) -> str:
    extra = ""
    if core.needs_location(event):
        extra += t("checkin.created_location_extra", radius=event.radius_m)
    if event.survey:
        extra += t("checkin.created_survey_extra")
    return t(
        "checkin.created",
        title=event.title,
        kind=kinds.get(event.kind, event.kind),
        starts=_hm(event.starts_at, tz),
        ends=_hhmm(event.ends_at, tz),
        code=event.code,
        extra=extra,
    )


def find_event(session: Session, ref: str) -> CheckinEvent | None:
    ref = ref.strip()
    if _CODE.match(ref):
        return core.event_by_code(session, ref)
    if ref.isdigit():
        return session.get(CheckinEvent, int(ref))
    return None


def attendance_by_department(session: Session, event_id: int) -> dict[str, int]:
    names = dict(session.execute(select(Department.id, Department.name)).all())
    rows = session.scalars(
        select(EventAttendance.department_id).where(EventAttendance.event_id == event_id)
    )
    return dict(sorted(Counter(names.get(d or 0, str(d or "-")) for d in rows).items()))


def handle_event_stats(ctx: Context, ref: str) -> Reply:
    event = find_event(ctx.session, ref)
    if event is None:
        return Reply.text(ctx.t("checkin.event_unknown", ref=ref))
    per = attendance_by_department(ctx.session, event.id)
    lines = [ctx.t("checkin.stats_title", title=event.title, total=sum(per.values()))]
    lines += [ctx.t("checkin.stats_line", department=d, count=n) for d, n in per.items()]
    return Reply.text("\n".join(lines))


# -- drill surveys ----------------------------------------------------------------------------------
def send_survey(session: Session, event: CheckinEvent, now: datetime) -> int | None:
    """Queue the questionnaire invitation to the attendees once. None if already sent."""
    from bot.content import texts

    attendees = list(
        session.scalars(
            select(EventAttendance.userid)
            .where(EventAttendance.event_id == event.id)
            .order_by(EventAttendance.userid)
        )
    )
    body = {
        "msgtype": "text",
        "text": {"content": texts.get("checkin.survey_invite", title=event.title)},
    }
    mid = enqueue(
        session,
        attendees,
        body,
        source="drill:survey",
        now=now,
        dedup_key=f"drill:survey:{event.id}",
    )
    session.execute(
        update(CheckinEvent).where(CheckinEvent.id == event.id).values(survey_sent_at=now)
    )
    return len(attendees) if mid else None


def handle_send_survey(ctx: Context, ref: str) -> Reply:
    if not ref:
        return Reply.text(ctx.t("checkin.survey_usage"))
    event = find_event(ctx.session, ref)
    if event is None:
        return Reply.text(ctx.t("checkin.event_unknown", ref=ref))
    if not event.survey:
        return Reply.text(ctx.t("checkin.survey_none_config", title=event.title))
    n = send_survey(ctx.session, event, ctx.now)
    if n is None:
        return Reply.text(ctx.t("checkin.survey_already_sent", title=event.title))
    return Reply.text(ctx.t("checkin.survey_sent", title=event.title, count=n))


def drill_surveys(session: Session, runtime, now: datetime) -> str:
    """Every 10 minutes: events that have ended and carry a survey get it sent."""
    events = list(
        session.scalars(
            select(CheckinEvent).where(
                CheckinEvent.survey.is_not(None),
                CheckinEvent.survey_sent_at.is_(None),
                CheckinEvent.ends_at <= now,
                CheckinEvent.ends_at >= now - timedelta(days=2),
            )
        )
    )
    sent = [f"{e.id}:{send_survey(session, e, now)}" for e in events]
    return ("surveys " + ", ".join(sent)) if sent else "no survey due"


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
    answered = select(DrillSurveyAnswer.event_id).where(DrillSurveyAnswer.userid == ctx.userid)
    event = ctx.session.scalar(
        select(CheckinEvent)
        .join(EventAttendance, EventAttendance.event_id == CheckinEvent.id)
        .where(
            EventAttendance.userid == ctx.userid,
            CheckinEvent.survey.is_not(None),
            CheckinEvent.survey_sent_at.is_not(None),
            CheckinEvent.id.not_in(answered),
        )
        .order_by(CheckinEvent.ends_at.desc())
        .limit(1)
    )
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
        if not text.isdigit() or not 1 <= int(text) <= len(q["options"]):
            return Reply.text(
                ctx.t("checkin.survey_bad_option", max=len(q["options"]))
                + "\n"
                + _question_text(ctx, key, index)
            )
        answer = q["options"][int(text) - 1]
    answers = {**data.get("answers", {}), q["id"]: answer}
    if index + 1 < len(questions):
        ctx.set_step(f"q{index + 1}", answers=answers)
        return Reply.text(_question_text(ctx, key, index + 1))
    ctx.end_flow()
    row = insert_ignore(
        ctx.session,
        DrillSurveyAnswer,
        {
            "event_id": data["event_id"],
            "userid": ctx.userid,
            "answers": answers,
            "answered_at": ctx.now,
        },
        returning=DrillSurveyAnswer.id,
    ).first()
    if row is None:
        event = ctx.session.get(CheckinEvent, data["event_id"])
        return Reply.text(ctx.t("checkin.survey_already", title=event.title if event else ""))
    return Reply.text(ctx.t("checkin.survey_done"))


# -- stats, jobs ----------------------------------------------------------------------------------
def event_lines(session: Session, tz) -> list[str]:
    """One tab-separated line per event: id, code, kind, title, time, attendees."""
    lines = []
    for e in session.scalars(select(CheckinEvent).order_by(CheckinEvent.starts_at)):
        n = session.scalar(
            select(func.count())
            .select_from(EventAttendance)
            .where(EventAttendance.event_id == e.id)
        )
        lines.append(
            f"{e.id}\t{e.code}\t{e.kind}\t{e.title}\t{_hm(e.starts_at, tz)}-{_hhmm(e.ends_at, tz)}\t{n}"
        )
    return lines


def attendance_sheets(session: Session, event: CheckinEvent, tz) -> list:
    names = dict(session.execute(select(Department.id, Department.name)).all())
    rows = [
        [
            names.get(a.department_id or 0, ""),
            a.name,
            a.userid,
            a.checked_at.astimezone(tz),
            {"code": "签到码", "location": "位置"}.get(a.method, a.method),
            a.distance_m,
        ]
        for a in session.scalars(
            select(EventAttendance).where(EventAttendance.event_id == event.id)
        )
    ]
    rows.sort(key=lambda r: (r[0], r[2]))
    members = Counter(
        names.get(d or 0, "")
        for d in session.scalars(select(User.department_id).where(User.status == 1))
    )
    per = attendance_by_department(session, event.id)
    summary = [[d, per.get(d, 0), members.get(d, 0)] for d in sorted(set(per) | set(members))]
    sheets = [
        ("签到明细", ["部门", "姓名", "账号", "签到时间", "方式", "距离(米)"], rows),
        ("部门汇总", ["部门", "签到人数", "部门在职人数"], summary),
    ]
    if event.survey:
        questions = core.survey_questions(event.survey)
        answers = [
            [a.userid] + [a.answers.get(q["id"], "") for q in questions]
            for a in session.scalars(
                select(DrillSurveyAnswer)
                .where(DrillSurveyAnswer.event_id == event.id)
                .order_by(DrillSurveyAnswer.userid)
            )
        ]
        sheets.append(("演练问卷", ["账号"] + [q["text"] for q in questions], answers))
    return sheets


def register(router: Router) -> None:
    router.command("打卡", "每日打卡", "安全打卡", priority=50)(handle_daily)
    router.command("签到", "活动签到", priority=50)(handle_sign_in)
    router.command("活动", priority=50)(handle_events)
    router.command("问卷", "演练问卷", priority=50, exact=True)(handle_survey_start)
    router.flow(LOCATION_FLOW)(handle_location_flow)
    router.flow(SURVEY_FLOW)(handle_survey_flow)
    # A 6-digit code alone signs in while an event is open; otherwise the text falls through.
    router.pattern(r"\d{6}")(bare_code)
