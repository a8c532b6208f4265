"""The admin console: local accounts, their login sessions, and login attempts.

Login attempts live in the database so the login throttle is shared by every worker process.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class ConsoleAccount(Base):
    """A console login. role: admin | safety_officer | department_head; a department head
    sees `departments` and their sub-departments only. An account with `wecom_userid` signs in
    through WeCom's web authorisation (no password: `password_hash` is empty); its role and
    departments are taken from the directory at every sign-in."""

    __tablename__ = "console_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32), default="safety_officer")
    departments: Mapped[list[int]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    wecom_userid: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)


class ConsoleSession(Base):
    """A server-side record of a signed-in browser: logout deletes it, so a copied cookie
    stops working; a new id is issued at every login (session rotation)."""

    __tablename__ = "console_sessions"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("console_accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class LoginAttempt(Base):
    """One login attempt; `ok` False for a wrong password, an unknown user or a refusal."""

    __tablename__ = "console_login_attempts"
    __table_args__ = (
        Index("ix_console_login_attempts_username_at", "username", "at"),
        Index("ix_console_login_attempts_ip_at", "ip", "at"),
        # The throttle reads one (user name, address) pair's latest attempts.
        Index("ix_console_login_attempts_username_ip_at", "username", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    ok: Mapped[bool] = mapped_column(Boolean, default=False)


class ConsoleSecret(Base):
    """A secret the console generates once and every process shares (the session signing key
    when SAFETYBOT_SECRET_KEY is not set)."""

    __tablename__ = "console_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class OAuthState(Base):
    """A `state` handed to WeCom's web authorisation: where to go after the sign-in, and when
    it was used (once only, at most STATE_TTL after it was issued: bot.console.sso)."""

    __tablename__ = "console_oauth_states"

    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))  # console | checkin
    target: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
