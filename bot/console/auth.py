"""Console accounts, login with a database-backed rate limit, sessions, CSRF and scopes.

The browser holds Flask's signed session cookie with a random session id (`sid`); the
`console_sessions` row behind it is what makes the login valid, so logout (deleting the row)
ends it even for a copied cookie, and every login issues a fresh id (session rotation).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from bot.directory import department_tree
from bot.models import ConsoleAccount, ConsoleSession, LoginAttempt

ROLES = ("admin", "safety_officer", "department_head")
ROLE_LABELS = {"admin": "管理员", "safety_officer": "安全员", "department_head": "部门负责人"}
# The 6th wrong login for one user name or one address within a minute is refused.
MAX_FAILURES = 5
WINDOW = timedelta(minutes=1)
SESSION_IDLE = timedelta(hours=8)
PASSWORD_METHOD = "scrypt"
MIN_PASSWORD = 8
# Checked against when the user name is unknown, so both cases take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method=PASSWORD_METHOD)


class AccountError(ValueError):
    pass


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


def create_account(
    session: Session,
    username: str,
    password: str,
    *,
    role: str,
    departments: list[int] | None,
    now: datetime,
) -> ConsoleAccount:
    username = username.strip()
    if not username or len(username) > 64:
        raise AccountError("user name must be 1-64 characters")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password must be at least {MIN_PASSWORD} characters")
    if role == "department_head" and not departments:
        raise AccountError("a department head needs --departments")
    account = session.scalar(select(ConsoleAccount).where(ConsoleAccount.username == username))
    if account is None:
        account = ConsoleAccount(username=username, created_at=now)
        session.add(account)
    account.password_hash = hash_password(password)
    account.role = role
    account.departments = sorted(set(departments or []))
    account.active = True
    session.flush()
    # A changed password ends the account's other sessions.
    session.execute(delete(ConsoleSession).where(ConsoleSession.account_id == account.id))
    return account


@dataclass(frozen=True)
class LoginResult:
    account: ConsoleAccount | None
    limited: bool = False


def failures_in_window(session: Session, username: str, ip: str, now: datetime) -> int:
    """Failed attempts in the last minute for this user name or this address (the larger)."""
    since = now - WINDOW
    by_user = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.username == username, LoginAttempt.ok.is_(False), LoginAttempt.at > since
        )
    )
    by_ip = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.ip == ip, LoginAttempt.ok.is_(False), LoginAttempt.at > since)
    )
    return max(by_user or 0, by_ip or 0)


def attempt_login(factory, username: str, password: str, ip: str, now: datetime) -> LoginResult:
    """Check a login. Every attempt is first recorded as failed and committed, then counted:
    two workers racing each see the other's row, so a burst can only be refused more, never
    less. A correct password turns this attempt's row into a success."""
    username = (username or "").strip()[:64]
    ip = (ip or "-")[:64]
    with factory.begin() as s:
        attempt = LoginAttempt(username=username, ip=ip, at=now, ok=False)
        s.add(attempt)
        s.flush()
        attempt_id = attempt.id
    with factory.begin() as s:
        if failures_in_window(s, username, ip, now) > MAX_FAILURES:
            return LoginResult(None, limited=True)
        account = s.scalar(select(ConsoleAccount).where(ConsoleAccount.username == username))
        if account is None or not account.active:
            check_password_hash(_DUMMY_HASH, password or "")
            return LoginResult(None)
        if not check_password_hash(account.password_hash, password or ""):
            return LoginResult(None)
        s.get(LoginAttempt, attempt_id).ok = True
        account.last_login_at = now
        return LoginResult(account)


def prune_attempts(session: Session, now: datetime) -> None:
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - timedelta(days=30)))


def open_session(session: Session, account: ConsoleAccount, now: datetime) -> str:
    sid = secrets.token_urlsafe(32)
    session.add(ConsoleSession(sid=sid, account_id=account.id, created_at=now, last_seen_at=now))
    session.execute(
        delete(ConsoleSession).where(
            ConsoleSession.account_id == account.id,
            ConsoleSession.last_seen_at < now - SESSION_IDLE,
        )
    )
    return sid


def load_session(session: Session, sid: str | None, now: datetime) -> ConsoleAccount | None:
    if not sid:
        return None
    row = session.get(ConsoleSession, sid)
    if row is None or row.last_seen_at < now - SESSION_IDLE:
        return None
    account = session.get(ConsoleAccount, row.account_id)
    if account is None or not account.active:
        return None
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
    return account


def close_session(session: Session, sid: str | None) -> None:
    if sid:
        session.execute(delete(ConsoleSession).where(ConsoleSession.sid == sid))


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))


# -- what an account may see and do ---------------------------------------------------------------
@dataclass(frozen=True)
class Scope:
    """Departments an account sees: None means every department."""

    departments: frozenset[int] | None

    def allows(self, department_id: int | None) -> bool:
        return self.departments is None or department_id in self.departments

    def filter(self, column):
        """A WHERE clause limiting `column` (a department id) to this scope."""
        if self.departments is None:
            return True
        return column.in_(sorted(self.departments) or [-1])


def scope_for(session: Session, account: ConsoleAccount) -> Scope:
    if account.role in ("admin", "safety_officer"):
        return Scope(None)
    return Scope(frozenset(department_tree(session, account.departments or [])))


def can_act(account: ConsoleAccount) -> bool:
    """Changing things (hazards, questions, broadcasts …) is for admins and safety officers."""
    return account.role in ("admin", "safety_officer")
