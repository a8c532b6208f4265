"""Console accounts, login with a database-backed throttle, sessions, CSRF and scopes.

Wrong passwords are throttled per (user name, client address): after FREE_FAILURES in a row
the pair must wait, 1 minute, then 2, 4 … up to MAX_DELAY, so guessing stays slow while the
same account signs in normally from any other address (an attacker cannot lock it out).

The browser holds Flask's signed session cookie with a random session id (`sid`); the
`console_sessions` row behind it is what makes the login valid, so logout (deleting the row)
ends it even for a copied cookie, and every login issues a fresh id (session rotation).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from bot.db import insert_ignore
from bot.directory import department_tree
from bot.models import ConsoleAccount, ConsoleSession, LoginAttempt
from bot.models.console import ConsoleSecret

ROLES = ("admin", "safety_officer", "department_head")
ROLE_LABELS = {"admin": "管理员", "safety_officer": "安全员", "department_head": "部门负责人"}
# Wrong passwords in a row (per user name and address) before the throttle starts; then each
# further try waits FIRST_DELAY, doubled per failure, at most MAX_DELAY.
FREE_FAILURES = 5
FIRST_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(minutes=15)
# Failures older than this are forgotten.
LOOKBACK = timedelta(days=1)
SESSION_IDLE = timedelta(hours=8)
PASSWORD_METHOD = "scrypt"
MIN_PASSWORD = 10
SECRET_KEY_NAME = "session_key"
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
    if password.strip().casefold() == username.casefold():
        raise AccountError("password must not be the user name")
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
    # How long a limited pair must still wait.
    retry_after: timedelta = timedelta(0)


def throttle_delay(failures: int) -> timedelta:
    """The wait after `failures` wrong passwords in a row."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(FIRST_DELAY * 2 ** min(failures - FREE_FAILURES, 16), MAX_DELAY)


def recent_failures(
    session: Session, username: str, ip: str, now: datetime, exclude: int | None = None
) -> tuple[int, datetime | None]:
    """Wrong attempts in a row for this (user name, address) since its last success, and the
    time of the latest one."""
    rows = session.execute(
        select(LoginAttempt.ok, LoginAttempt.at)
        .where(
            LoginAttempt.username == username,
            LoginAttempt.ip == ip,
            LoginAttempt.at > now - LOOKBACK,
            LoginAttempt.id != (exclude if exclude is not None else -1),
        )
        .order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc())
        .limit(FREE_FAILURES + 20)
    ).all()
    failures = 0
    for ok, _at in rows:
        if ok:
            break
        failures += 1
    return failures, (rows[0].at if failures else None)


def attempt_login(factory, username: str, password: str, ip: str, now: datetime) -> LoginResult:
    """Check a login. Every attempt is first recorded as failed and committed, then the pair's
    earlier failures are counted: two workers racing each see the other's row, so a burst can
    only be throttled more, never less. A correct password turns this attempt's row into a
    success; a throttled attempt's row is removed (it checked no password, so it neither
    counts as a guess nor pushes the wait further out)."""
    username = (username or "").strip()[:64]
    ip = (ip or "-")[:64]
    with factory.begin() as s:
        attempt = LoginAttempt(username=username, ip=ip, at=now, ok=False)
        s.add(attempt)
        s.flush()
        attempt_id = attempt.id
    with factory.begin() as s:
        failures, last = recent_failures(s, username, ip, now, exclude=attempt_id)
        if last is not None:
            wait = last + throttle_delay(failures) - now
            if wait > timedelta(0):
                s.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt_id))
                return LoginResult(None, limited=True, retry_after=wait)
        account = s.scalar(select(ConsoleAccount).where(ConsoleAccount.username == username))
        if account is None or not account.active or not account.password_hash:
            # (An account that signs in with WeCom has no password to match.)
            check_password_hash(_DUMMY_HASH, password or "")
            return LoginResult(None)
        if not check_password_hash(account.password_hash, password or ""):
            return LoginResult(None)
        s.get(LoginAttempt, attempt_id).ok = True
        account.last_login_at = now
        return LoginResult(account)


def session_secret(factory, now: datetime) -> str:
    """The session signing key every process shares: generated once, kept in the database."""
    with factory.begin() as s:
        insert_ignore(
            s,
            ConsoleSecret,
            {"name": SECRET_KEY_NAME, "value": secrets.token_urlsafe(48), "created_at": now},
        )
    with factory() as s:
        return s.scalar(select(ConsoleSecret.value).where(ConsoleSecret.name == SECRET_KEY_NAME))


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
