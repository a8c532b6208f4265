"""Desk exercises (桌面推演) in chat.

Each participant walks the scenario at their own pace: the steps in order, each inject after
its step. Progress is one DrillAnswer row per participant per item (unique), never the
conversation: a retried callback records once, and after a restart the participant carries on
at the first item without an answer. The facilitator may send the next inject to everyone at
once (推演 插入: it comes before their next step), move everyone past the item they are on
(推演 下一步), or end the exercise (推演 结束). Whoever finishes gets the correct sequence with
explanations and their own result; the facilitator gets the group's answers at the end.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bot import prepared
from bot.content import texts
from bot.db import insert_ignore
from bot.drills.common import (
    DrillRefused,
    add_participants,
    members_of,
    participant,
    participants,
)
from bot.drills.scenarios import LETTERS, Question, Scenario, get_scenario, scenario_ids
from bot.messages import text_message
from bot.models import Drill, DrillAnswer, DrillParticipant
from bot.outbox import enqueue
from bot.people import display

_PREFIX = re.compile(r"^(我选|选择|选|答案是|答案|答)[:：]?")
_SEP = re.compile(r"[\s,，、;；和与.。]+")


# -- starting -----------------------------------------------------------------------------------
def start_desk(
    session: Session,
    *,
    scenario_id: str,
    facilitator: str,
    department_ids: list[int],
    userids: list[str],
    now: datetime,
) -> Drill:
    scenario = get_scenario(scenario_id)
    if scenario is None:
        raise DrillRefused("unknown_scenario", scenario=scenario_id, valid=scenario_ids())
    members = members_of(session, department_ids, userids)
    if not members:
        raise DrillRefused("nobody")
    drill = Drill(
        kind="desk",
        scenario_id=scenario.id,
        title=scenario.title,
        status="active",
        facilitator=facilitator,
        department_ids=department_ids,
        injected=[],
        created_by=facilitator,
        created_at=now,
    )
    session.add(drill)
    session.flush()
    add_participants(session, drill, members)
    first = scenario.sequence()[0]
    body = "\n".join(
        [
            texts.get(
                "drills.desk.invitation",
                title=scenario.title,
                summary=scenario.summary,
                facilitator=display(session, facilitator),
                count=len(scenario.sequence()),
            ),
            question_text(scenario, first),
        ]
    )
    enqueue(
        session,
        [u for u, _ in members],
        text_message(body),
        source=f"drill:{drill.id}:start",
        now=now,
        dedup_key=f"drill:{drill.id}:start",
    )
    return drill


# -- where a participant stands -------------------------------------------------------------------
def answers_of(session: Session, drill_id: int, userid: str | None = None) -> list[DrillAnswer]:
    q = select(DrillAnswer).where(DrillAnswer.drill_id == drill_id).order_by(DrillAnswer.id)
    if userid is not None:
        q = q.where(DrillAnswer.userid == userid)
    return list(session.scalars(q))


def order(drill: Drill, scenario: Scenario) -> list[Question]:
    """The items in the order a participant meets them: injects the facilitator sent early
    come first (they are news for everyone at once), then the scenario's sequence."""
    early = [scenario.by_id[i] for i in (drill.injected or []) if i in scenario.by_id]
    return early + [q for q in scenario.sequence() if q not in early]


def current_item(session: Session, drill: Drill, scenario: Scenario, userid: str):
    done = {a.item_id for a in answers_of(session, drill.id, userid)}
    return next((q for q in order(drill, scenario) if q.id not in done), None)


_DRILLS = Drill.__table__
_PARTICIPANTS = DrillParticipant.__table__
# Every letter or digit typed outside a conversation asks this (usually: no): a prebuilt Core
# statement for the id, the ORM object only when there is one.
_ACTIVE_FOR = (
    select(_DRILLS.c.id)
    .join(_PARTICIPANTS, _PARTICIPANTS.c.drill_id == _DRILLS.c.id)
    .where(
        _DRILLS.c.kind == "desk",
        _DRILLS.c.status == "active",
        _PARTICIPANTS.c.userid == bindparam("userid"),
        _PARTICIPANTS.c.finished_at.is_(None),
    )
    .order_by(_DRILLS.c.id)
    .limit(1)
)


