"""What the chat commands say about drills: lists, parsing the officers' commands, the
evaluation walk. Handlers stay free of SQL; this module is their feature-side half."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.drills import evaluation, live
from bot.drills.common import DrillRefused, resolve_people
from bot.drills.scenarios import get_scenario, scenarios
from bot.localtime import label, parse_chat_date
from bot.models import CheckinEvent, Drill, DrillFinding, DrillParticipant, EmergencyPlan
from bot.people import display, find_users
from bot.settings import Settings

MAX_ID = 2**31 - 1
_TIME = re.compile(r"^(\d{1,2})[:：](\d{2})$")


def drill(session: Session, ref) -> Drill | None:
    text = str(ref or "").strip().lstrip("#")
    if not text.isdigit() or int(text) > MAX_ID:
        return None
    return session.get(Drill, int(text))


def resolve(session: Session, words: list[str]):
    return resolve_people(session, words)


def participant_count(session: Session, drill_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(DrillParticipant)
            .where(DrillParticipant.drill_id == drill_id)
        )
        or 0
    )


def scenario_list() -> str:
    found = scenarios()
    if not found:
        return texts.get("drills.no_scenarios")
    lines = [texts.get("drills.scenarios_head")]
    for n, s in enumerate(found.values(), 1):
        lines.append(texts.get("drills.scenario_line", n=n, title=s.title, steps=len(s.sequence())))
    return "\n".join(lines)


def live_list(session: Session, tz) -> str:
    rows = list(
        session.scalars(
            select(Drill).where(Drill.kind == "live").order_by(Drill.id.desc()).limit(10)
        )
    )
    if not rows:
        return texts.get("drills.live.none")
    status = texts.raw("drills.statuses")
    return "\n".join(
        [texts.get("drills.live.list_head")]
        + [
            texts.get(
                "drills.live.list_line",
                id=d.id,
                title=d.title,
                starts=label(d.starts_at, tz),
                place=d.place,
                status=status.get(d.status, d.status),
            )
            for d in rows
        ]
    )


def latest_live_for(session: Session, userid: str, now: datetime, officer: bool) -> Drill | None:
    """The live drill someone evaluates or photographs: the one near now, else the latest
    they take part in (or, for an officer, the latest of all)."""
    near = live.current_live(session, userid, now, officer)
    if near is not None:
        return near
    q = (
        select(Drill)
        .where(Drill.kind == "live", Drill.starts_at <= now)
        .order_by(Drill.starts_at.desc())
    )
    if not officer:
        q = q.join(DrillParticipant, DrillParticipant.drill_id == Drill.id).where(
            or_(DrillParticipant.userid == userid, Drill.facilitator == userid)
        )
    return session.scalar(q.limit(1))


# -- officers' commands -------------------------------------------------------------------------
def create_from_chat(session: Session, rest: str, actor: str, now: datetime, tz) -> str:
    """ "<场景> <日期> <时间> <地点> [部门|@人…]" """
    words = rest.split()
    if len(words) < 4:
        raise DrillRefused("live_usage")
    day = parse_chat_date(words[1], now.astimezone(tz).date())
    m = _TIME.match(words[2])
    if day is None or m is None or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise DrillRefused("bad_time", text=f"{words[1]} {words[2]}")
    starts = datetime(day.year, day.month, day.day, int(m.group(1)), int(m.group(2)), tzinfo=tz)
    departments, people = resolve_people(session, words[4:])
    d = live.create_live(
        session,
        scenario_id=words[0],
        starts_at=starts,
        place=words[3],
        department_ids=departments,
        userids=people,
        roles={},
        facilitator=actor,
        now=now,
        tz=tz,
    )
    event = session.get(CheckinEvent, d.event_id)
    scenario = get_scenario(d.scenario_id)
    return texts.get(
        "drills.live.created",
        id=d.id,
        title=d.title,
        starts=label(starts, tz),
        place=d.place,
        count=participant_count(session, d.id),
        code=event.code if event else "-",
        roles="、".join(r.name for r in scenario.roles) if scenario else "-",
    )


def roles_from_chat(session: Session, rest: str) -> str:
    words = rest.split()
    if len(words) < 3:
        raise DrillRefused("role_usage")
    d = drill(session, words[0])
    if d is None or d.kind != "live":
        raise DrillRefused("unknown_drill", drill=words[0])
    scenario = get_scenario(d.scenario_id)
    if scenario is None:
        raise DrillRefused("unknown_drill", drill=words[0])
    _, people = resolve_people(session, ["@" + w.lstrip("@") for w in words[2:]])
    name = live.assign_role(session, d, scenario, words[1], people)
    return texts.get(
        "drills.live.role_assigned",
        id=d.id,
        role=name,
        people="、".join(display(session, u) for u in people),
    )


def _finding(session: Session, ref: str) -> DrillFinding:
    text = ref.strip().lstrip("#")
    f = session.get(DrillFinding, int(text)) if text.isdigit() and int(text) <= MAX_ID else None
    if f is None:
        raise DrillRefused("unknown_finding", finding=ref)
    return f


def ticket_from_chat(session: Session, settings: Settings, rest: str, actor: str, now) -> str:
    words = rest.split()
    if len(words) < 3:
        raise DrillRefused("ticket_usage")
    finding = _finding(session, words[0])
    owners = find_users(session, words[1])
    if len(owners) != 1:
        raise DrillRefused("unknown_who", who=words[1].lstrip("@"))
    today = now.astimezone(settings.tz).date()
    deadline = parse_chat_date(words[2], today)
    if deadline is None or deadline < today:
        raise DrillRefused("bad_deadline", text=words[2])
    hazard = evaluation.make_ticket(
        session, settings, finding, owner=owners[0].userid, deadline=deadline, actor=actor, now=now
    )
    return texts.get(
        "drills.findings.ticketed",
        finding=finding.id,
        ticket=hazard.ticket,
        owner=display(session, owners[0].userid),
        deadline=deadline.isoformat(),
    )


def plan_item_from_chat(session: Session, rest: str, now, tz) -> str:
    words = rest.split()
    if len(words) < 2:
        raise DrillRefused("plan_item_usage")
    finding = _finding(session, words[0])
    plan = (
        session.get(EmergencyPlan, int(words[1]))
        if words[1].isdigit() and int(words[1]) <= MAX_ID
        else None
    )
    if plan is None:
        raise DrillRefused("unknown_plan", plan=words[1])
    evaluation.make_plan_item(session, finding, plan, None, None)
    return texts.get("drills.findings.planned", finding=finding.id, plan=plan.title)


def findings_text(session: Session, d: Drill | None) -> str:
    if d is None:
        return texts.get("drills.live.none_to_evaluate")
    rows = evaluation.findings(session, d.id)
    if not rows:
        return texts.get("drills.findings.none", title=d.title)
    lines = [texts.get("drills.findings.head", title=d.title)]
    for f in rows:
        lines.append(
            texts.get(
                "drills.findings.line",
                id=f.id,
                text=f.text,
                status=evaluation.status_of(session, f),
            )
        )
    lines.append(texts.get("drills.findings.how"))
    return "\n".join(lines)


# -- the evaluation walk --------------------------------------------------------------------------
@dataclass
class EvalReply:
    text: str
    done: bool = False


def eval_next(session: Session, d: Drill, observer: str, begin: bool) -> str:
    scenario = get_scenario(d.scenario_id)
    if scenario is None:
        return texts.get("drills.desk.scenario_gone", scenario=d.scenario_id)
    item = evaluation.current_item(session, d, scenario, observer)
    if item is None:
        return texts.get("drills.eval.already_done", title=d.title)
    text = evaluation.item_text(scenario, item)
    return texts.get("drills.eval.begin", title=d.title) + "\n" + text if begin else text


def eval_answer(session: Session, d: Drill, observer: str, text: str, now: datetime) -> EvalReply:
    scenario = get_scenario(d.scenario_id)
    if scenario is None:
        return EvalReply(texts.get("drills.desk.scenario_gone", scenario=d.scenario_id), True)
    item = evaluation.current_item(session, d, scenario, observer)
    if item is None:
        return EvalReply(texts.get("drills.eval.already_done", title=d.title), True)
    hint = evaluation.record(session, d, item, observer, text, now)
    if hint is not None:
        return EvalReply(hint + "\n" + evaluation.item_text(scenario, item))
    following = evaluation.current_item(session, d, scenario, observer)
    if following is not None:
        return EvalReply(evaluation.item_text(scenario, following))
    mine = [f for f in evaluation.findings(session, d.id) if f.found_by == observer]
    found = "".join(texts.get("drills.eval.finding_line", id=f.id, text=f.text) for f in mine)
    return EvalReply(texts.get("drills.eval.done", title=d.title, findings=found), True)
