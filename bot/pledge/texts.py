"""The 责任书 texts: content/pledges/*.yaml, their versions and hashes.

A text is identified by the sha256 of its normalised title and body, so editing the wording
makes a new version that people sign again, while old signatures keep pointing at the exact
text that was signed.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot import content
from bot.db import insert_ignore
from bot.models import PledgeText

TEXT_KEYS = ("staff", "department_head", "leader")
SHORT_HASH = 12


@dataclass(frozen=True)
class PledgeContent:
    key: str
    version: str
    title: str
    body: str
    sources: tuple[str, ...]
    hash: str

    @property
    def short_hash(self) -> str:
        return self.hash[:SHORT_HASH]


def normalise(text: str) -> str:
    """Line endings, trailing spaces and Unicode composition do not make a new version."""
    text = unicodedata.normalize("NFC", text or "").replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def text_hash(title: str, body: str) -> str:
    return hashlib.sha256((normalise(title) + "\n\n" + normalise(body)).encode()).hexdigest()


def current_texts() -> dict[str, PledgeContent]:
    """The texts in content/pledges now (cached by the content loader until a file changes)."""
    out: dict[str, PledgeContent] = {}
    for _, data in content.load_dir("pledges"):
        out[data["key"]] = PledgeContent(
            key=data["key"],
            version=str(data["version"]),
            title=data["title"],
            body=data["body"],
            sources=tuple(data.get("sources") or ()),
            hash=text_hash(data["title"], data["body"]),
        )
    return out


def titles() -> dict[str, str]:
    """Text key -> title of its current version."""
    return {k: c.title for k, c in current_texts().items()}


def sync_texts(session: Session, now: datetime) -> dict[str, PledgeContent]:
    """Make sure every current text has its row in pledge_texts (idempotent)."""
    texts = current_texts()
    for t in texts.values():
        insert_ignore(
            session,
            PledgeText,
            {
                "key": t.key,
                "version": t.version,
                "hash": t.hash,
                "title": t.title,
                "body": normalise(t.body),
                "created_at": now,
            },
        )
    return texts