def active_for(session: Session, userid: str) -> Drill | None:
    """The participant's earliest running desk exercise they have not finished."""
    drill_id = prepared.run(session, _ACTIVE_FOR, {"userid": userid}).scalar()
    return None if drill_id is None else session.get(Drill, drill_id)


def facilitated_by(session: Session, userid: str) -> Drill | None:
    """The latest running desk exercise this officer facilitates."""
    return session.scalar(
        select(Drill)
        .where(Drill.kind == "desk", Drill.status == "active", Drill.facilitator == userid)
        .order_by(Drill.id.desc())
        .limit(1)
    )


# -- texts -------------------------------------------------------------------------------------
def question_text(scenario: Scenario, q: Question) -> str:
    seq = scenario.sequence()
    position = seq.index(q) + 1 if q in seq else 0
    options = "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(q.options))
    if q.free and not q.options:
        how = texts.get("drills.desk.how_free")
    elif q.multiple:
        how = texts.get("drills.desk.how_multiple")
    else:
        how = texts.get("drills.desk.how_single", last=LETTERS[len(q.options) - 1])
    return texts.get(
        "drills.desk.inject" if q.inject else "drills.desk.step",
        index=position,
        total=len(seq),
        text=q.text,
        question=q.question,
        options=options,
        how=how,
    ).rstrip()


def parse_choice(text: str, q: Question) -> str | None:
    """ "B", "b", "2", "选B", "A C", "A、C", "1,3" → sorted letters; None if outside the options."""
    t = _PREFIX.sub("", (text or "").strip()).strip()
    if not t or not q.options:
        return None
    parts = [p for p in _SEP.split(t) if p]
    letters: list[str] = []
    for p in parts:
        if p.isdigit():
            n = int(p)
            if not 1 <= n <= len(q.options):
                return None
            letters.append(LETTERS[n - 1])
        elif p.isascii() and p.isalpha():
            letters += list(p.upper())
        else:
            return None
    valid = LETTERS[: len(q.options)]
    if not letters or any(c not in valid for c in letters):
        return None
    chosen = "".join(sorted(set(letters)))
    if not q.multiple and len(chosen) > 1:
        return None
    return chosen


# -- answering ---------------------------------------------------------------------------------
def record(
    session: Session, drill: Drill, userid: str, q: Question, answer: str, now: datetime
) -> bool:
    """One answer; False when it was already recorded (a retried callback)."""
    correct = None if not q.answer else answer == q.answer
    row = insert_ignore(
        session,
        DrillAnswer,
        {
            "drill_id": drill.id,
            "userid": userid,
            "item_id": q.id,
            "answer": answer[:2000],
            "correct": correct,
            "answered_at": now,
        },
        returning=DrillAnswer.id,
    ).first()
    return row is not None


def answer(session: Session, drill: Drill, userid: str, text: str, now: datetime) -> str:
    """What the participant reads after typing `text`: a hint and the same question, or the
    verdict and the next question, or their result at the end."""
    scenario = get_scenario(drill.scenario_id)
    if scenario is None:
        return texts.get("drills.desk.scenario_gone", scenario=drill.scenario_id)
    q = current_item(session, drill, scenario, userid)
    if q is None:
        return finish(session, drill, scenario, userid, now)
    chosen = parse_choice(text, q)
    lines = []
    if chosen is not None:
        record(session, drill, userid, q, chosen, now)
        key = "drills.desk.right" if chosen == q.answer else "drills.desk.noted"
        lines.append(texts.get(key))
    elif q.free and (text or "").strip():
        record(session, drill, userid, q, " ".join(text.split()), now)
        lines.append(texts.get("drills.desk.free_noted"))
    else:
        hint = "drills.desk.hint_multiple" if q.multiple else "drills.desk.hint"
        return "\n".join(
            [texts.get(hint, last=LETTERS[max(0, len(q.options) - 1)]), question_text(scenario, q)]
        )
    lines.append(next_text(session, drill, scenario, userid, now))
    return "\n".join(lines)


