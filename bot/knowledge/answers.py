"""Answering a question typed in chat: a confident answer with its source and three related
questions, or "I don't know" with the closest topics and 转人工, or — for small talk — a
friendly word that the bot only knows about safety. Never a made-up answer.

Every question is logged (questions_asked); the choices 1/2/3 are kept per person
(qa_followups) for FOLLOWUP_WINDOW, in the database since workers share no memory.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm import Session

from bot import prepared
from bot.content import texts
from bot.db import bound_insert
from bot.knowledge.index import Hit, Index, get_index
from bot.knowledge.loader import Document, campaign_values
from bot.models import QaFollowup, QuestionAsked

# Tuned on tests/data/qa_tune.yaml (bench/qa.py --file tests/data/qa_tune.yaml).
# Confidence from which the best document is the answer (0.5: 62 right, 5 wrong of 75;
# 0.55: 59 right, 2 wrong; 0.6: 57 right, 1 wrong). A question must also use a safety word
# (synonyms.yaml topic/words/synonyms): short small talk covers an entry fully by chance
# (工资什么时候发), so coverage alone never answers it.
ANSWER_AT = 0.55
RELATED_AT = 0.15  # the least a document must cover to be offered as a related topic
RELATED = 3
FOLLOWUP_WINDOW = timedelta(minutes=10)
HANDOVER_WINDOW = timedelta(hours=1)  # 转人工 typed alone refers to a question this recent
MAX_LOGGED = 500  # characters of a question kept in the log

ANSWERED, UNSURE, OFF_TOPIC = "answered", "unsure", "off_topic"


@dataclass
class Decision:
    outcome: str
    best: Hit | None = None
    related: list[Document] = field(default_factory=list)

    @property
    def score(self) -> float:
        return self.best.confidence if self.best else 0.0


def decide(question: str, index: Index | None = None) -> Decision:
    """What to do with a question (no database): answer, offer topics, or decline."""
    index = index or get_index()
    hits = index.search(question, limit=RELATED + 3)
    on_topic = index.on_topic(question)
    best = hits[0] if hits else None
    if best is not None and best.confidence >= ANSWER_AT and on_topic:
        return Decision(ANSWERED, best, _related(hits[1:], exclude=best.doc.id))
    if not on_topic:
        return Decision(OFF_TOPIC, best)
    return Decision(UNSURE, best, _related(hits, exclude=None))


def _related(hits: list[Hit], exclude: str | None) -> list[Document]:
    """Up to RELATED documents worth offering, entries before quiz explanations and tips,
    no two with the same question."""
    good = [h for h in hits if h.confidence >= RELATED_AT and h.doc.id != exclude]
    good.sort(key=lambda h: (h.doc.kind != "entry", -h.score))
    out: list[Document] = []
    for h in good:
        if all(d.question != h.doc.question for d in out):
            out.append(h.doc)
    return out[:RELATED]


def render(doc: Document) -> str:
    """A document's answer and source as shown in chat."""
    answer = doc.answer
    if doc.kind == "entry" and "{" in answer:
        # A bad placeholder is `knowledge check`'s to report; the text is still worth showing.
        with contextlib.suppress(KeyError, ValueError, IndexError):
            answer = answer.format(**campaign_values())
    lines = [answer]
    if doc.kind == "quiz":
        lines.insert(0, texts.get("knowledge.quiz_heading", question=doc.question))
    elif doc.kind == "tip":
        lines.insert(0, texts.get("knowledge.tip_heading", title=doc.question))
    if doc.source:
        lines.append(texts.get("knowledge.source", source=doc.source))
    return "\n".join(lines)


def _choices(docs: list[Document]) -> list[str]:
    if not docs:
        return []
    lines = [f"{n}. {d.question}" for n, d in enumerate(docs, 1)]
    return lines + [texts.get("knowledge.choose_hint")]


