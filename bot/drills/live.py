"""Live drills (实战演练): created from a scenario with time, place, participants and roles;
roles pushed once before the drill (a job); check-in through an event of kind drill (its code
and location, as any event); key times recorded by the facilitator in the scenario's order;
photos kept as hazard photos are; ending it updates the plan it exercised."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.checkin.events import create_event
from bot.content import texts
from bot.db import insert_ignore
from bot.drills.common import DrillRefused, add_participants, members_of, participants
from bot.drills.scenarios import Scenario, get_scenario, scenario_ids
from bot.hazard import photos
from bot.localtime import label
from bot.messages import text_message
from bot.models import Drill, DrillKeyTime, DrillParticipant, DrillPhoto, EmergencyPlan, User
from bot.outbox import enqueue
from bot.people import display
from bot.services import Services

DURATION = timedelta(hours=2)  # the check-in event's length
ROLE_NOTICE = timedelta(days=1)  # roles are pushed from a day before the drill
# Which drill a facilitator's 演练 开始 … means: one that starts within this window of now.
NEAR = timedelta(hours=12)


def create_live(
    session: Session,
    *,
    scenario_id: str,
    starts_at: datetime,
    place: str,
    department_ids: list[int],
    userids: list[str],
    roles: dict[str, list[str]],
    facilitator: str,
    now: datetime,
    plan_id: int | None = None,
    tz=None,
) -> Drill:
    scenario = get_scenario(scenario_id)
    if scenario is None:
        raise DrillRefused("unknown_scenario", scenario=scenario_id, valid=scenario_ids())
    if starts_at < now - NEAR:
        raise DrillRefused("in_the_past")
    for key in roles:
        if scenario.role(key) is None:
            raise DrillRefused(
                "unknown_role", role=key, valid="、".join(r.name for r in scenario.roles)
            )
    if plan_id is not None and session.get(EmergencyPlan, plan_id) is None:
        raise DrillRefused("unknown_plan", plan=plan_id)
    named = [u for people in roles.values() for u in people]
    members = members_of(session, department_ids, userids + named)
    if not members:
        raise DrillRefused("nobody")
    invited = department_ids or sorted({d for _, d in members if d is not None})
    event = create_event(
        session,
        kind="drill",
        title=scenario.title,
        starts_at=starts_at,
        ends_at=starts_at + DURATION,
        created_by=facilitator,
        now=now,
        department_ids=invited,
        tz=tz,
    )
    drill = Drill(
        kind="live",
        scenario_id=scenario.id,
        title=scenario.title,
        status="active",
        facilitator=facilitator,
        department_ids=department_ids,
        starts_at=starts_at,
        place=place[:128],
        event_id=event.id,
        plan_id=plan_id,
        injected=[],
        created_by=facilitator,
        created_at=now,
    )
    session.add(drill)
    session.flush()
    add_participants(session, drill, members)
    for key, people in roles.items():
        assign_role(session, drill, scenario, key, people)
    return drill


def assign_role(
    session: Session, drill: Drill, scenario: Scenario, role_text: str, userids: list[str]
) -> str:
    """Give people a role (adding them as participants); returns the role's name."""
    role = scenario.role(role_text)
    if role is None:
        raise DrillRefused(
            "unknown_role", role=role_text, valid="、".join(r.name for r in scenario.roles)
        )
    for userid in userids:
        user = session.get(User, userid)
        insert_ignore(
            session,
            DrillParticipant,
            {
                "drill_id": drill.id,
                "userid": userid,
                "department_id": user.department_id if user else None,
            },
        )
        p = session.scalar(
            select(DrillParticipant).where(
                DrillParticipant.drill_id == drill.id, DrillParticipant.userid == userid
            )
        )
        if p.role != role.key:
            p.role, p.role_sent_at = role.key, None
    return role.name


def push_roles(session: Session, services: Services, now: datetime) -> str:
    """The job: each role holder hears their role once, from a day before the drill."""
    sent = 0
    drills = session.scalars(
        select(Drill).where(
            Drill.kind == "live",
            Drill.status == "active",
            Drill.starts_at <= now + ROLE_NOTICE,
            Drill.starts_at >= now - DURATION,
        )
    )
    tz = services.settings.tz
    for drill in drills:
        scenario = get_scenario(drill.scenario_id)
        if scenario is None:
            continue
        for p in participants(session, drill.id):
            role = scenario.role(p.role) if p.role else None
            if role is None or p.role_sent_at is not None:
                continue
            body = texts.get(
                "drills.live.role_notice",
                title=drill.title,
                starts=label(drill.starts_at, tz),
                place=drill.place,
                role=role.name,
                duty=role.duty or "-",
                facilitator=display(session, drill.facilitator),
            )
            enqueue(
                session,
                [p.userid],
                text_message(body),
                source=f"drill:{drill.id}:role",
                now=now,
                dedup_key=f"drill:{drill.id}:role:{p.userid}:{p.role}",
            )
            p.role_sent_at = now
            sent += 1
    return f"roles pushed {sent}"