def next_text(
    session: Session, drill: Drill, scenario: Scenario, userid: str, now: datetime
) -> str:
    q = current_item(session, drill, scenario, userid)
    return question_text(scenario, q) if q else finish(session, drill, scenario, userid, now)


def resume_text(session: Session, drill: Drill, userid: str, now: datetime) -> str:
    scenario = get_scenario(drill.scenario_id)
    if scenario is None:
        return texts.get("drills.desk.scenario_gone", scenario=drill.scenario_id)
    done = len(answers_of(session, drill.id, userid))
    head = texts.get(
        "drills.desk.resume" if done else "drills.desk.begin",
        title=scenario.title,
        summary=scenario.summary,
        done=done,
        total=len(scenario.sequence()),
    )
    return "\n".join([head, next_text(session, drill, scenario, userid, now)])


# -- the end -----------------------------------------------------------------------------------
def result_text(session: Session, drill: Drill, scenario: Scenario, userid: str) -> str:
    given = {a.item_id: a for a in answers_of(session, drill.id, userid)}
    graded = [q for q in scenario.sequence() if q.answer]
    right = sum(1 for q in graded if given.get(q.id) and given[q.id].correct)
    lines = [texts.get("drills.desk.result", title=scenario.title, right=right, total=len(graded))]
    for q in scenario.sequence():
        mine = given.get(q.id)
        yours = mine.answer if mine and mine.answer else texts.get("drills.desk.no_answer")
        lines.append(
            texts.get(
                "drills.desk.result_line",
                id=q.id,
                question=q.question,
                answer=q.answer or texts.get("drills.desk.free_answer"),
                yours=yours,
                mark=("✓" if mine and mine.correct else "✗") if q.answer else "",
                explanation=q.explanation,
                source=q.source,
            )
        )
    return "\n".join(lines)


def finish(session: Session, drill: Drill, scenario: Scenario, userid: str, now: datetime) -> str:
    """The participant has answered everything: their result; the exercise ends once all have."""
    p = participant(session, drill.id, userid)
    if p is not None and p.finished_at is None:
        p.finished_at = now
    text = result_text(session, drill, scenario, userid)
    if all(x.finished_at is not None for x in participants(session, drill.id)):
        end(session, drill, now)
    return text


def end(session: Session, drill: Drill, now: datetime) -> None:
    """End the exercise: the unfinished get their results, the facilitator the group's."""
    if drill.status == "ended":
        return
    scenario = get_scenario(drill.scenario_id)
    drill.status, drill.ended_at = "ended", now
    if scenario is None:
        return
    for p in participants(session, drill.id):
        if p.finished_at is None:
            p.finished_at = now
            enqueue(
                session,
                [p.userid],
                text_message(result_text(session, drill, scenario, p.userid)),
                source=f"drill:{drill.id}:result",
                now=now,
                dedup_key=f"drill:{drill.id}:result:{p.userid}",
            )
    enqueue(
        session,
        [drill.facilitator],
        text_message(group_text(session, drill, scenario)),
        source=f"drill:{drill.id}:group",
        now=now,
        dedup_key=f"drill:{drill.id}:group",
    )


