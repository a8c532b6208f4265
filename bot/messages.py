"""The project's own message and reply types: handlers never see wechatpy or Flask."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    scale: int = 0
    label: str = ""


@dataclass(frozen=True)
class IncomingMessage:
    """A decrypted, parsed WeCom callback (a message or an event)."""

    msg_type: str  # text | image | voice | video | location | link | event
    from_user: str
    create_time: int
    to_user: str = ""
    agent_id: str = ""
    msg_id: str = ""
    content: str = ""
    event: str = ""  # enter_agent | click | template_card_event | …
    event_key: str = ""
    task_id: str = ""
    card_type: str = ""
    response_code: str = ""
    # template_card_event: QuestionKey -> selected OptionIds (one or several).
    selected_items: dict[str, list[str]] = field(default_factory=dict)
    media_id: str = ""
    pic_url: str = ""
    location: Location | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_event(self) -> bool:
        return self.msg_type == "event"

    @property
    def dedup_key(self) -> str:
        """The key that makes a retried callback take effect once.

        Messages carry a MsgId; events do not, so WeCom's documented advice is to dedupe them
        on FromUserName + CreateTime (we add Event, EventKey and TaskId so two different clicks
        within one second both count).
        """
        if self.msg_id:
            return f"msg:{self.msg_id}"
        key = (
            f"evt:{self.from_user}:{self.create_time}:{self.event}:{self.event_key}:{self.task_id}"
        )
        if len(key) > 255:
            import hashlib

            key = "evt#" + hashlib.sha256(key.encode()).hexdigest()
        return key


@dataclass
class Reply:
    """What a handler returns: one or more messages for the sender, in WeCom's send format.

    Each item is the message body without recipients, e.g. {"msgtype": "text", "text":
    {"content": "…"}}. `card_update`, if set, replaces the clicked template card (sent through
    update_template_card with the event's ResponseCode).
    """

    messages: list[dict[str, Any]] = field(default_factory=list)
    card_update: dict[str, Any] | None = None

    @classmethod
    def text(cls, content: str) -> Reply:
        return cls(messages=[text_message(content)])

    @classmethod
    def texts(cls, *contents: str) -> Reply:
        return cls(messages=[text_message(c) for c in contents if c])

    @classmethod
    def card(cls, card: dict[str, Any]) -> Reply:
        return cls(messages=[{"msgtype": "template_card", "template_card": card}])

    def add_text(self, content: str) -> Reply:
        self.messages.append(text_message(content))
        return self

    def add(self, message: dict[str, Any]) -> Reply:
        self.messages.append(message)
        return self

    def to_json(self) -> dict[str, Any]:
        return {"messages": self.messages, "card_update": self.card_update}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Reply:
        data = data or {}
        return cls(messages=list(data.get("messages") or []), card_update=data.get("card_update"))


# WeCom's text message content limit is 2048 bytes (UTF-8).
TEXT_LIMIT_BYTES = 2048


def text_message(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


def split_text(content: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """Split a long text into parts under `limit` UTF-8 bytes, at line breaks where possible."""
    if len(content.encode()) <= limit:
        return [content]
    parts: list[str] = []
    current = ""
    for line in content.splitlines(keepends=True):
        while len(line.encode()) > limit:  # a single over-long line: cut by characters
            cut = len(line)
            while len(line[:cut].encode()) > limit:
                cut = cut * 3 // 4
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:cut])
            line = line[cut:]
        if len((current + line).encode()) > limit:
            parts.append(current)
            current = line
        else:
            current += line
    if current:
        parts.append(current)
    return [p.rstrip("\n") for p in parts if p.strip()]
