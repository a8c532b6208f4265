"""Running totals kept beside the raw rows so the figures read thousands of rows, not millions.

Both tables are maintained in the same transaction as the row that changes them (an answer, a
check-in, a signature, a report …) and can always be recomputed from the raw rows
(`safetybot counters check [--repair]`, bot.counters). They are a cache with a proof, never
the record: nothing is stored only here.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class PersonTotals(Base):
    """One row per person who has done anything of the campaign.

    points / answers / correct are the daily quiz's (the sums over quiz_answers, what 积分 and
    排行 show); took_part_on is the first local day the person took part in the campaign
    (bot.participation's definition), NULL while they have not.
    """

    __tablename__ = "person_totals"
    __table_args__ = (
        # 积分's rank ("people with more points") and 排行's top list are range scans of this.
        Index("ix_person_totals_points", "points", "userid"),
    )

    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    points: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    answers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    correct: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    took_part_on: Mapped[date | None] = mapped_column(Date)


class DepartmentDayCounts(Base):
    """Per department and local day: the high-volume figures (quiz answers and check-ins).

    The department is the one the person belonged to when they acted (as daily_checkins and
    pledge_signatures record it); 0 stands for "no department" so the key stays unique.
    """

    __tablename__ = "department_day_counts"

    department_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    quiz_answers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    quiz_correct: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    quiz_points: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    checkins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class QuestionCounts(Base):
    """Per department and daily-quiz question: answers and correct answers (the console's
    accuracy per theme, for everyone or a branch, without scanning every answer).

    The department is the one stored on the answer (the person's when they answered), 0 for
    none, as in department_day_counts. Keyed by department too, so concurrent answers to the
    same question from different departments do not queue on one row.
    """

    __tablename__ = "question_counts"

    department_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    answers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    correct: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PledgeCounts(Base):
    """Per department and 责任书 text (its hash): the active members of the department who
    have signed that text (pledge completion without a probe per member).

    The department is the member's main department **now**, and only active members (status
    1) count: completion is about the current members, so the rows follow a member who moves
    or leaves (bot.counters.member_changed, called by the directory sync) and are kept for
    every text ever signed, so a new version becoming current needs no rewrite (its rows start
    at zero and grow as people sign it). Which text applies to whom (roles) is not in here:
    bot.pledge.completion applies the rule at read time to the few leaders and department
    heads. 0 stands for "no department".
    """

    __tablename__ = "pledge_counts"

    department_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    signed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