def group_text(session: Session, drill: Drill, scenario: Scenario) -> str:
    rows = answers_of(session, drill.id)
    people = participants(session, drill.id)
    lines = [
        texts.get("drills.desk.group_head", id=drill.id, title=scenario.title, count=len(people))
    ]
    for q in scenario.sequence():
        mine = [a for a in rows if a.item_id == q.id]
        if q.answer:
            counts = Counter(a.answer or texts.get("drills.desk.no_answer") for a in mine)
            spread = "，".join(f"{k} {v} 人" for k, v in sorted(counts.items())) or "-"
            lines.append(
                texts.get("drills.desk.group_line", id=q.id, answer=q.answer, spread=spread)
            )
        else:
            said = "；".join(f"{display(session, a.userid)}：{a.answer}" for a in mine if a.answer)
            lines.append(texts.get("drills.desk.group_free", id=q.id, said=said or "-"))
    graded = {q.id for q in scenario.sequence() if q.answer}
    scores = []
    for p in people:
        right = sum(1 for a in rows if a.userid == p.userid and a.item_id in graded and a.correct)
        scores.append(f"{display(session, p.userid)} {right}/{len(graded)}")
    lines.append(texts.get("drills.desk.group_scores", scores="，".join(scores)))
    return "\n".join(lines)


# -- the facilitator -----------------------------------------------------------------------------
def inject_now(session: Session, drill: Drill, inject_id: str, now: datetime) -> str:
    """Send an inject (the next one not yet sent, or the one named) to everyone now."""
    scenario = get_scenario(drill.scenario_id)
    if scenario is None:
        return texts.get("drills.desk.scenario_gone", scenario=drill.scenario_id)
    sent = set(drill.injected or [])
    if inject_id:
        inject = next((i for i in scenario.injects if i.id == inject_id), None)
        if inject is None:
            valid = "、".join(i.id for i in scenario.injects) or "-"
            return texts.get("drills.desk.no_such_inject", inject=inject_id, valid=valid)
    else:
        inject = next((i for i in scenario.injects if i.id not in sent), None)
        if inject is None:
            return texts.get("drills.desk.no_inject_left")
    if inject.id in sent:
        return texts.get("drills.desk.inject_sent_before", inject=inject.id)
    drill.injected = [*(drill.injected or []), inject.id]
    answered = {a.userid for a in answers_of(session, drill.id) if a.item_id == inject.id}
    told = [
        p.userid
        for p in participants(session, drill.id)
        if p.finished_at is None and p.userid not in answered
    ]
    if told:
        enqueue(
            session,
            told,
            text_message(
                texts.get("drills.desk.inject_pushed") + "\n" + question_text(scenario, inject)
            ),
            source=f"drill:{drill.id}:inject",
            now=now,
            dedup_key=f"drill:{drill.id}:inject:{inject.id}",
        )
    return texts.get("drills.desk.inject_done", inject=inject.id, count=len(told))


def move_on(session: Session, drill: Drill, now: datetime) -> str:
    """推演 下一步: everyone still on an item leaves it unanswered and gets the next one."""
    scenario = get_scenario(drill.scenario_id)
    if scenario is None:
        return texts.get("drills.desk.scenario_gone", scenario=drill.scenario_id)
    moved = 0
    for p in participants(session, drill.id):
        if p.finished_at is not None:
            continue
        q = current_item(session, drill, scenario, p.userid)
        if q is None:
            continue
        if record(session, drill, p.userid, q, "", now):
            moved += 1
            body = (
                texts.get("drills.desk.moved_on")
                + "\n"
                + next_text(session, drill, scenario, p.userid, now)
            )
            enqueue(
                session,
                [p.userid],
                text_message(body),
                source=f"drill:{drill.id}:next",
                now=now,
                dedup_key=f"drill:{drill.id}:next:{p.userid}:{q.id}",
            )
    return texts.get("drills.desk.moved", count=moved)


def progress_text(session: Session, drill: Drill) -> str:
    scenario = get_scenario(drill.scenario_id)
    total = len(scenario.sequence()) if scenario else 0
    counts = Counter(a.userid for a in answers_of(session, drill.id))
    people = "，".join(
        f"{display(session, p.userid)} {counts.get(p.userid, 0)}/{total}"
        for p in participants(session, drill.id)
    )
    return texts.get("drills.desk.progress", id=drill.id, title=drill.title, people=people)
