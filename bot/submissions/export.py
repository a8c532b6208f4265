"""The 征文 / 随手拍 export: every entry (text, photos, review, votes) and the results per
contest. Written through bot.exports: entries are text people typed and never become
formulas."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.models import Department, Submission, SubmissionVote, User
from bot.submissions.contests import contests, kind_label
from bot.submissions.entries import photos_of
from bot.submissions.voting import results

ENTRY_HEADER = [
    "活动编号",
    "主题",
    "编号",
    "类型",
    "部门",
    "姓名",
    "账号",
    "投稿时间",
    "内容",
    "照片数",
    "照片文件",
    "审核",
    "退回原因",
    "投票编号",
    "得票",
]
RESULT_HEADER = ["活动编号", "主题", "名次", "投票编号", "类型", "姓名", "部门", "内容", "得票"]


def _local(value, tz):
    return value.astimezone(tz).replace(tzinfo=None) if value else None


def export_sheets(session: Session, tz, contest_id: int | None = None) -> list[tuple]:
    """[(sheet title, header, rows)] for bot.exports.write_xlsx."""
    chosen = [c for c in contests(session, limit=10_000) if contest_id in (None, c.id)]
    chosen.sort(key=lambda c: c.id)
    names = dict(session.execute(select(User.userid, User.name)).all())
    depts = dict(session.execute(select(Department.id, Department.name)).all())
    counts = dict(
        session.execute(
            select(SubmissionVote.submission_id, func.count()).group_by(
                SubmissionVote.submission_id
            )
        ).all()
    )
    entry_rows, result_rows = [], []
    for c in chosen:
        rows = list(
            session.scalars(
                select(Submission).where(Submission.contest_id == c.id).order_by(Submission.id)
            )
        )
        photos = photos_of(session, [e.id for e in rows])
        for e in rows:
            stored = [p.path for p in photos[e.id] if p.path]
            entry_rows.append(
                [
                    c.id,
                    c.theme,
                    e.id,
                    kind_label(e.kind),
                    depts.get(e.department_id or 0, ""),
                    names.get(e.userid) or e.userid,
                    e.userid,
                    _local(e.created_at, tz),
                    e.text,
                    len(photos[e.id]),
                    "\n".join(stored),
                    texts.get(f"submissions.status.{e.status}"),
                    e.reason or "",
                    e.ballot_no,
                    counts.get(e.id, 0),
                ]
            )
        for r in results(session, c):
            e = r["entry"]
            result_rows.append(
                [
                    c.id,
                    c.theme,
                    r["rank"],
                    e.ballot_no,
                    kind_label(e.kind),
                    r["author"],
                    r["department"],
                    e.text,
                    r["votes"],
                ]
            )
    return [("投稿明细", ENTRY_HEADER, entry_rows), ("评选结果", RESULT_HEADER, result_rows)]


def contest_summary(session: Session, tz) -> list[dict]:
    """Per contest, for the dashboard and the summary report: theme, dates, entries,
    accepted, votes and the top three."""
    out = []
    for c in sorted(contests(session, limit=10_000), key=lambda c: c.id):
        entries = session.scalar(
            select(func.count()).select_from(Submission).where(Submission.contest_id == c.id)
        )
        accepted = session.scalar(
            select(func.count())
            .select_from(Submission)
            .where(Submission.contest_id == c.id, Submission.status == "accepted")
        )
        votes = session.scalar(
            select(func.count())
            .select_from(SubmissionVote)
            .where(SubmissionVote.contest_id == c.id)
        )
        top = [r for r in results(session, c) if r["rank"] <= 3 and r["votes"] > 0]
        out.append(
            {
                "contest": c,
                "kind": kind_label(c.kind),
                "entries": entries,
                "accepted": accepted,
                "votes": votes,
                "top": top,
                "closed": c.announced_at is not None,
            }
        )
    return out


def summary_rows(session: Session, tz) -> list[dict]:
    """One row per contest for the dashboard and the campaign summary (XLSX and HTML)."""
    rows = []
    for r in contest_summary(session, tz):
        c = r["contest"]
        top = "；".join(
            texts.get(
                "submissions.summary_top",
                rank=t["rank"],
                author=t["author"],
                department=t["department"] or "-",
                votes=t["votes"],
            )
            for t in r["top"]
        )
        rows.append(
            {
                "theme": c.theme,
                "kind": r["kind"],
                "submit_until": c.submit_until,
                "vote_until": c.vote_until,
                "entries": r["entries"],
                "accepted": r["accepted"],
                "votes": r["votes"],
                "top": top
                or texts.get(
                    "submissions.summary_closed" if r["closed"] else "submissions.summary_open"
                ),
            }
        )
    return rows