def current_live(session: Session, userid: str, now: datetime, officer: bool) -> Drill | None:
    """The running live drill near now that this facilitator (or, for an officer, anyone)
    leads; the latest first."""
    q = (
        select(Drill)
        .where(
            Drill.kind == "live",
            Drill.status == "active",
            Drill.starts_at <= now + NEAR,
            Drill.starts_at >= now - NEAR,
        )
        .order_by(Drill.starts_at.desc(), Drill.id.desc())
    )
    mine = session.scalar(q.where(Drill.facilitator == userid).limit(1))
    return mine if mine is not None or not officer else session.scalar(q.limit(1))


# -- key times ---------------------------------------------------------------------------------
def key_times(session: Session, drill_id: int) -> dict[str, datetime]:
    return {
        k.key: k.at
        for k in session.scalars(select(DrillKeyTime).where(DrillKeyTime.drill_id == drill_id))
    }


def record_key_time(
    session: Session, drill: Drill, text: str, actor: str, now: datetime, tz
) -> str:
    scenario = get_scenario(drill.scenario_id)
    if scenario is None:
        return texts.get("drills.desk.scenario_gone", scenario=drill.scenario_id)
    have = key_times(session, drill.id)
    expected = next((k for k in scenario.key_times if k.key not in have), None)
    asked = scenario.key_time(text)
    if expected is None:
        return texts.get("drills.live.all_times_recorded", title=drill.title)
    if asked is None or asked.key != expected.key:
        return texts.get(
            "drills.live.out_of_order", asked=text, expected=expected.name, title=drill.title
        )
    insert_ignore(
        session,
        DrillKeyTime,
        {"drill_id": drill.id, "key": asked.key, "at": now, "recorded_by": actor},
    )
    have = key_times(session, drill.id)
    lines = [texts.get("drills.live.time_recorded", name=asked.name, at=label(have[asked.key], tz))]
    durations = evacuation_times(have)
    for key in ("evacuated", "counted"):
        if key == asked.key and durations.get(key) is not None:
            lines.append(
                texts.get(f"drills.live.duration_{key}", duration=duration_text(durations[key]))
            )
    following = next((k for k in scenario.key_times if k.key not in have), None)
    if following is not None:
        lines.append(texts.get("drills.live.next_time", name=following.name))
    else:
        lines.append(texts.get("drills.live.times_done"))
    return "\n".join(lines)


def evacuation_times(times: dict[str, datetime]) -> dict[str, timedelta | None]:
    """start → evacuated (疏散用时) and start → counted (清点用时)."""
    start = times.get("start")
    return {
        key: (times[key] - start if start and key in times else None)
        for key in ("evacuated", "counted")
    }


def duration_text(value: timedelta | None) -> str:
    if value is None:
        return "-"
    seconds = int(value.total_seconds())
    minutes, seconds = divmod(max(0, seconds), 60)
    return texts.get("drills.live.duration", minutes=minutes, seconds=seconds)


# -- photos ------------------------------------------------------------------------------------
def add_photo(
    session: Session, drill: Drill, media_id: str, stored, actor: str, now: datetime
) -> bool:
    """A photo taken during the drill (stored now, or pending for the retry job)."""
    row = insert_ignore(
        session,
        DrillPhoto,
        {
            "drill_id": drill.id,
            "media_id": media_id,
            "sent_by": actor,
            "received_at": now,
            "status": "stored" if stored else "pending",
            "path": stored.path if stored else None,
            "attempts": 1,
        },
        returning=DrillPhoto.id,
    ).first()
    return row is not None


def retry_photos(session: Session, services: Services, now: datetime) -> str:
    """The job: fetch drill photos that could not be fetched inside the callback."""
    pending = list(
        session.scalars(
            select(DrillPhoto)
            .where(DrillPhoto.status == "pending")
            .order_by(DrillPhoto.id)
            .limit(10)
        )
    )
    if not pending:
        return "no pending drill photos"
    client = photos.quick_client(services, photos.JOB_TIMEOUT)
    stored = 0
    for photo in pending:
        if now - photo.received_at > photos.MEDIA_LIFETIME:
            photo.status = "failed"
            continue
        photo.attempts += 1
        try:
            f = photos.download(client, services.settings.files_dir, photo.media_id)
        except (photos.WeComAPIError, OSError):
            continue
        photo.status, photo.path = "stored", f.path
        stored += 1
    return f"drill photos stored {stored}"


def photos_of(session: Session, drill_id: int) -> list[DrillPhoto]:
    return list(
        session.scalars(
            select(DrillPhoto).where(DrillPhoto.drill_id == drill_id).order_by(DrillPhoto.id)
        )
    )


# -- the end -----------------------------------------------------------------------------------
def end_live(session: Session, drill: Drill, now: datetime, tz) -> str:
    if drill.status != "ended":
        drill.status, drill.ended_at = "ended", now
        plan = session.get(EmergencyPlan, drill.plan_id) if drill.plan_id else None
        if plan is not None:
            day = (drill.starts_at or now).astimezone(tz).date()
            if plan.last_drill is None or plan.last_drill < day:
                plan.last_drill = day
    d = evacuation_times(key_times(session, drill.id))
    return texts.get(
        "drills.live.ended",
        title=drill.title,
        evacuated=duration_text(d["evacuated"]),
        counted=duration_text(d["counted"]),
    )
