"""安全生产责任书: the texts (versioned by content hash), signatures and signing rounds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class PledgeText(Base):
    """One version of one pledge text, synced from content/pledges/*.yaml.

    `hash` is the sha256 of the normalised title and body: editing the text makes a new row
    (and people sign again); old rows and the signatures that point at them stay.
    """

    __tablename__ = "pledge_texts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), index=True)  # staff | department_head | leader
    version: Mapped[str] = mapped_column(String(32))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class PledgeSignature(Base):
    """A signature, with who the signer was at the time (name and department can change)."""

    __tablename__ = "pledge_signatures"
    __table_args__ = (UniqueConstraint("userid", "text_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    userid: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64), default="")
    department_id: Mapped[int | None] = mapped_column(Integer, index=True)
    department_name: Mapped[str] = mapped_column(String(64), default="")
    text_key: Mapped[str] = mapped_column(String(32))
    text_version: Mapped[str] = mapped_column(String(32))
    text_hash: Mapped[str] = mapped_column(String(64), index=True)
    signed_at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(16))  # text | card | cli
    round_id: Mapped[int | None] = mapped_column(Integer)


class PledgeRound(Base):
    """A signing campaign launched by an admin; `departments` empty means everyone."""

    __tablename__ = "pledge_rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    launched_by: Mapped[str] = mapped_column(String(64))
    launched_at: Mapped[datetime]
    departments: Mapped[list[int]] = mapped_column(JSON, default=list)
    members_total: Mapped[int] = mapped_column(Integer, default=0)


class PledgeRoundMember(Base):
    """Who a round asked to sign which text (a snapshot taken at launch)."""

    __tablename__ = "pledge_round_members"
    __table_args__ = (UniqueConstraint("round_id", "userid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("pledge_rounds.id", ondelete="CASCADE"))
    userid: Mapped[str] = mapped_column(String(64), index=True)
    department_id: Mapped[int | None] = mapped_column(Integer)
    text_key: Mapped[str] = mapped_column(String(32))
    text_hash: Mapped[str] = mapped_column(String(64))


class PledgeView(Base):
    """When a person was last shown a 责任书 text (the 责任书 reply, or a round's message).

    A typed 确认/签署 signs only a text this person was shown; the signature's audit record
    says which showing it confirms."""

    __tablename__ = "pledge_views"
    __table_args__ = (UniqueConstraint("userid", "text_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    userid: Mapped[str] = mapped_column(String(64))
    text_hash: Mapped[str] = mapped_column(String(64))
    shown_at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(16))  # chat | round
