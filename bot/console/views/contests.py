"""Knowledge contests (知识竞赛): the list, creating one, a contest's standings and figures,
corrections (edit, replace or void a question), announcing the results and cancelling.

Every change is an officer's (officer_only), goes through bot.quiz.contest*, is audit-logged
and answers with a flash message from content/replies.d/contest.yaml."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from bot.console import data
from bot.console.views.common import actor, audit, bp, now, officer_only, scope, services
from bot.content import texts
from bot.localtime import LocalTimeError, parse_local, stamp
from bot.models import Contest
from bot.quiz import contest as contests
from bot.quiz import contest_admin, contest_stats
from bot.quiz.bank import theme_titles
from bot.quiz.results import announce_results

MAX_ID = 2**31 - 1  # a larger id names no row (see views/events.py)


def _local(field: str):
    try:
        return parse_local(request.form.get(field, ""), services().settings.tz)
    except LocalTimeError as exc:
        raise contests.ContestError(texts.get("contest.console.bad_time")) from exc


def _int(field: str, default: int) -> int:
    value = request.form.get(field, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise contests.ContestError(texts.get("contest.console.bad_count")) from exc


def _detail(key: str, **values) -> str:
    """An audit detail in words (content `console.audit_details`)."""
    return texts.get(f"console.audit_details.{key}", **values)


def _when(contest: Contest) -> str:
    tz = services().settings.tz
    return f"「{contest.name}」{stamp(contest.opens_at, tz)}～{stamp(contest.closes_at, tz)}"


def _contest(contest_id: int) -> Contest:
    return g.db.get(Contest, contest_id) or abort(404)


def _back(contest_id: int):
    return redirect(url_for("console.contest_detail", contest_id=contest_id))


@bp.get("/contests")
def contests_list():
    return render_template(
        "console/contests.html",
        rows=contest_stats.overview(g.db, now()),
        labels={s: texts.get(f"contest.status.{s}") for s in contest_admin.STATUSES},
        themes=theme_titles(),
        departments=data.departments_in(g.db, scope()),
        names=data.department_names(g.db),
    )


@bp.post("/contests")
@officer_only
def contests_create():
    try:
        contest = contests.create_contest(
            g.db,
            name=request.form.get("name", ""),
            themes=request.form.getlist("themes"),
            count=_int("count", 10),
            seconds=_int("seconds", 150),
            opens_at=_local("opens_at"),
            closes_at=_local("closes_at"),
            created_by=actor(),
            now=now(),
            department_ids=[int(d) for d in request.form.getlist("departments") if d.isdigit()],
            auto_announce=request.form.get("auto_announce") == "1",
        )
    except contests.ContestError as exc:
        flash(str(exc), "error")
        return redirect(url_for("console.contests_list"))
    titles, depts = theme_titles(), data.department_names(g.db)
    audit(
        "console:contest-create",
        _detail(
            "contest_create",
            id=contest.id,
            name=contest.name,
            themes="、".join(titles.get(t, t) for t in contest.themes or [])
            or _detail("contest_all_themes"),
            count=contest.question_count,
            departments="、".join(depts.get(d, str(d)) for d in contest.department_ids or [])
            or _detail("contest_everyone"),
            questions="、".join(contest.question_ids or []),
        ),
    )
    flash(
        texts.get(
            "contest.console.created",
            id=contest.id,
            name=contest.name,
            count=len(contest.question_ids or []),
        )
    )
    return _back(contest.id)


@bp.get(f"/contests/<int(max={MAX_ID}):contest_id>")
def contest_detail(contest_id: int):
    contest = _contest(contest_id)
    visible = scope().allows
    standings = [r for r in contests.ranking(g.db, contest.id) if visible(r["department_id"])]
    depts = [d for d in contest_stats.participation(g.db, contest) if visible(d["department_id"])]
    state = contest_admin.status(contest, now())
    return render_template(
        "console/contest_detail.html",
        contest=contest,
        state=state,
        label=texts.get(f"contest.status.{state}"),
        standings=standings,
        departments=depts,
        questions=contest_stats.question_rates(g.db, contest),
        themes=contests.theme_label(contest),
        names=data.department_names(g.db),
        started=contest_admin.attempts_count(g.db, contest.id),
    )


@bp.post(f"/contests/<int(max={MAX_ID}):contest_id>/edit")
@officer_only
def contest_edit(contest_id: int):
    contest = _contest(contest_id)
    before = _when(contest)
    try:
        changed = contest_admin.edit_contest(
            g.db,
            contest,
            name=request.form.get("name", ""),
            opens_at=_local("opens_at"),
            closes_at=_local("closes_at"),
            now=now(),
        )
    except contests.ContestError as exc:
        flash(str(exc), "error")
        return _back(contest_id)
    if changed:
        fields = texts.raw("console.audit_details.contest_fields")
        audit(
            "console:contest-edit",
            _detail(
                "contest_edit",
                id=contest.id,
                fields="、".join(fields.get(c, c) for c in changed),
                before=before,
                after=_when(contest),
            ),
        )
        flash(texts.get("contest.console.edited"))
    else:
        flash(texts.get("contest.console.unchanged"))
    return _back(contest_id)


@bp.post(f"/contests/<int(max={MAX_ID}):contest_id>/replace")
@officer_only
def contest_replace(contest_id: int):
    contest = _contest(contest_id)
    try:
        number = _int("number", 0)
        old, new = contest_admin.replace_question(
            g.db, contest, number, request.form.get("question_id", ""), now()
        )
    except contests.ContestError as exc:
        flash(str(exc), "error")
        return _back(contest_id)
    audit(
        "console:contest-replace",
        _detail("contest_replace", id=contest.id, number=number, old=old, new=new),
    )
    flash(texts.get("contest.console.replaced", number=number, new=new))
    return _back(contest_id)


@bp.post(f"/contests/<int(max={MAX_ID}):contest_id>/void")
@officer_only
def contest_void(contest_id: int):
    contest = _contest(contest_id)
    try:
        number = _int("number", 0)
        qid = contest_admin.void_question(g.db, contest, number, now())
    except contests.ContestError as exc:
        flash(str(exc), "error")
        return _back(contest_id)
    rescored = contest_admin.attempts_count(g.db, contest.id)
    audit(
        "console:contest-void",
        _detail("contest_void", id=contest.id, number=number, qid=qid, count=rescored),
    )
    flash(texts.get("contest.console.voided", number=number, count=rescored))
    return _back(contest_id)


@bp.post(f"/contests/<int(max={MAX_ID}):contest_id>/announce")
@officer_only
def contest_announce(contest_id: int):
    contest = _contest(contest_id)
    try:
        told = announce_results(g.db, contest, now())
    except contests.ContestError as exc:
        flash(str(exc), "error")
        return _back(contest_id)
    if told is None:
        flash(texts.get("contest.console.already_announced"), "error")
        return _back(contest_id)
    audit(
        "console:contest-announce",
        _detail("contest_announce", id=contest.id, name=contest.name, count=told),
    )
    services().kick_sender()
    flash(texts.get("contest.console.announced", count=told))
    return _back(contest_id)


@bp.post(f"/contests/<int(max={MAX_ID}):contest_id>/cancel")
@officer_only
def contest_cancel(contest_id: int):
    contest = _contest(contest_id)
    try:
        told = contest_admin.cancel_contest(g.db, contest, actor(), now())
    except contests.ContestError as exc:
        flash(str(exc), "error")
        return _back(contest_id)
    audit(
        "console:contest-cancel",
        _detail("contest_cancel", id=contest.id, name=contest.name, count=len(told)),
    )
    services().kick_sender()
    flash(texts.get("contest.console.cancelled", count=len(told)))
    return _back(contest_id)
