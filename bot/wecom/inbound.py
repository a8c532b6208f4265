"""Decrypted callback XML -> IncomingMessage, and passive replies -> XML.

wechatpy 1.8.18 does not know `template_card_event` (it becomes an UnknownMessage with its
SelectedItems unparsed), so message parsing is done here for every type from the XML tree,
with one code path for one or several SelectedItem/OptionId elements.
Doc: 企业微信 "接收消息与事件" / "模板卡片事件推送".
"""

from __future__ import annotations

import time
from typing import Any
from xml.etree.ElementTree import Element

from wechatpy.enterprise.replies import TextReply

from bot.messages import IncomingMessage, Location
from bot.wecom.crypto import CallbackError, parse_root


def _text(root: Element, tag: str) -> str:
    node = root.find(tag)
    return (node.text or "").strip() if node is not None else ""


def _selected_items(root: Element) -> dict[str, list[str]]:
    items: dict[str, list[str]] = {}
    for item in root.findall("./SelectedItems/SelectedItem"):
        key = _text(item, "QuestionKey")
        options = [(o.text or "").strip() for o in item.findall("./OptionIds/OptionId")]
        items[key] = [o for o in options if o]
    return items


def parse_message(xml: str | bytes) -> IncomingMessage:
    root = parse_root(xml)
    msg_type = _text(root, "MsgType").lower()
    from_user = _text(root, "FromUserName")
    if not msg_type or not from_user:
        raise CallbackError(400, "message without MsgType or FromUserName")
    try:
        create_time = int(_text(root, "CreateTime") or "0")
    except ValueError as exc:
        raise CallbackError(400, "CreateTime is not a number") from exc

    location = None
    if msg_type == "location":
        location = _location(root, "Location_X", "Location_Y", "Scale", "Label")
    elif msg_type == "event" and _text(root, "Event").upper() == "LOCATION":
        location = _location(root, "Latitude", "Longitude", "Precision", "")

    fields: dict[str, Any] = {child.tag: (child.text or "") for child in root}
    return IncomingMessage(
        msg_type=msg_type,
        from_user=from_user,
        create_time=create_time,
        to_user=_text(root, "ToUserName"),
        agent_id=_text(root, "AgentID"),
        msg_id=_text(root, "MsgId"),
        content=(root.findtext("Content") or ""),
        event=_text(root, "Event").lower() if msg_type == "event" else "",
        event_key=_text(root, "EventKey"),
        task_id=_text(root, "TaskId"),
        card_type=_text(root, "CardType"),
        response_code=_text(root, "ResponseCode"),
        selected_items=_selected_items(root),
        media_id=_text(root, "MediaId"),
        pic_url=_text(root, "PicUrl"),
        location=location,
        raw=fields,
    )


def _location(root: Element, lat: str, lng: str, scale: str, label: str) -> Location | None:
    try:
        return Location(
            latitude=float(_text(root, lat)),
            longitude=float(_text(root, lng)),
            scale=int(float(_text(root, scale) or 0)),
            label=_text(root, label) if label else "",
        )
    except ValueError:
        return None


def render_text_reply(to_user: str, from_corp: str, content: str, agent_id: str = "") -> str:
    """A passive text reply (before encryption). The text sits in a CDATA section, which the
    sequence "]]>" would close early (and let the rest be read as XML): split it across two
    sections, the standard escape."""
    reply = TextReply(
        content=content.replace("]]>", "]]]]><![CDATA[>"),
        target=to_user,
        source=from_corp,
        time=int(time.time()),
        agent=int(agent_id) if agent_id.isdigit() else 0,
    )
    return reply.render()


def build_message_xml(fields: dict[str, Any]) -> str:
    """Render a flat dict (plus SelectedItems) as callback XML — for the demo, tests and bench."""
    parts = ["<xml>"]
    for key, value in fields.items():
        if key == "SelectedItems":
            parts.append("<SelectedItems>")
            for question, options in value.items():
                parts.append(
                    f"<SelectedItem><QuestionKey><![CDATA[{question}]]></QuestionKey><OptionIds>"
                )
                parts.extend(f"<OptionId><![CDATA[{o}]]></OptionId>" for o in options)
                parts.append("</OptionIds></SelectedItem>")
            parts.append("</SelectedItems>")
        elif isinstance(value, int | float):
            parts.append(f"<{key}>{value}</{key}>")
        else:
            safe = str(value).replace("]]>", "]]]]><![CDATA[>")
            parts.append(f"<{key}><![CDATA[{safe}]]></{key}>")
    parts.append("</xml>")
    return "".join(parts)
