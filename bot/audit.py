"""The audit log as people read it (the console's 操作日志 page, its download and `safetybot
export audit`): actions as Chinese labels, people as 姓名（部门）, a 责任书 text by its title and
version instead of its 64-character hash.

The rows keep what was recorded (keys, userids, full hashes: the evidence); only what is shown
is translated. Labels live in content (`console.audit.actions`); a test checks that every action
the code writes has one.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.models import AuditLog, PledgeText
from bot.people import Names

HEADER = ["时间", "操作人", "操作", "是否允许", "详情"]
SHORT = 8  # characters of a text hash shown next to its title
_HASH = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
# A token that may be a WeCom userid (letters, digits, and . _ - @), checked against the directory.
_TOKEN = re.compile(r"(?<![\w.@-])[A-Za-z][\w.@-]*(?![\w.@-])")
# Prefixes whose rest is a hazard action key (content `hazard.actions`).
_HAZARD_PREFIXES = ("console:hazard-", "hazard:card:", "hazard:")


def action_label(action: str) -> str:
    """An action key in words (content `console.audit.actions`); a refused command as
    「被拒绝：…」 (a Chinese command keyword is its own label); hazard actions by the ledger's
    words. An action without a label is shown by its key (the labels test prevents that)."""
    labels = texts.raw("console.audit.actions")
    if action in labels:
        return labels[action]
    if action.startswith("refused:"):
        return texts.get("console.audit.refused", what=action_label(action[len("refused:") :]))
    for prefix in _HAZARD_PREFIXES:
        rest = action.removeprefix(prefix)
        if rest != action and rest in texts.raw("hazard.actions"):
            return texts.get("console.audit.hazard", action=texts.get(f"hazard.actions.{rest}"))
    return action


class Reader:
    """Turns recorded details into what a person reads (loads the directory and the 责任书
    texts once)."""

    def __init__(self, session: Session) -> None:
        self.names = Names(session)
        self.pledges = {
            h: (title, version)
            for h, title, version in session.execute(
                select(PledgeText.hash, PledgeText.title, PledgeText.version)
            )
        }

    def pledge_text(self, digest: str) -> str:
        """A 责任书 text hash as 《title》version版（编号 first 8）."""
        if digest in self.pledges:
            title, version = self.pledges[digest]
            return texts.get(
                "console.audit.pledge_text", title=title, version=version, short=digest[:SHORT]
            )
        return digest[:SHORT]

    def detail(self, text: str | None) -> str:
        """A detail with hashes as 责任书 labels and userids as 姓名（部门）."""
        if not text:
            return ""
        text = _HASH.sub(lambda m: self.pledge_text(m.group(0)), text)
        return _TOKEN.sub(
            lambda m: self.names.person(m.group(0)) if self.names.known(m.group(0)) else m.group(0),
            text,
        )

    def row(self, entry: AuditLog, tz: tzinfo) -> list[Any]:
        return [
            entry.at.astimezone(tz).replace(tzinfo=None),
            self.names.actor(entry.actor),
            action_label(entry.action),
            "是" if entry.allowed else "否",
            self.detail(entry.detail),
        ]


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditLog)) or 0)


def entries(session: Session, offset: int = 0, limit: int | None = None) -> list[AuditLog]:
    """Newest first."""
    return list(
        session.scalars(select(AuditLog).order_by(AuditLog.id.desc()).offset(offset).limit(limit))
    )


def audit_rows(
    session: Session, tz: tzinfo, offset: int = 0, limit: int | None = None
) -> list[list[Any]]:
    """[时间 (local, naive), 操作人, 操作, 是否允许, 详情] newest first (the page: one page of them; the
    download and the command line: all)."""
    reader = Reader(session)
    return [reader.row(e, tz) for e in entries(session, offset, limit)]


def audit_sheets(session: Session, tz: tzinfo) -> list[tuple[str, list[str], list]]:
    return [("操作日志", HEADER, audit_rows(session, tz))]
