"""The question bank: search, edit, import."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from flask import (
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import func, or_, select

from bot.console.views.common import PAGE, audit, bp, now, officer_only
from bot.content import texts
from bot.models import Question
from bot.quiz.bank import (
    LETTERS,
    TYPE_NAMES,
    ImportFailed,
    ensure_bank,
    import_questions,
    save_question,
    theme_titles,
    write_template,
)

log = logging.getLogger(__name__)


@bp.get("/questions")
@officer_only
def questions():

    ensure_bank(g.db, now())
    q = request.args.get("q", "").strip()
    theme = request.args.get("theme", "").strip()
    stmt = select(Question)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Question.stem.ilike(like), Question.id.ilike(like)))
    if theme:
        stmt = stmt.where(Question.theme == theme)
    total = g.db.scalar(select(func.count()).select_from(stmt.subquery()))
    pages = max(1, -(-total // PAGE))
    # Any page number past the end (however large: it would overflow OFFSET) shows the last.
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    rows = list(
        g.db.scalars(
            stmt.order_by(Question.theme, Question.id).offset((page - 1) * PAGE).limit(PAGE)
        )
    )
    return render_template(
        "console/questions.html",
        rows=rows,
        q=q,
        theme=theme,
        page=page,
        total=total,
        pages=pages,
        themes=theme_titles(),
        types=TYPE_NAMES,
        import_errors=session.pop("import_errors", None),
    )


def _form_question() -> dict:
    return {
        "id": "",
        "theme": request.form.get("theme", ""),
        "type": request.form.get("type", ""),
        "stem": request.form.get("stem", ""),
        "options": [request.form.get(f"option_{c}", "") for c in LETTERS[:6].lower()],
        "answer": request.form.get("answer", ""),
        "explanation": request.form.get("explanation", ""),
        "source": request.form.get("source", ""),
    }


def _edit_page(question: Question | None, problems: list[str]):
    return render_template(
        "console/question_edit.html",
        question=question,
        problems=problems,
        themes=theme_titles(),
        types=TYPE_NAMES,
    )


@bp.route("/questions/new", methods=["GET", "POST"])
@officer_only
def question_new():
    problems: list[str] = []
    if request.method == "POST":
        saved, problems = save_question(g.db, _form_question(), now())
        if saved is not None:
            audit("console:question-add", f"{saved.id} {saved.stem[:200]}")
            flash(f"题目 {saved.id} 已添加。")
            return redirect(url_for("console.questions", q=saved.id))
    return _edit_page(None, problems)


@bp.route("/questions/<qid>", methods=["GET", "POST"])
@officer_only
def question_edit(qid: str):
    question = g.db.get(Question, qid) or abort(404)
    problems: list[str] = []
    if request.method == "POST":
        saved, problems = save_question(g.db, {**_form_question(), "id": qid}, now(), question)
        if saved is not None:
            saved.active = request.form.get("active") == "1"
            audit("console:question-edit", f"{qid} {saved.stem[:200]}")
            flash(f"题目 {qid} 已保存。")
            return redirect(url_for("console.questions", q=qid))
    return _edit_page(question, problems)


@bp.get("/questions/template.xlsx")
@officer_only
def questions_template():
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "template.xlsx"
        write_template(path)
        payload = path.read_bytes()
    audit("console:question-template", texts.get("console.audit_details.question_template"))
    return Response(
        payload,
        headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": "attachment; filename=question-template.xlsx; "
            "filename*=UTF-8''%E9%A2%98%E7%9B%AE%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx",
        },
    )


@bp.post("/questions/import")
@officer_only
def questions_import():

    upload = request.files.get("file")
    suffix = Path(upload.filename or "").suffix.lower() if upload else ""
    if upload is None or suffix not in (".csv", ".xlsx"):
        session["import_errors"] = ["请选择 .csv 或 .xlsx 文件。"]
        return redirect(url_for("console.questions"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("upload" + suffix)
        upload.save(path)
        try:
            count = import_questions(g.db, path, now())
        except ImportFailed as exc:
            # The import is all-or-nothing: nothing was written; show every bad row.
            session["import_errors"] = exc.errors[:200]
            audit(
                "console:question-import",
                texts.get("console.audit_details.question_import_refused", count=len(exc.errors)),
                allowed=False,
            )
            return redirect(url_for("console.questions"))
        except Exception:  # noqa: BLE001 - logged for us; the officer gets one plain line
            # Never show the exception (it may be SQL); roll back whatever was written.
            g.db.rollback()
            log.exception("question import failed")
            session["import_errors"] = ["导入失败：服务器处理文件时出错，未导入任何题目。"]
            return redirect(url_for("console.questions"))
    audit(
        "console:question-import",
        texts.get("console.audit_details.question_import", count=count, file=upload.filename),
    )
    flash(f"已导入 {count} 道题。")
    return redirect(url_for("console.questions"))
