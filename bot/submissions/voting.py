"""Voting on the shortlist and the results.

When submissions close, accepted entries get ballot numbers (in the order they came in; a
number never changes) and every active member gets the vote card with the numbered list
(`投票 3` in chat does the same). One vote per person and contest is a unique key; one's own
entry and votes outside the voting days are refused. When voting closes the results go to
everyone who took part (authors and voters), once: the job runs under the run ledger and
takes `announced_at` with UPDATE … WHERE announced_at IS NULL.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.content import texts
from bot.db import insert_ignore
from bot.directory import active_members
from bot.messages import text_message
from bot.models import Department, Submission, SubmissionContest, SubmissionVote, User
from bot.outbox import enqueue
from bot.submissions.contests import day_label, phase
from bot.submissions.entries import excerpt

VOTE_KEY = "subm:vote:"
QUESTION_KEY = "entry"
CARD_OPTIONS = 20  # WeCom's vote card lists at most 20 options (模板卡片 投票选择型)
TOP = 3


def ballot(session: Session, contest: SubmissionContest) -> list[Submission]:
    """The shortlist in ballot order, numbering accepted entries that have no number yet."""
    numbered = session.scalar(
        select(func.max(Submission.ballot_no)).where(Submission.contest_id == contest.id)
    )
    n = numbered or 0
    for entry in session.scalars(
        select(Submission)
        .where(
            Submission.contest_id == contest.id,
            Submission.status == "accepted",
            Submission.ballot_no.is_(None),
        )
        .order_by(Submission.id)
    ):
        n += 1
        entry.ballot_no = n
    session.flush()
    return list(
        session.scalars(
            select(Submission)
            .where(Submission.contest_id == contest.id, Submission.ballot_no.is_not(None))
            .order_by(Submission.ballot_no)
        )
    )


def names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(User.userid, User.name)).all())


def ballot_lines(session: Session, shortlist: list[Submission]) -> str:
    who = names(session)
    return "\n".join(
        texts.get(
            "submissions.ballot_line",
            number=e.ballot_no,
            kind=texts.get(f"submissions.kinds.{e.kind}"),
            excerpt=excerpt(e.text, 30),
            author=who.get(e.userid) or e.userid,
        )
        for e in shortlist
    )


def task_id_for(contest: SubmissionContest) -> str:
    digest = hashlib.sha1(f"{contest.id}|{contest.created_at}".encode()).hexdigest()[:10]
    return f"subvote_{contest.id}_{digest}"


def vote_card(
    contest: SubmissionContest,
    shortlist: list[Submission],
    *,
    task_id: str,
    checked: int | None = None,
    replace_text: str | None = None,
) -> dict:
    """The shortlist as a vote_interaction card (single choice, mode 0): option ids are the
    ballot numbers, so the card and 投票 N mean the same."""
    options = [
        {
            "id": str(e.ballot_no),
            "text": excerpt(f"{e.ballot_no}. {e.text}", 17),
            "is_checked": e.ballot_no == checked,
        }
        for e in shortlist[:CARD_OPTIONS]
    ]
    card = {
        "card_type": "vote_interaction",
        "source": {"desc": texts.get("submissions.card_source")},
        "main_title": {
            "title": excerpt(texts.get("submissions.card_title", theme=contest.theme), 36),
            "desc": texts.get("submissions.card_desc", until=day_label(contest.vote_until)),
        },
        "task_id": task_id[:128],
        "checkbox": {"question_key": QUESTION_KEY, "option_list": options, "mode": 0},
        "submit_button": {
            "text": texts.get("submissions.card_submit"),
            "key": f"{VOTE_KEY}{contest.id}",
        },
    }
    if replace_text is not None:
        card["checkbox"]["disable"] = True
        card["replace_text"] = replace_text
    return card


# -- casting a vote -----------------------------------------------------------------------------
@dataclass(frozen=True)
class VoteResult:
    ok: bool
    text: str
    entry: Submission | None = None


def voting_contest(session: Session, now: datetime, tz) -> SubmissionContest | None:
    """The contest a vote is for: the newest being voted on, else the newest still taking
    entries (a vote is "not yet"), else the newest (a vote is "closed"); None if none."""
    rows = list(
        session.scalars(select(SubmissionContest).order_by(SubmissionContest.id.desc()).limit(20))
    )
    for wanted in ("voting", "submitting"):
        for c in rows:
            if phase(c, now, tz) == wanted:
                return c
    return rows[0] if rows else None


def phase_refusal(contest: SubmissionContest, now: datetime, tz) -> str | None:
    """The one line for a vote outside the voting days, else None."""
    state = phase(contest, now, tz)
    if state == "submitting":
        return texts.get("submissions.vote_not_yet", day=_vote_from(contest))
    if state == "closed":
        return texts.get("submissions.vote_closed", day=day_label(contest.vote_until))
    return None


def cast(
    session: Session,
    contest: SubmissionContest,
    userid: str,
    number: int,
    channel: str,
    now: datetime,
    tz,
) -> VoteResult:
    """One vote for ballot number `number`; each refusal is one line."""
    t = texts.get
    refusal = phase_refusal(contest, now, tz)
    if refusal is not None:
        return VoteResult(False, refusal)
    shortlist = ballot(session, contest)
    entry = next((e for e in shortlist if e.ballot_no == number), None)
    if entry is None:
        return VoteResult(False, t("submissions.vote_hint", count=len(shortlist)))
    if entry.userid == userid:
        return VoteResult(False, t("submissions.vote_own"), entry)
    inserted = insert_ignore(
        session,
        SubmissionVote,
        {
            "contest_id": contest.id,
            "submission_id": entry.id,
            "userid": userid,
            "channel": channel,
            "at": now,
        },
        returning=SubmissionVote.id,
    ).first()
    if inserted is None:
        earlier = session.scalar(
            select(Submission.ballot_no)
            .join(SubmissionVote, SubmissionVote.submission_id == Submission.id)
            .where(SubmissionVote.contest_id == contest.id, SubmissionVote.userid == userid)
        )
        return VoteResult(False, t("submissions.vote_again", number=earlier))
    return VoteResult(True, t("submissions.voted", number=number, theme=contest.theme), entry)


def _vote_from(contest: SubmissionContest) -> str:
    return day_label(contest.submit_until + timedelta(days=1))


# -- results ---------------------------------------------------------------------------------------
def results(session: Session, contest: SubmissionContest) -> list[dict]:
    """The shortlist by votes (ties: the earlier entry first), with rank, author and
    department."""
    counts = dict(
        session.execute(
            select(SubmissionVote.submission_id, func.count())
            .where(SubmissionVote.contest_id == contest.id)
            .group_by(SubmissionVote.submission_id)
        ).all()
    )
    who = names(session)
    depts = dict(session.execute(select(Department.id, Department.name)).all())
    shortlist = list(
        session.scalars(
            select(Submission).where(
                Submission.contest_id == contest.id, Submission.status == "accepted"
            )
        )
    )
    rows = sorted(shortlist, key=lambda e: (-counts.get(e.id, 0), e.id))
    out, rank, last = [], 0, None
    for i, e in enumerate(rows, start=1):
        votes = counts.get(e.id, 0)
        if votes != last:
            rank, last = i, votes
        out.append(
            {
                "rank": rank,
                "entry": e,
                "votes": votes,
                "author": who.get(e.userid) or e.userid,
                "department": depts.get(e.department_id or 0, ""),
            }
        )
    return out


def results_text(session: Session, contest: SubmissionContest) -> str:
    rows = results(session, contest)
    voters = session.scalar(
        select(func.count())
        .select_from(SubmissionVote)
        .where(SubmissionVote.contest_id == contest.id)
    )
    lines = [
        texts.get(
            "submissions.result_line",
            rank=r["rank"],
            author=r["author"],
            department=r["department"] or "-",
            excerpt=excerpt(r["entry"].text, 24),
            votes=r["votes"],
        )
        for r in rows
        if r["rank"] <= TOP
    ]
    return texts.get(
        "submissions.results",
        theme=contest.theme,
        voters=voters,
        entries=len(rows),
        lines="\n".join(lines) or texts.get("submissions.results_none"),
    )


def participants(session: Session, contest_id: int) -> list[str]:
    authors = session.scalars(select(Submission.userid).where(Submission.contest_id == contest_id))
    voters = session.scalars(
        select(SubmissionVote.userid).where(SubmissionVote.contest_id == contest_id)
    )
    return sorted(set(authors) | set(voters))


# -- the job ----------------------------------------------------------------------------------------
def tick(session: Session, services, now: datetime) -> str:
    """Every few minutes: push the vote card when submissions have closed, the results when
    voting has closed; each once per contest (UPDATE … WHERE … IS NULL, and outbox dedup
    keys), whichever process runs it (scheduler.ledger)."""
    tz = services.settings.tz
    pushed = announced = 0
    rows = session.scalars(
        select(SubmissionContest)
        .where(SubmissionContest.announced_at.is_(None))
        .order_by(SubmissionContest.id)
    )
    for contest in list(rows):
        state = phase(contest, now, tz)
        if state == "voting" and contest.voting_started_at is None:
            pushed += start_voting(session, contest, now)
        elif state == "closed":
            announced += announce(session, contest, now)
    if not pushed and not announced:
        return "no contest to push"
    return f"vote cards for {pushed} contests, results for {announced} contests"


def start_voting(session: Session, contest: SubmissionContest, now: datetime) -> int:
    taken = session.execute(
        update(SubmissionContest)
        .where(SubmissionContest.id == contest.id, SubmissionContest.voting_started_at.is_(None))
        .values(voting_started_at=now)
    ).rowcount
    if not taken:
        return 0
    shortlist = ballot(session, contest)
    staff = [u for u, _ in active_members(session)]
    if not shortlist:
        enqueue(
            session,
            staff,
            text_message(texts.get("submissions.no_shortlist", theme=contest.theme)),
            source="submissions:vote",
            now=now,
            dedup_key=f"submissions:vote:{contest.id}",
        )
        return 1
    intro = texts.get(
        "submissions.vote_intro",
        theme=contest.theme,
        count=len(shortlist),
        until=day_label(contest.vote_until),
        lines=ballot_lines(session, shortlist),
    )
    enqueue(
        session,
        staff,
        text_message(intro),
        source="submissions:vote",
        now=now,
        dedup_key=f"submissions:vote:{contest.id}",
    )
    card = vote_card(contest, shortlist, task_id=task_id_for(contest))
    enqueue(
        session,
        staff,
        {"msgtype": "template_card", "template_card": card},
        source="submissions:vote",
        now=now,
        dedup_key=f"submissions:vote-card:{contest.id}",
    )
    return 1


def announce(session: Session, contest: SubmissionContest, now: datetime) -> int:
    taken = session.execute(
        update(SubmissionContest)
        .where(SubmissionContest.id == contest.id, SubmissionContest.announced_at.is_(None))
        .values(announced_at=now)
    ).rowcount
    if not taken:
        return 0
    people = participants(session, contest.id)
    if people:
        enqueue(
            session,
            people,
            text_message(results_text(session, contest)),
            source="submissions:results",
            now=now,
            dedup_key=f"submissions:results:{contest.id}",
        )
    return 1
