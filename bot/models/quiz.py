"""Quiz tables: the question bank, daily sets and answers, the wrong-answer schedule, contests."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class Question(Base):
    """One question, keyed by its stable id ("fire-001").

    `answer` is canonical: the letters of the correct options in the stored (unshuffled) order
    ("B", "ACD"), or "T"/"F" for a judge (true/false) question.
    """

    __tablename__ = "questions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    theme: Mapped[str] = mapped_column(String(32), index=True)
    type: Mapped[str] = mapped_column(String(16))  # single | multiple | judge
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(String(16))
    explanation: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    origin: Mapped[str] = mapped_column(String(16), default="builtin")  # builtin | import
    updated_at: Mapped[datetime]


class BankVersion(Base):
    """One row (id 1): a number that grows with every write to `questions`.

    A trigger bumps it (migration 0028), in the writer's transaction; each process keeps the
    bank in memory for the version it read (bot.quiz.bank_cache) and reads this number with
    every message's sender, so an edit committed anywhere reaches the next message everywhere."""

    __tablename__ = "bank_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)


class QuizDailySet(Base):
    """Which questions one person gets on one day, and the option order each is shown in.

    `permutations[i][p]` is the stored option index shown at position p of question i, so the
    letters a person answers with map back to the stored options.
    """

    __tablename__ = "quiz_daily_sets"
    __table_args__ = (UniqueConstraint("userid", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    userid: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    question_ids: Mapped[list[str]] = mapped_column(JSON)
    permutations: Mapped[list[list[int]]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class QuizAnswer(Base):
    """One scored answer to one question of a daily set: the unique key makes it count once."""

    __tablename__ = "quiz_answers"
    __table_args__ = (
        UniqueConstraint("set_id", "question_index"),
        Index("ix_quiz_answers_userid_day", "userid", "day"),
        # Covering indexes for the rankings (points per person, 积分/排行), the per-department
        # figures and accuracy per theme: these scan every answer, and reading a narrow index
        # instead of the table is what keeps them under a second (docs/PERFORMANCE.md).
        Index("ix_quiz_answers_scores", "userid", "points", "correct", "question_id"),
        Index("ix_quiz_answers_question_id_correct", "question_id", "correct"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("quiz_daily_sets.id", ondelete="CASCADE"))
    question_index: Mapped[int] = mapped_column(Integer)
    userid: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    question_id: Mapped[str] = mapped_column(String(64))
    given: Mapped[str] = mapped_column(String(16))  # canonical letters / T / F
    correct: Mapped[bool] = mapped_column(Boolean)
    points: Mapped[int] = mapped_column(Integer, default=0)
    answered_at: Mapped[datetime]
    # The person's main department when they answered (as daily_checkins records it), so the
    # per-department counters can be recomputed exactly; 0 when they had none (as the counters
    # key it), NULL on answers stored before 0023.
    department_id: Mapped[int | None] = mapped_column(Integer)


class QuizReview(Base):
    """The wrong-answer book with its spaced-repetition schedule.

    A wrong answer on day D sets anchor_on = D, stage = 0; the question is due on
    D + 1, D + 3, D + 7 (stage 0, 1, 2). A correct review advances the stage; after the last
    one `due_on` is None (mastered). A wrong review starts again from that day.
    """

    __tablename__ = "quiz_reviews"
    __table_args__ = (Index("ix_quiz_reviews_userid_due_on", "userid", "due_on"),)

    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    stage: Mapped[int] = mapped_column(Integer, default=0)
    anchor_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    wrong_count: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime]


class Contest(Base):
    """A knowledge contest (知识竞赛): one timed attempt per person between opens_at and closes_at."""

    __tablename__ = "contests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty = every theme
    question_count: Mapped[int] = mapped_column(Integer, default=10)
    seconds: Mapped[int] = mapped_column(Integer, default=150)
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime] = mapped_column(index=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    # The questions everyone gets, drawn once (at creation; contests made before this column
    # draw at their first attempt). None = not drawn yet (SQL NULL, hence none_as_null).
    question_ids: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    # Who may take part and is told it opened: these departments and their sub-departments
    # (None or [] = everyone).
    department_ids: Mapped[list[int] | None] = mapped_column(JSON(none_as_null=True))
    # Questions found wrong after the opening: they score nothing for anyone.
    voided_question_ids: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    # Set once, by whoever sends the opening notice / the results (UPDATE … WHERE … IS NULL).
    open_notified_at: Mapped[datetime | None]
    announced_at: Mapped[datetime | None]
    # Results go out when the contest closes; off, an officer announces them from the console.
    auto_announce: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())


class ContestAttempt(Base):
    __tablename__ = "contest_attempts"
    __table_args__ = (UniqueConstraint("contest_id", "userid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"))
    userid: Mapped[str] = mapped_column(String(64))
    question_ids: Mapped[list[str]] = mapped_column(JSON)
    permutations: Mapped[list[list[int]]] = mapped_column(JSON)
    started_at: Mapped[datetime]
    deadline: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    score: Mapped[int] = mapped_column(Integer, default=0)
    correct_count: Mapped[int] = mapped_column(Integer, default=0)


class ContestAnswer(Base):
    __tablename__ = "contest_answers"
    __table_args__ = (UniqueConstraint("attempt_id", "question_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("contest_attempts.id", ondelete="CASCADE"))
    question_index: Mapped[int] = mapped_column(Integer)
    question_id: Mapped[str] = mapped_column(String(64))
    given: Mapped[str] = mapped_column(String(16))
    correct: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[datetime]
