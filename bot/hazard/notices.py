"""What the ledger sends: template cards and notice texts for officers, owners, reporters and
department heads. Bodies only; bot.hazard.ledger decides who gets them and when."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.orm import Session

from bot.content import texts
from bot.hazard.labels import category_label
from bot.hazard.states import status_label
from bot.messages import text_message
from bot.models import HazardReport
from bot.people import department_name, display


# -- cards --------------------------------------------------------------------------------------
def button_card(
    title: str,
    desc: str,
    rows: list[tuple[str, str]],
    buttons: list[tuple[str, str, int]],
    task_id: str,
    replace_text: str | None = None,
) -> dict[str, Any]:
    """A button_interaction template card (发送应用消息 › 模板卡片 › 按钮交互型).

    WeCom limits: ≤6 horizontal rows, keyname ≤5 chars, ≤6 buttons, task_id ≤128 chars of
    [0-9a-zA-Z_-@] and unique within the app.
    """
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "source": {"desc": texts.get("hazard.card_source")},
        "main_title": {"title": title[:36], "desc": desc[:44]},
        "horizontal_content_list": [
            {"keyname": k[:5], "value": (v or "-")[:30]} for k, v in rows[:6]
        ],
        "task_id": task_id[:128],
        "button_list": [{"text": t, "style": s, "key": k} for t, k, s in buttons[:6]],
    }
    if replace_text:
        card["replace_text"] = replace_text
    return card


def task_id(action: str, ticket: str) -> str:
    return f"hz-{action}-{ticket}-{secrets.token_hex(4)}"


def card_message(card: dict[str, Any]) -> dict[str, Any]:
    return {"msgtype": "template_card", "template_card": card}


def new_report_card(
    session: Session, hazard: HazardReport, *, done: bool = False
) -> dict[str, Any]:
    t = texts.get
    return button_card(
        t("hazard.card_new_title", ticket=hazard.ticket),
        hazard.description,
        [
            (t("hazard.card_label_ticket"), hazard.ticket),
            (t("hazard.card_label_category"), category_label(hazard.category)),
            (t("hazard.card_label_location"), hazard.location or t("hazard.no_location")),
            (t("hazard.card_label_reporter"), display(session, hazard.reporter)),
        ],
        [(t("hazard.card_accept"), f"hazard:accept:{hazard.ticket}", 1)],
        task_id("accept", hazard.ticket),
        t("hazard.card_accepted") if done else None,
    )


def owner_card(hazard: HazardReport, replace: str | None = None) -> dict[str, Any]:
    t = texts.get
    deadline = hazard.deadline.isoformat() if hazard.deadline else t("hazard.unset")
    return button_card(
        t("hazard.card_owner_title", ticket=hazard.ticket),
        t("hazard.card_owner_desc", deadline=deadline),
        [
            (t("hazard.card_label_ticket"), hazard.ticket),
            (t("hazard.card_label_location"), hazard.location or t("hazard.no_location")),
            (t("hazard.card_label_deadline"), deadline),
            (t("hazard.card_label_measure"), hazard.measure or t("hazard.unset")),
        ],
        [
            (t("hazard.card_start"), f"hazard:start:{hazard.ticket}", 2),
            (t("hazard.card_done"), f"hazard:done:{hazard.ticket}", 1),
        ],
        task_id("owner", hazard.ticket),
        replace,
    )


def verify_card(
    session: Session, hazard: HazardReport, replace: str | None = None
) -> dict[str, Any]:
    t = texts.get
    return button_card(
        t("hazard.card_verify_title", ticket=hazard.ticket),
        hazard.rectify_note or hazard.description,
        [
            (t("hazard.card_label_ticket"), hazard.ticket),
            (t("hazard.card_label_location"), hazard.location or t("hazard.no_location")),
            (t("hazard.card_label_reporter"), display(session, hazard.reporter)),
        ],
        [(t("hazard.card_verify"), f"hazard:verify:{hazard.ticket}", 1)],
        task_id("verify", hazard.ticket),
        replace,
    )


# -- notice texts -------------------------------------------------------------------------------
def officer_new(session: Session, hazard: HazardReport, n_photos: int) -> dict[str, Any]:
    """To the safety officers: a new report."""
    return text_message(
        texts.get(
            "hazard.officer_new",
            ticket=hazard.ticket,
            reporter=display(session, hazard.reporter),
            department=department_name(session, hazard.department_id) or "-",
            category=category_label(hazard.category),
            location=hazard.location or texts.get("hazard.no_location"),
            description=hazard.description,
            # No photo, no line (never 「共0张」).
            photos_line=texts.get("hazard.officer_new_photos", photos=n_photos) if n_photos else "",
        )
    )


def head_new(session: Session, hazard: HazardReport, n_photos: int) -> dict[str, Any]:
    """To the department head(s): a hazard was reported in their department."""
    return text_message(
        texts.get(
            "hazard.head_new",
            ticket=hazard.ticket,
            reporter=display(session, hazard.reporter),
            department=department_name(session, hazard.department_id) or "-",
            category=category_label(hazard.category),
            location=hazard.location or texts.get("hazard.no_location"),
            description=hazard.description,
            photos_line=texts.get("hazard.officer_new_photos", photos=n_photos) if n_photos else "",
        )
    )


def status_changed(hazard: HazardReport, to: str, extra: str) -> dict[str, Any]:
    """To the reporter: their report moved to `to`."""
    return text_message(
        texts.get(
            "hazard.status_changed", ticket=hazard.ticket, status=status_label(to), extra=extra
        )
    )


def rectified(session: Session, hazard: HazardReport, fix_photos: int) -> dict[str, Any]:
    """To the re-checker (or the officers): the owner says the fix is done."""
    return text_message(
        texts.get(
            "hazard.rectified_notice",
            ticket=hazard.ticket,
            owner=display(session, hazard.owner),
            note=hazard.rectify_note or "-",
            photos=fix_photos,
        )
    )


def owner_assigned(session: Session, hazard: HazardReport) -> dict[str, Any]:
    """To the owner: the six determinations (六定) of their task."""
    unset = texts.get("hazard.unset")
    return text_message(
        texts.get(
            "hazard.owner_assigned",
            ticket=hazard.ticket,
            item=hazard.item,
            measure=hazard.measure or unset,
            funds=hazard.funds or unset,
            deadline=hazard.deadline.isoformat() if hazard.deadline else unset,
            rechecker=display(session, hazard.rechecker) or unset,
        )
    )


def overdue_owner(hazard: HazardReport, days: int) -> dict[str, Any]:
    return text_message(
        texts.get(
            "hazard.overdue_owner",
            ticket=hazard.ticket,
            deadline=hazard.deadline.isoformat() if hazard.deadline else "",
            days=days,
            item=hazard.item or hazard.description,
        )
    )


def overdue_escalate(
    session: Session, hazard: HazardReport, days: int, owner_department_id: int | None
) -> dict[str, Any]:
    """To the officers and the owner's department head."""
    return text_message(
        texts.get(
            "hazard.overdue_escalate",
            ticket=hazard.ticket,
            days=days,
            deadline=hazard.deadline.isoformat() if hazard.deadline else "",
            owner=display(session, hazard.owner),
            department=department_name(session, owner_department_id) or "-",
            item=hazard.item or hazard.description,
            status=status_label(hazard.status),
        )
    )


def returned(hazard: HazardReport, reason: str) -> dict[str, Any]:
    """To the owner: the fix was not accepted (退回整改)."""
    return text_message(
        texts.get("hazard.returned_notice", ticket=hazard.ticket, reason=reason or "-")
    )


def major(session: Session, hazard: HazardReport, actor: str) -> dict[str, Any]:
    """To the officers and the leadership: a hazard was graded 重大事故隐患."""
    return text_message(
        texts.get(
            "hazard.major_notice",
            ticket=hazard.ticket,
            department=department_name(session, hazard.department_id) or "-",
            description=hazard.description,
            actor=display(session, actor),
        )
    )
