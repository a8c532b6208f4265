"""征文 / 随手拍: open a contest, review its entries (text and photo thumbnails; accept, or
reject with a reason the author is told), the results, the export download."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from flask import Response, abort, flash, g, redirect, render_template, request, send_file, url_for

from bot.console.views.common import actor, audit, bp, now, officer_only, services, today
from bot.exports import write_xlsx
from bot.models import Department, Submission, SubmissionPhoto, User
from bot.submissions import contests, entries, voting
from bot.submissions.export import contest_summary, export_sheets

MAX_ID = 2**31 - 1
PHASES = {"submitting": "征集中", "voting": "投票中", "closed": "已结束"}


@bp.get("/submissions")
@officer_only
def submissions():
    tz = services().settings.tz
    rows = [(r, PHASES[contests.phase(r["contest"], now(), tz)]) for r in contest_summary(g.db, tz)]
    return render_template("console/submissions.html", rows=list(reversed(rows)), today=today())


@bp.post("/submissions/open")
@officer_only
def submissions_open():
    form = request.form
    try:
        until = date.fromisoformat(form.get("until", ""))
    except ValueError:
        flash("请填写投稿截止日期。", "error")
        return redirect(url_for("console.submissions"))
    vote_until = None
    if form.get("vote_until"):
        try:
            vote_until = date.fromisoformat(form["vote_until"])
        except ValueError:
            flash("投票截止日期格式不对。", "error")
            return redirect(url_for("console.submissions"))
    try:
        contest, staff = contests.open_contest(
            g.db,
            theme=form.get("theme", ""),
            kind=form.get("kind", ""),
            submit_until=until,
            vote_until=vote_until,
            created_by=actor(),
            now=now(),
            tz=services().settings.tz,
        )
    except contests.ContestError as exc:
        flash(str(exc), "error")
        return redirect(url_for("console.submissions"))
    audit("console:submissions-open", f"活动 {contest.id}：{contest.theme}")
    services().kick_sender()
    flash(f"活动已发起，已通知 {staff} 人。")
    return redirect(url_for("console.submission_contest", contest_id=contest.id))


def _contest(contest_id: int):
    return contests.get(g.db, contest_id) or abort(404)


@bp.get(f"/submissions/<int(max={MAX_ID}):contest_id>")
@officer_only
def submission_contest(contest_id: int):
    contest = _contest(contest_id)
    tz = services().settings.tz
    rows = entries.entries(g.db, contest.id)
    names = dict(g.db.query(User.userid, User.name).all())
    depts = dict(g.db.query(Department.id, Department.name).all())
    state = contests.phase(contest, now(), tz)
    return render_template(
        "console/submission_contest.html",
        contest=contest,
        phase=PHASES[state],
        kind=contests.kind_label(contest.kind),
        rows=rows,
        photos=entries.photos_of(g.db, [e.id for e in rows]),
        names=names,
        depts=depts,
        results=voting.results(g.db, contest) if state != "submitting" else [],
        status={"pending": "待审核", "accepted": "已入围", "rejected": "未通过"},
        kinds={"essay": "征文", "photo": "随手拍"},
    )


@bp.post(f"/submissions/entries/<int(max={MAX_ID}):entry_id>/review")
@officer_only
def submission_review(entry_id: int):
    entry = g.db.get(Submission, entry_id) or abort(404)
    accept = request.form.get("decision") == "accept"
    reason = request.form.get("reason", "")[:500]
    try:
        entries.review(g.db, entry, accept, actor(), now(), reason=reason)
    except entries.ReviewError as exc:
        flash(str(exc), "error")
        return redirect(url_for("console.submission_contest", contest_id=entry.contest_id))
    audit(
        "console:submissions-" + ("accept" if accept else "reject"),
        f"投稿 {entry.id}" + ("" if accept else f"：{reason}"),
    )
    services().kick_sender()
    flash(f"投稿 {entry.id} 已入围。" if accept else f"投稿 {entry.id} 已退回，作者会收到原因。")
    return redirect(url_for("console.submission_contest", contest_id=entry.contest_id))


@bp.get(f"/submissions/photos/<int(max={MAX_ID}):photo_id>")
@officer_only
def submission_photo(photo_id: int):
    """A stored entry photo: the path comes from the database and must stay in files_dir."""
    row = g.db.get(SubmissionPhoto, photo_id)
    if row is None or row.status != "stored" or not row.path:
        abort(404)
    root = Path(services().settings.files_dir).resolve()
    target = (root / row.path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        abort(404)
    return send_file(target, mimetype=row.content_type or "application/octet-stream")


@bp.get("/submissions/export.xlsx")
@officer_only
def submissions_export():
    contest_id = request.args.get("contest", "")
    sheets = export_sheets(
        g.db, services().settings.tz, int(contest_id) if contest_id.isdigit() else None
    )
    with tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False) as fh:
        path = Path(fh.name)
    try:
        write_xlsx(path, sheets)
        payload = path.read_bytes()
    finally:
        path.unlink(missing_ok=True)
    audit("console:submissions-export", f"活动 {contest_id or '全部'}")
    name = f"submissions-{today().isoformat()}.xlsx"
    return Response(
        payload,
        headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )
