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


class DepartmentTotals(Base):
    """Per department: its active members, their daily-quiz points (person_totals.points) and
    how many of them took part (bot.participation) — 排行's department tables and the console's
    members and participants, without passing over every member.

    The definition is the current directory's: a person counts for the main department they
    are in now (moving moves their points and participation with them). `department_id` 0
    holds the active members without a main department, ELSEWHERE (-1) everyone else with a
    person_totals row (members who left, disabled or not activated, people never synced), so
    that the participants of every row add up to bot.participation's count.

    Kept by database triggers (migration 0025), not by Python: every write to person_totals
    (answers, check-ins, any first participation, `counters check --repair`) and every write
    to users (directory sync, a stranger's first message, a test's insert) adjusts it in the
    same statement. `source` splits each department into two rows so the two kinds of writer
    never queue on one row: 0 is changed by person_totals' trigger (the chat path), 1 by
    users' (the directory, one long transaction over many members). Readers sum the two.
    """

    __tablename__ = "department_totals"

    department_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    members: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    points: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    participants: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DepartmentDayActive(Base):
    """Per department and local day: how many people used the bot (wrote or clicked anything),
    i.e. daily_activity's rows counted by (department, day) — the dashboard's 每日使用人数.

    Kept by the dispatcher in the message's transaction when it really inserts a person's
    daily_activity row (their first message of the day), with that row's department (the
    person's when they first wrote that day), 0 for none. A table of its own rather than a
    column of department_day_counts: it is written on every first message of a day, and on
    PostgreSQL that write then never waits on the row answers and check-ins lock.
    """

    __tablename__ = "department_day_active"

    department_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    people: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


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