def respond(session: Session, userid: str, question: str, now: datetime) -> str:
    """Answer a question typed in chat: log it, keep its follow-up choices, return the text."""
    decision = decide(question)
    asked_id = prepared.run(
        session,
        _INSERT_ASKED,
        {
            "userid": userid,
            "asked_at": now,
            "text": question.strip()[:MAX_LOGGED],
            "best_id": decision.best.doc.id if decision.best else None,
            "score": round(decision.score, 4),
            "outcome": decision.outcome,
        },
    ).scalar()
    if decision.outcome == OFF_TOPIC:
        remember(session, userid, asked_id, [], now)
        shown = question if len(question) <= 20 else question[:20] + "…"
        return texts.get("knowledge.off_topic", text=shown)
    remember(session, userid, asked_id, [d.id for d in decision.related], now)
    if decision.outcome == ANSWERED and decision.best is not None:
        parts = [render(decision.best.doc)]
        if decision.related:
            parts.append(
                "\n".join([texts.get("knowledge.related_title"), *_choices(decision.related)])
            )
        parts.append(texts.get("knowledge.human_hint"))
        return "\n\n".join(parts)
    if decision.related:
        lines = [texts.get("knowledge.unsure"), *_choices(decision.related)]
        return "\n".join(lines) + "\n\n" + texts.get("knowledge.human_offer")
    return texts.get("knowledge.unsure_none") + "\n" + texts.get("knowledge.human_offer")


# -- follow-ups ------------------------------------------------------------------------------
def remember(
    session: Session, userid: str, question_id: int | None, choices: list[str], now: datetime
) -> None:
    """Replace the person's follow-up row (what 1/2/3 and 转人工 refer to): one upsert, or
    through the ORM object if this transaction has loaded it (so a later flush of that object
    cannot write back older values)."""
    row = session.identity_map.get(session.identity_key(QaFollowup, userid))
    if row is not None:
        row.question_id, row.choices, row.at = question_id, list(choices), now
        return
    params = {"userid": userid, "question_id": question_id, "choices": choices, "at": now}
    prepared.run(session, _upsert_followup, params)


# Every question typed in chat writes these: prebuilt Core statements (bot.prepared) instead
# of an ORM add, flush and get.
_ASKED = QuestionAsked.__table__
_FOLLOWUPS = QaFollowup.__table__
_INSERT_ASKED = (
    insert(_ASKED)
    .values(
        {c: bindparam(c) for c in ("userid", "asked_at", "text", "best_id", "score", "outcome")}
    )
    .returning(_ASKED.c.id)
)


@prepared.per_dialect
def _upsert_followup(dialect: str) -> Any:
    columns = ("userid", "question_id", "choices", "at")
    stmt = bound_insert(dialect, _FOLLOWUPS, columns)
    return stmt.on_conflict_do_update(
        index_elements=[_FOLLOWUPS.c.userid],
        set_={c: stmt.excluded[c] for c in columns[1:]},
    )


def followup(session: Session, userid: str, number: int, now: datetime) -> str | None:
    """The text for reply `number` after an answer, or None if it means nothing now (no
    recent answer, or no such choice): the message is then handled as any other."""
    row = session.get(QaFollowup, userid)
    if row is None or now - row.at > FOLLOWUP_WINDOW:
        return None
    choices = list(row.choices or [])
    if not 1 <= number <= len(choices):
        return None
    doc = get_index().get(choices[number - 1])
    if doc is None:
        return None
    row.at = now  # the other choices stay open for another while
    index = get_index()
    others = [
        f"{n}. {other.question}"
        for n, c in enumerate(choices, 1)
        if n != number and (other := index.get(c)) is not None
    ]
    text = render(doc)
    if others:
        text += "\n\n" + "\n".join(
            [texts.get("knowledge.more_title"), *others, texts.get("knowledge.choose_hint")]
        )
    return text


def last_question(session: Session, userid: str, now: datetime) -> QuestionAsked | None:
    """The question 转人工 (typed alone) hands over: the person's latest, if recent."""
    row = session.get(QaFollowup, userid)
    if row is None or row.question_id is None or now - row.at > HANDOVER_WINDOW:
        return None
    return session.get(QuestionAsked, row.question_id)


def forget(session: Session, userid: str) -> None:
    session.execute(delete(QaFollowup).where(QaFollowup.userid == userid))


def unanswered(session: Session, limit: int | None = 200) -> list[QuestionAsked]:
    """Questions that got no confident answer, newest first (the console's list)."""
    return list(
        session.scalars(
            select(QuestionAsked)
            .where(QuestionAsked.outcome != ANSWERED)
            .order_by(QuestionAsked.id.desc())
            .limit(limit)
        )
    )
